"""ESCALATE: the Support Manager decides (``escalation``); high severity pages the on-call
engineer in turn until someone answers, who brings in the SME or the Engineering Manager after
an hour (``paging``, ``pages``); the resolution clocks run (``resolution``); the Engineering
Manager fills the rotations (``rotations``, ``calendar``)."""
