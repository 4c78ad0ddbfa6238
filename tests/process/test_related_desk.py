"""Related search as triage reads it (issue 14, item 7): never the incident itself nor its
own ticket; a concurrent incident on the same service is shown."""

from __future__ import annotations

import pytest

from escalator.app import Services
from escalator.process.alert import opening
from escalator.process.triage import related


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_related_leaves_out_the_incident_and_its_ticket_and_finds_the_same_service(
    svc: Services,
) -> None:
    with svc.unit_of_work("santhosh") as ctx:
        first = opening.open_incident(
            ctx,
            title="Checkout latency above 2s",
            source="alarm",
            channel="manual",
            details={"service": "checkout"},
        ).key
        second = opening.open_incident(
            ctx,
            title="Payment confirmation emails delayed",
            source="alarm",
            channel="manual",
            description="checkout latency",
            details={"service": "checkout"},
        )
    with svc.db.read() as session:
        incident = session.merge(second)
        found = related.find(session, incident)
    refs = [(r.kind, r.ref) for r in found]
    assert ("incident", second.key) not in refs
    assert ("ticket", "MCT-2") not in refs, "its own ticket is not related to it"
    assert refs[0] == ("incident", first)
    assert "same service (checkout)" in found[0].reasons
