"""The Account Reports API (``/api/v1/accounts/:account_id/reports...``), as canvas-lms answers it."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports.testing import paging, responses
from airflow_provider_canvas_reports.testing.account_reports import ACCOUNT_REPORT_TYPES
from airflow_provider_canvas_reports.testing.forms import request_parameters

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.account_reports import AccountReport
    from airflow_provider_canvas_reports.testing.http import Request, Response
    from airflow_provider_canvas_reports.testing.interface import ServerState
    from airflow_provider_canvas_reports.testing.models import User

_TERM = re.compile(r"[0-9]+|active_terms|sis_term_id:.+")


def route(
    state: ServerState, request: Request, user: User, rest: list[str], method: str, now: float
) -> Response:
    """``rest`` is the path after ``/api/v1/accounts``: ``[id, "reports", type?, report_id?, "abort"?]``."""
    account_id = state.resolve_account(rest[0])
    if account_id is None:
        return responses.not_found()
    if not user.can_read_account_reports:
        return responses.unauthorized()
    offered = state.account_report_types(account_id)
    if len(rest) == 2 and method == "GET":
        return _types(state, account_id, offered, request, now)
    if rest[2] not in offered:  # RecordNotFound for a type the account does not offer
        return responses.not_found()
    report_type = rest[2]
    if len(rest) == 3 and method == "POST":
        return _start(state, request, account_id, report_type, user, now)
    if len(rest) == 3 and method == "GET":
        return _runs(state, request, account_id, report_type, now)
    report = _find(state, account_id, report_type, rest[3])
    if report is None:
        return responses.not_found()
    if len(rest) == 4 and method == "GET":
        report.note_status_read(now)
        return _render(state, report, now)
    if len(rest) == 4 and method == "DELETE":
        report.delete(now)
        return _render(state, report, now)
    if len(rest) == 5 and rest[4] == "abort" and method == "PUT":
        return _render(state, report, now) if report.abort(now) else responses.not_found()
    return responses.not_found()


def _find(state: ServerState, account_id: int, report_type: str, raw_id: str) -> AccountReport | None:
    from airflow_provider_canvas_reports.testing.account_reports import AccountReport

    report = state.find_report(int(raw_id)) if raw_id.isascii() and raw_id.isdigit() else None
    if not isinstance(report, AccountReport) or (report.account_id, report.report_type) != (
        account_id,
        report_type,
    ):
        return None
    return report


def _json(state: ServerState, report: AccountReport, now: float) -> dict[str, Any]:
    state.materialize(report, now)
    return report.to_json(now, state.file_origin(report))


def _render(state: ServerState, report: AccountReport, now: float) -> Response:
    return responses.json_response(200, _json(state, report, now))


def _types(
    state: ServerState, account_id: int, offered: tuple[str, ...], request: Request, now: float
) -> Response:
    listed = []
    for report_type in offered:
        title, parameters = ACCOUNT_REPORT_TYPES[report_type]
        runs = state.account_report_runs(account_id, report_type)
        last = _json(state, runs[0], now) if runs else None
        listed.append({"title": title, "parameters": parameters, "report": report_type, "last_run": last})
    return responses.json_response(200, listed)


def _start(
    state: ServerState, request: Request, account_id: int, report_type: str, user: User, now: float
) -> Response:
    try:
        raw = request_parameters(request)
    except ValueError:
        return responses.json_response(400, {"errors": [{"message": "Invalid JSON in request body"}]})
    parameters: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
    term = parameters.get("enrollment_term_id")
    if term not in (None, "") and not _TERM.fullmatch(str(term)):
        return responses.json_response(400, {"error": f"invalid enrollment_term_id '{term}'"})
    report = state.create_account_report(account_id, report_type, parameters, user)
    return responses.json_response(200, report.to_json(now, state.file_origin(report), initial=True))


def _runs(state: ServerState, request: Request, account_id: int, report_type: str, now: float) -> Response:
    """The type's runs, newest first, a page at a time with ``Link: <...>; rel="next"`` (no ``last``)."""
    runs = state.account_report_runs(account_id, report_type)
    chosen, link = paging.numbered(runs, request, state.base_url, with_last=False)
    return responses.json_response(200, [_json(state, r, now) for r in chosen], [link])
