"""COMMUNICATE: on-duty second-tier support keeps every affected customer updated throughout
the day, at the cadence of the incident's severity, on the customer's own channel.

Who is owed updates (``contacts``): the customer who wrote, posted or phoned (ALERT tells us,
``events.CUSTOMER_HEARD``), the contacts of the affected account (the process file), anyone
added by hand. Each has a ledger: what they were told and when, what was promised, what they
wrote back. The update clock (``clock``) runs per contact from the cadence of the severity
(re-planned when it changes, ``events.SEVERITY_CHANGED``), reminds second tier before an
update is due and tells the Support Manager when one is overdue. An update (``updates``) is
drafted from templates (``drafts``), sent as a reply in the customer's email thread, as a
post in their forum topic, or logged as a call made; it counts once delivered. An incident
does not close while a contact was never told it was resolved (``closing``), unless a
manager waives it with a reason.

What other stages may ask of COMMUNICATE (POST MORTEM's weekly report reads how punctual the
updates were) is exported here; nothing else of this package is theirs to import.
"""

from escalator.process.communicate.view import Punctuality, punctuality

__all__ = ["Punctuality", "punctuality"]
