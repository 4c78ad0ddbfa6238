"""TRIAGE: the checklist first tier works through within 30 minutes of an incident opening —
the five Ws (``report``), the MCT ticket (``tickets``), related tickets, bugs and incidents
(``related``), severity from five questions (``assessment``), the playbook (``playbooks``) —
started by itself when an incident opens (``kickoff``).

What other stages may ask of TRIAGE (ESCALATE's Support Manager works from the playbook's
outcome) is exported here; nothing else of this package is theirs to import.
"""

from escalator.process.triage.playbooks import attach_matching as attach_playbooks
from escalator.process.triage.playbooks import conclude as conclude_playbook
from escalator.process.triage.playbooks import outcome as playbook_outcome
from escalator.process.triage.playbooks import runs_of as playbook_runs

__all__ = ["attach_playbooks", "conclude_playbook", "playbook_outcome", "playbook_runs"]
