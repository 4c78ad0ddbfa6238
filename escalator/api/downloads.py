"""Files handed back for download (evidence): always as an attachment, never rendered."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi.responses import Response

if TYPE_CHECKING:  # the faces read rows through the use cases
    from escalator.store.models import Attachment


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the real one in RFC 6266's
    ``filename*``: a header is Latin-1 on the wire, and a customer's file can be named in any
    script (or hold quotes and line breaks)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(filename)}"


def download(row: Attachment, *, media_type: str | None = None) -> Response:
    return Response(
        row.data,
        media_type=media_type or row.content_type,
        headers={
            "Content-Disposition": content_disposition(row.filename),
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{row.sha256}"',
        },
    )
