"""The seed process as use cases, one package per stage, in the seed's order:

    alert/     ALERT      alarms and customers open incidents; first tier is told
    triage/    TRIAGE     the 30-minute checklist: report, ticket, related, severity, playbook
    escalate/  ESCALATE   the Support Manager's decision, paging in turn, rotations, the clocks
    core/      shared     the unit of work, records, the incident's moves, who holds a role,
                          telling people, and what the faces read

A stage uses ``core`` and ``domain``. Stages do not reach into one another: they hand an
incident on through ``core.events`` (subscribed in ``stages.py``) or, where one stage must ask
another, through the few names its package exports (``escalator.process.triage``'s
``__init__``). ``make test`` checks this with import-linter.
"""

# the stages' subscriptions to one another are installed whenever any use case is imported
from escalator.process import stages as _stages  # noqa: F401
