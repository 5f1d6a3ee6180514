"""The object-storage host (S3/InstFS-like): pre-signed URLs only, byte ranges, S3-style XML errors."""

from __future__ import annotations

import secrets
import time
from email.utils import formatdate
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote

from airflow_provider_canvas_reports.testing import responses
from airflow_provider_canvas_reports.testing.http import Response

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.http import Request
    from airflow_provider_canvas_reports.testing.interface import ServerState
    from airflow_provider_canvas_reports.testing.reports import Attachment

OBJECT_PREFIX = "/objects/"
SIGNED_URL_SECONDS = 300
_TWO_AUTH = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string "
    "parameter or the Authorization header should be specified"
)


def handle(state: ServerState, request: Request) -> Response:
    """Serve ``GET``/``HEAD /objects/<key>?X-Amz-Signature=...``."""
    if request.method not in ("GET", "HEAD"):
        return responses.s3_error(
            405, "MethodNotAllowed", "The specified method is not allowed against this resource."
        )
    if not request.path.startswith(OBJECT_PREFIX):
        return responses.s3_error(404, "NoSuchKey", "The specified key does not exist.")
    if "authorization" in request.headers:
        return responses.s3_error(400, "InvalidArgument", _TWO_AUTH)
    key = unquote(request.path[len(OBJECT_PREFIX) :])
    signature = parse_qs(request.query).get("X-Amz-Signature", [""])[0]
    if not signature:
        return responses.s3_error(403, "AccessDenied", "Query-string authentication requires a signature.")
    signed = state.signed_key(signature)
    if signed is None or signed[0] != key:
        message = "The request signature we calculated does not match the signature you provided."
        return responses.s3_error(403, "SignatureDoesNotMatch", message)
    if time.time() > signed[1]:
        return responses.s3_error(403, "AccessDenied", "Request has expired")
    attachment = state.find_object(key)
    if attachment is None:
        return responses.s3_error(404, "NoSuchKey", "The specified key does not exist.")
    return file_response(attachment, request)


def file_response(attachment: Attachment, request: Request) -> Response:
    """200 with the whole file, or 206 for a single ``Range: bytes=...`` (416 if unsatisfiable)."""
    content = attachment.file.content
    size = content.size
    name = attachment.file.display_name
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "")
    headers = [
        ("Content-Type", attachment.file.content_type),
        ("Accept-Ranges", "bytes"),
        ("ETag", f'"{attachment.etag}"'),
        ("Last-Modified", formatdate(attachment.created, usegmt=True)),
        ("Content-Disposition", f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"),
    ]
    header = request.headers.get("range")
    if header is None:
        return Response(200, headers, content)
    byte_range = parse_range(header, size)
    if byte_range is None:
        return Response(200, headers, content)
    if byte_range == (-1, -1):
        unsatisfiable = responses.s3_error(416, "InvalidRange", "The requested range is not satisfiable")
        unsatisfiable.headers.append(("Content-Range", f"bytes */{size}"))
        return unsatisfiable
    start, end = byte_range
    headers.append(("Content-Range", f"bytes {start}-{end - 1}/{size}"))
    return Response(206, headers, content, body_start=start, body_end=end)


def misaligned_range(response: Response) -> Response:
    """A 206 that starts at another byte than the one asked for (half-way there, or byte 1 for 0).

    ``Content-Range`` tells the truth about the bytes sent, so a careful client can notice.
    """
    if response.status != 206 or isinstance(response.body, bytes) or response.body_end is None:
        return response
    asked, end = response.body_start, response.body_end
    start = asked // 2 if asked > 0 else 1
    if start >= end:
        return response
    size = response.body.size
    headers = [(k, v) for k, v in response.headers if k != "Content-Range"]
    headers.append(("Content-Range", f"bytes {start}-{end - 1}/{size}"))
    return Response(206, headers, response.body, body_start=start, body_end=end)


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end_exclusive)`` of one ``bytes=`` range; None: ignore it; ``(-1, -1)``: unsatisfiable."""
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first:  # suffix: the last N bytes
            count = int(last)
            return (max(0, size - count), size) if count > 0 and size > 0 else (-1, -1)
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start >= size or start < 0:
        return (-1, -1)
    if end <= start:
        return None
    return start, min(end, size)


def presign(state: ServerState, attachment: Attachment, now: float) -> str:
    """A fresh pre-signed URL for the attachment's object, valid for ``SIGNED_URL_SECONDS``."""
    signature = secrets.token_hex(32)
    state.remember_signature(signature, attachment.object_key, now + SIGNED_URL_SECONDS)
    query = f"X-Amz-Signature={signature}&X-Amz-Expires={SIGNED_URL_SECONDS}"
    return f"{state.storage_url}{OBJECT_PREFIX}{attachment.object_key}?{query}"
