"""The Canvas API host: throttle, authentication (tokens, developer keys and their scopes), course
reports (account reports: :mod:`.account_api`; course and section lists: :mod:`.courses_api`; the
OAuth2 token endpoint: :mod:`.oauth`) and verified file downloads."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from airflow_provider_canvas_reports.testing import account_api, courses_api, oauth, responses
from airflow_provider_canvas_reports.testing.downloads import verified_download
from airflow_provider_canvas_reports.testing.forms import request_parameters
from airflow_provider_canvas_reports.testing.http import Response
from airflow_provider_canvas_reports.testing.reports import REPORT_TYPES, Report, permit_parameters
from airflow_provider_canvas_reports.testing.scopes import scope_of
from airflow_provider_canvas_reports.testing.throttle import format_float

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.http import Request
    from airflow_provider_canvas_reports.testing.interface import ServerState
    from airflow_provider_canvas_reports.testing.models import User


def bearer_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer`` (or Canvas's ``access_token`` query parameter)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" else header
    if "access_token=" in request.query:
        values = parse_qs(request.query).get("access_token")
        return values[0] if values else None
    return None


def handle(state: ServerState, request: Request) -> Response:
    """Throttle, then route (at once: no server time)."""
    return admit(state, request) or answer(state, request)


def _client(request: Request) -> str:
    token = bearer_token(request)
    return f"token:{token}" if token else "ip:127.0.0.1"


def admit(state: ServerState, request: Request) -> Response | None:
    """
    Reserve the request's up-front cost: ``None`` if it may proceed (:func:`answer` settles it), or
    the throttle's 403 when the client's bucket is full.
    """
    client, now = _client(request), time.time()
    if state.reserve_capacity(client, now):
        return None
    return responses.throttled(format_float(state.settle_capacity(client, now, served=False)))


def answer(state: ServerState, request: Request) -> Response:
    """Route an admitted request and settle its cost (``X-Request-Cost``, ``X-Rate-Limit-Remaining``)."""
    now = time.time()
    response = _route(state, request, bearer_token(request), now)
    remaining = state.settle_capacity(_client(request), time.time(), served=True)
    response.headers += [
        ("X-Request-Cost", format_float(state.request_cost)),
        ("X-Rate-Limit-Remaining", format_float(remaining)),
    ]
    return response


def _route(state: ServerState, request: Request, token: str | None, now: float) -> Response:
    parts = [unquote(part) for part in request.path.split("/")[1:]]
    if parts and not parts[-1]:
        parts.pop()
    method = "GET" if request.method == "HEAD" else request.method
    if parts[:1] == ["files"] and len(parts) == 3 and parts[2] == "download" and method == "GET":
        # A token sent along is checked as on any request: an expired one is refused even where the
        # verifier alone would do.
        owner = state.find_user(token) if token else None
        if token and (owner is None or state.revocation(token) is not None):
            return responses.bad_token(state.revocation(token) or "Invalid access token.")
        return verified_download(state, request, parts[1], owner, now)
    if request.path == oauth.TOKEN_PATH:
        return oauth.token(state, request, now)
    if parts[:2] != ["api", "v1"]:
        return responses.not_found()
    rest = parts[2:]
    user: User | None = None
    if token is not None:
        user = state.find_user(token)
        if user is None:
            return responses.bad_token("Invalid access token.")
        revoked = state.revocation(token)
        if revoked is not None:
            return responses.bad_token(revoked)
        scopes = state.token_scopes(token)
        if scopes is not None and scope_of(method, rest) not in scopes:
            return responses.insufficient_scopes()
    if rest == ["users", "self"] and method == "GET":
        return responses.json_response(200, user.to_json()) if user else responses.unauthenticated()
    if rest[:1] == ["accounts"] and len(rest) == 3 and rest[2] == "courses" and method == "GET":
        if user is None:
            return responses.unauthenticated()
        return courses_api.account_courses(state, request, user, rest[1])
    if rest[:1] == ["courses"] and len(rest) == 3 and rest[2] == "sections" and method == "GET":
        if user is None:
            return responses.unauthenticated()
        return courses_api.course_sections(state, request, rest[1])
    if rest[:1] == ["accounts"] and 3 <= len(rest) <= 6 and rest[2] == "reports":
        if user is None:
            return responses.unauthenticated()
        return account_api.route(state, request, user, rest[1:], method, now)
    if len(rest) in (4, 5) and rest[0] == "courses" and rest[2] == "reports":
        if user is None:
            return responses.unauthenticated()
        course_id = state.resolve_course(rest[1])
        if course_id is None:
            return responses.not_found()
        if len(rest) == 4 and method == "POST":
            return _start(state, request, course_id, rest[3], user, now)
        if len(rest) == 4 and method == "GET":
            return _last(state, course_id, rest[3], user, now)
        if len(rest) == 5 and method == "GET":
            return _show(state, course_id, rest[4], user, now)
    return responses.not_found()


def _start(
    state: ServerState, request: Request, course_id: int, report_type: str, user: User, now: float
) -> Response:
    if report_type not in REPORT_TYPES:
        return responses.json_response(400, {"error": f"invalid report type {report_type}"})
    if not user.can_read_reports:
        return responses.unauthorized()
    try:
        raw = request_parameters(request)
    except ValueError:
        return responses.json_response(400, {"errors": [{"message": "Invalid JSON in request body"}]})
    if not isinstance(raw, dict):  # nil.permit / "x".permit: an internal error in Canvas's controller
        return responses.server_error(state.next_error_report_id())
    report = state.create_report(course_id, report_type, permit_parameters(raw), user)
    return responses.json_response(200, report.to_json(now, state.file_origin(report), initial=True))


def _last(state: ServerState, course_id: int, report_type: str, user: User, now: float) -> Response:
    if not user.can_read_reports:
        return responses.unauthorized()
    report = state.last_report(course_id, user.id, report_type)
    if report is None:
        if state.behaviour_for(course_id).last_without_report == "empty":
            return responses.json_response(200, {})
        return responses.server_error(state.next_error_report_id())  # renders {}, then fails on nil
    return _render(state, report, now)


def _render(state: ServerState, report: Report, now: float) -> Response:
    state.materialize(report, now)
    body = report.render(now, state.file_origin(report))
    return Response(200, [("Content-Type", responses.JSON_TYPE)], body)


def _show(state: ServerState, course_id: int, raw_id: str, user: User, now: float) -> Response:
    report = state.find_report(int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else None
    if not isinstance(report, Report) or report.course_id != course_id:
        return responses.not_found()
    if report.user_id != user.id:
        return responses.unauthorized()
    report.note_status_read(now)
    return _render(state, report, now)
