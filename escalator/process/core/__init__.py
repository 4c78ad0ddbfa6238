"""What every stage uses: the unit of work (``context.Ctx``), rows every stage writes
(``records``), the incident's moves (``incidents``) and the moments they publish
(``events``), who holds a role (``people``), telling people (``notify``, ``announce``), the
read side the faces ask (``queries``), and access: tokens, console sessions, integrations,
signed links."""
