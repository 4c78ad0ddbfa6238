"""POST MORTEM: the seed's weekly review. Every resolved incident gets a post-mortem
(``retrospective``: root cause from the process file's taxonomy, contributing factors, how it
was detected, what went well and what didn't, its timeline read from its events); the changes
it decides are action items (``actions``: new metrics, alarm thresholds, playbook entries
(``drafts``, published into the playbooks directory), documentation), each owned, due and
chased until done; the weekly review (``review``) opens on its timer with its agenda; the
weekly report (``report``, ``formats``) shows whether the process itself works; and
``measures`` keeps the counts behind ``/metrics``. An incident closes only with a reviewed or
waived post-mortem (the ``closing`` guard).

Figures this stage reads from REMEDIATE and COMMUNICATE go through ``readings``.
"""
