"""
Canvas calls, described once.

A :class:`CanvasRequest` says what to send (method, path, body) and how to read the answer;
:func:`~.responses.read_response` turns any answer into that value or a
:class:`~airflow_provider_canvas_reports.exceptions.CanvasError`. The sync and async transports
only move bytes, so both behave the same by construction. Paths come from the report's
:class:`~airflow_provider_canvas_reports.targets.ReportTarget`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow_provider_canvas_reports import redact
from airflow_provider_canvas_reports.client import filters
from airflow_provider_canvas_reports.client.ids import account_id_path_segment, course_id_path_segment
from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError, CanvasUnexpectedResponseError
from airflow_provider_canvas_reports.targets import API_PREFIX

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.client.settings import DeveloperKey
    from airflow_provider_canvas_reports.targets import ReportTarget

#: Items per page of a list call (Canvas's largest page for most lists).
PER_PAGE = 100
#: Where a developer key's refresh token is exchanged for an access token.
TOKEN_PATH = "/login/oauth2/token"
#: The routes of report calls as canvas-lms's scopes name them, by report family.
_REPORT_ROUTES = {
    "course": f"{API_PREFIX}/courses/:course_id/reports/:report_type",
    "account": f"{API_PREFIX}/accounts/:account_id/reports/:report",
}

#: Every scope a developer key that enforces scopes needs for the calls this package makes
#: (``url:<VERB>|<route>``, as Admin > Developer Keys lists them). ``tests`` check each call's
#: scope is here and that the developer key how-to lists exactly these.
DEVELOPER_KEY_SCOPES = (
    f"url:GET|{API_PREFIX}/users/:id",
    f"url:GET|{API_PREFIX}/accounts/:account_id/courses",
    f"url:GET|{API_PREFIX}/courses/:course_id/sections",
    f"url:POST|{_REPORT_ROUTES['course']}",
    f"url:GET|{_REPORT_ROUTES['course']}",
    f"url:GET|{_REPORT_ROUTES['course']}/:id",
    f"url:GET|{API_PREFIX}/accounts/:account_id/reports",
    f"url:POST|{_REPORT_ROUTES['account']}",
    f"url:GET|{_REPORT_ROUTES['account']}",
    f"url:GET|{_REPORT_ROUTES['account']}/:id",
    f"url:PUT|{_REPORT_ROUTES['account']}/:id/abort",
    f"url:DELETE|{_REPORT_ROUTES['account']}/:id",
)


@dataclass(frozen=True, slots=True)
class CanvasRequest:
    """
    One Canvas API call, independent of the HTTP library that sends it.

    :param method: HTTP method.
    :param path: the path below the Canvas base URL, already validated and encoded.
    :param body: the request body, already encoded (empty: none).
    :param content_type: the body's ``Content-Type``.
    :param read: turns the decoded JSON into the caller's value, raising
        :class:`CanvasUnexpectedResponseError` when keys are missing.
    :param none_on_500: Canvas's generic internal-error 500 may mean "nothing to show" (the last
        report, when there is none): it raises :class:`CanvasNoReportError` instead of a retryable
        :class:`CanvasServerError`.
    :param paged: a list call: the answer reads as a :class:`~.paging.Page` (its items, and the
        ``Link: rel="next"`` URL if Canvas gave one).
    :param scope: the developer key scope the call needs (``url:GET|/api/v1/...``), named when a
        scoped key lacks it.
    :param authorized: sent with the connection's access token (every API call; not the token
        call itself).
    :param repeatable: may be sent again after an answer was lost although it is not a read
        (getting an access token makes nothing a second try could duplicate).
    """

    method: str
    path: str
    body: bytes = b""
    content_type: str | None = None
    read: Callable[[Any, CanvasRequest], Any] = field(default=lambda data, request: data, repr=False)
    none_on_500: bool = False
    paged: bool = False
    scope: str | None = None
    authorized: bool = True
    repeatable: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def idempotent(self) -> bool:
        """
        A POST makes a new report each time, so it may be repeated only if it surely did nothing;
        reading, aborting and deleting may be repeated.
        """
        return self.repeatable or self.method in ("GET", "HEAD", "PUT", "DELETE")


# --- readers -------------------------------------------------------------------------------------


def _read_report(data: Any, request: CanvasRequest) -> dict[str, Any]:
    if not isinstance(data, dict) or "id" not in data or "status" not in data:
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise CanvasUnexpectedResponseError(
            f"{request.label}: expected a report with 'id' and 'status', got {keys}"
        )
    if data.get("file_url"):  # its verifier is a credential that never expires
        redact.remember_url(data["file_url"])
        attachment = data.get("attachment")
        if isinstance(attachment, Mapping):
            redact.remember_url(attachment.get("url"))
    return data


def _read_optional_report(data: Any, request: CanvasRequest) -> dict[str, Any] | None:
    if data == {}:
        return None
    return _read_report(data, request)


def _read_reports(data: Any, request: CanvasRequest) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise CanvasUnexpectedResponseError(
            f"{request.label}: expected a list of reports, got {type(data).__name__}"
        )
    return [_read_report(item, request) for item in data]


def _read_report_types(data: Any, request: CanvasRequest) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(item, dict) and "report" in item for item in data):
        raise CanvasUnexpectedResponseError(f"{request.label}: expected a list of report types")
    for item in data:
        if isinstance(item.get("last_run"), dict) and item["last_run"].get("file_url"):
            _read_report(item["last_run"], request)
    return data


def _read_user(data: Any, request: CanvasRequest) -> dict[str, Any]:
    if not isinstance(data, dict) or "id" not in data:
        raise CanvasUnexpectedResponseError(f"{request.label}: expected the user, got {type(data).__name__}")
    return data


def _read_listed(what: str) -> Callable[[Any, CanvasRequest], list[dict[str, Any]]]:
    """Reads a page of ``what`` (courses, sections): a list of objects, each with an ``id``."""

    def read(data: Any, request: CanvasRequest) -> list[dict[str, Any]]:
        if not isinstance(data, list) or not all(isinstance(item, dict) and "id" in item for item in data):
            raise CanvasUnexpectedResponseError(f"{request.label}: expected a list of {what} with ids")
        return data

    return read


def _read_access_token(data: Any, request: CanvasRequest) -> tuple[str, float]:
    """``(access_token, expires_in)``; the token is registered as a secret before anything else."""
    token = data.get("access_token") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise CanvasUnexpectedResponseError(f"{request.label}: expected an access_token")
    redact.remember(token)
    expires_in = data.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float)) or expires_in <= 0:
        expires_in = 3600.0  # Canvas's lifetime when an answer leaves it out
    return token, float(expires_in)


def _report_scope(method: str, target: ReportTarget, tail: str = "") -> str:
    """``url:GET|/api/v1/courses/:course_id/reports/:report_type/:id``: a report call's scope."""
    run = "/:id" if target.report_id is not None else ""
    return f"url:{method}|{_REPORT_ROUTES[target.family]}{run}{tail}"


