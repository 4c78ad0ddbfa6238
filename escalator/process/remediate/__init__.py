"""REMEDIATE: "Based on Incident severity, Engineering Council decides the next course of
action": gather more information, allocate engineering resources (the next day, or a
sprint), or roll back a customer beta flag or a release (worst case).

``council``: the hand-off (the core move to the ``engineering_council`` role, heard through
``events.HANDED_OVER``), the council's clock and queue. ``decisions``: the decision record —
five kinds, members only, approvals, supersession, never edited. ``rollback``: Unleash and
the signed webhook through the outbox, by hand otherwise, and the closed loop watching the
alarm. ``changes``: change events (PagerDuty Change Events v2, Unleash webhooks, by hand)
and "changed before this opened". ``view``: what the faces read.

What other stages may ask of REMEDIATE (POST MORTEM picks an incident's trigger from the
changes before it, and counts the council's decisions by kind) is exported here.
"""

from escalator.process.remediate.view import ChangeBefore, changes_before, decisions_by_kind

__all__ = ["ChangeBefore", "changes_before", "decisions_by_kind"]
