"""Evidence attached to an incident: files kept with their type, size and checksum."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from escalator.process.core.context import Ctx
from escalator.process.core.errors import NotFound, possible_id
from escalator.process.core.queries import get_incident
from escalator.process.core.records import record
from escalator.store.models import Attachment, Incident


def attach(
    ctx: Ctx,
    incident: Incident,
    *,
    filename: str,
    content_type: str,
    data: bytes,
    source: str,
    max_bytes: int,
) -> Attachment | None:
    """Keep ``data``; a file over ``max_bytes`` is not kept, and the timeline says so."""
    if len(data) > max_bytes:
        record(
            ctx,
            incident,
            "attachment_refused",
            note=f"{filename}: {len(data)} bytes is over the {max_bytes}-byte limit",
        )
        return None
    row = Attachment(
        incident_id=incident.id,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        source=source,
        created_at=ctx.now,
        created_by=ctx.actor,
    )
    ctx.session.add(row)
    return row


def stored_file(session: Session, key: str, file_id: int) -> Attachment:
    """A file kept with incident ``key``."""
    incident = get_incident(session, key)
    missing = f"no file {file_id} on {key}"
    row = session.get(Attachment, possible_id(file_id, missing))
    if row is None or row.incident_id != incident.id:
        raise NotFound(missing)
    return row