# --- calls ---------------------------------------------------------------------------------------


def start_report(target: ReportTarget, checked: Mapping[str, Any]) -> CanvasRequest:
    """
    Start a report with parameters already checked by ``target.check_parameters``. The body always
    carries a ``parameters`` key: Canvas answers 500 without one.
    """
    body = json.dumps({"parameters": dict(checked)}).encode()
    return CanvasRequest(
        "POST",
        target.path,
        body=body,
        content_type="application/json",
        read=_read_report,
        scope=_report_scope("POST", target),
    )


def get_report(target: ReportTarget) -> CanvasRequest:
    """One report by id (``target.report_id``)."""
    if target.report_id is None:
        raise CanvasInvalidInputError(
            f"Invalid report_id None for {target.describe()}: a report id is needed"
        )
    return CanvasRequest("GET", target.path, read=_read_report, scope=_report_scope("GET", target))


def get_last_course_report(target: ReportTarget) -> CanvasRequest:
    """
    The caller's most recent course report of this type. With none, Canvas answers ``{}`` (older
    versions) or its generic HTTP 500 (current ones): both read as "no report" (``None``), the 500
    as :class:`~.exceptions.CanvasNoReportError`, which is not retried.
    """
    return CanvasRequest(
        "GET", target.path, read=_read_optional_report, none_on_500=True, scope=_report_scope("GET", target)
    )


