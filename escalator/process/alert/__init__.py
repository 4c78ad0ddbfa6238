"""ALERT: first-tier support is notified of an issue — a metric threshold alarms (stored by
the intake, judged by the worker in ``alarms``) or a customer writes, posts or phones
(``customer``, ``opening.report``). ``opening.open_incident`` opens the incident and
publishes it, and TRIAGE starts."""
