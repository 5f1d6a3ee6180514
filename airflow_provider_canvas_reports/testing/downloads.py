"""Verified file downloads (``/files/:id/download?verifier=...``) on the API host and the files domain."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from airflow_provider_canvas_reports.testing import responses
from airflow_provider_canvas_reports.testing.storage import file_response

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.emulator import CanvasEmulator
    from airflow_provider_canvas_reports.testing.http import Request, Response
    from airflow_provider_canvas_reports.testing.state import User


def verified_download(
    emu: CanvasEmulator, request: Request, raw_id: str, user: User | None, now: float
) -> Response:
    """The file, or a 302 to a fresh pre-signed storage URL, for the right verifier or the report's owner."""
    attachment = emu._attachments.get(int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else None
    if attachment is None:
        return responses.not_found()
    verifier = parse_qs(request.query).get("verifier", [None])[0]
    report = emu._reports[attachment.report_id]
    if verifier != attachment.verifier and (user is None or user.id != report.user_id):
        return responses.unauthenticated()
    if report.behaviour.storage == "local":
        return file_response(attachment, request)
    return responses.redirect(emu._sign(attachment, now))


def handle_files_domain(emu: CanvasEmulator, request: Request, now: float) -> Response:
    """The files domain: only ``GET /files/:id/download?verifier=...``; it knows no tokens."""
    parts = [unquote(part) for part in request.path.split("/")[1:]]
    if (
        request.method in ("GET", "HEAD")
        and len(parts) == 3
        and parts[0] == "files"
        and parts[2] == "download"
    ):
        return verified_download(emu, request, parts[1], None, now)
    return responses.not_found()