def list_report_runs(target: ReportTarget, per_page: int = PER_PAGE) -> CanvasRequest:
    """An account report type's runs, newest first, one page (``paged``)."""
    path = f"{target.path}?per_page={per_page}"
    return CanvasRequest("GET", path, read=_read_reports, paged=True, scope=_report_scope("GET", target))


def abort_report(target: ReportTarget) -> CanvasRequest:
    """Abort a running account report (Canvas answers 404 for one that is not running)."""
    scope = _report_scope("PUT", target, "/abort")
    return CanvasRequest("PUT", f"{target.path}/abort", read=_read_report, scope=scope)


def delete_report(target: ReportTarget) -> CanvasRequest:
    """Delete a report (Canvas's soft delete: its status becomes ``deleted``)."""
    return CanvasRequest("DELETE", target.path, read=_read_report, scope=_report_scope("DELETE", target))


def list_account_reports(account_id: object) -> CanvasRequest:
    """The report types an account offers, with their parameters and last run (``paged``)."""
    path = f"{API_PREFIX}/accounts/{account_id_path_segment(account_id)}/reports?per_page={PER_PAGE}"
    scope = f"url:GET|{API_PREFIX}/accounts/:account_id/reports"
    return CanvasRequest("GET", path, read=_read_report_types, paged=True, scope=scope)


def get_self() -> CanvasRequest:
    """The token's user (``GET /api/v1/users/self``): the cheapest call that proves the credentials."""
    scope = f"url:GET|{API_PREFIX}/users/:id"
    return CanvasRequest("GET", f"{API_PREFIX}/users/self", read=_read_user, scope=scope)


def list_account_courses(account_id: object, given_filters: Mapping[str, Any] | None = None) -> CanvasRequest:
    """
    The courses of an account and its sub-accounts, 100 a page (``paged``), filtered as
    :func:`~.filters.course_filters` checks and writes the filters (before any request).
    """
    query = urlencode([*filters.course_filters(given_filters), ("per_page", str(PER_PAGE))])
    path = f"{API_PREFIX}/accounts/{account_id_path_segment(account_id)}/courses?{query}"
    scope = f"url:GET|{API_PREFIX}/accounts/:account_id/courses"
    return CanvasRequest("GET", path, read=_read_listed("courses"), paged=True, scope=scope)


def list_course_sections(course_id: object) -> CanvasRequest:
    """A course's sections, 100 a page (``paged``)."""
    path = f"{API_PREFIX}/courses/{course_id_path_segment(course_id)}/sections?per_page={PER_PAGE}"
    scope = f"url:GET|{API_PREFIX}/courses/:course_id/sections"
    return CanvasRequest("GET", path, read=_read_listed("sections"), paged=True, scope=scope)


def get_access_token(key: DeveloperKey) -> CanvasRequest:
    """
    Exchange the developer key's refresh token for an access token (``grant_type=refresh_token``):
    reads as ``(access_token, expires_in)``. Sent without a token, repeatable, and never logged with
    its body (it holds the client secret and the refresh token).
    """
    form = {
        "grant_type": "refresh_token",
        "client_id": key.client_id,
        "client_secret": key.client_secret,
        "refresh_token": key.refresh_token,
    }
    return CanvasRequest(
        "POST",
        TOKEN_PATH,
        body=urlencode(form).encode(),
        content_type="application/x-www-form-urlencoded",
        read=_read_access_token,
        authorized=False,
        repeatable=True,
    )
