"""Verified file downloads (``/files/:id/download?verifier=...``), and the files domain that serves them.

The API host serves this route beside the API (for the verifier, or for the report's owner by
token). With ``file_host="files"`` a report's ``file_url`` names the files domain instead, a
separate server that serves nothing else and knows no tokens, as in deployments with their own
files domain.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from airflow_provider_canvas_reports.testing import responses
from airflow_provider_canvas_reports.testing.storage import file_response, presign

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.http import Request, Response
    from airflow_provider_canvas_reports.testing.interface import ServerState
    from airflow_provider_canvas_reports.testing.models import User


def handle(state: ServerState, request: Request) -> Response:
    """The files domain: ``GET``/``HEAD /files/:id/download?verifier=...``, everything else 404."""
    parts = [unquote(part) for part in request.path.split("/")[1:]]
    is_download = len(parts) == 3 and parts[0] == "files" and parts[2] == "download"
    if request.method in ("GET", "HEAD") and is_download:
        return verified_download(state, request, parts[1], None, time.time())
    return responses.not_found()


def verified_download(
    state: ServerState, request: Request, raw_id: str, user: User | None, now: float
) -> Response:
    """For the right verifier (or the report's owner): the file, or a 302 to a fresh pre-signed URL."""
    attachment = state.find_attachment(int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else None
    report = state.find_report(attachment.report_id) if attachment is not None else None
    if attachment is None or report is None:
        return responses.not_found()
    verifier = parse_qs(request.query).get("verifier", [None])[0]
    if verifier != attachment.verifier and (user is None or user.id != report.user_id):
        return responses.unauthenticated()
    if report.behaviour.storage == "local":
        return file_response(attachment, request)
    return responses.redirect(presign(state, attachment, now))
