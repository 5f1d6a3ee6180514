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

from airflow_provider_canvas_reports import redact
from airflow_provider_canvas_reports.client.ids import account_id_path_segment
from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError, CanvasUnexpectedResponseError
from airflow_provider_canvas_reports.targets import API_PREFIX

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.targets import ReportTarget

#: Items per page of a list call (Canvas's largest page for most lists).
PER_PAGE = 100


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
    """

    method: str
    path: str
    body: bytes = b""
    content_type: str | None = None
    read: Callable[[Any, CanvasRequest], Any] = field(default=lambda data, request: data, repr=False)
    none_on_500: bool = False
    paged: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def idempotent(self) -> bool:
        """
        A POST makes a new report each time, so it may be repeated only if it surely did nothing;
        reading, aborting and deleting may be repeated.
        """
        return self.method in ("GET", "HEAD", "PUT", "DELETE")


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


# --- calls ---------------------------------------------------------------------------------------


def start_report(target: ReportTarget, checked: Mapping[str, Any]) -> CanvasRequest:
    """
    Start a report with parameters already checked by ``target.check_parameters``. The body always
    carries a ``parameters`` key: Canvas answers 500 without one.
    """
    body = json.dumps({"parameters": dict(checked)}).encode()
    return CanvasRequest("POST", target.path, body=body, content_type="application/json", read=_read_report)


def get_report(target: ReportTarget) -> CanvasRequest:
    """One report by id (``target.report_id``)."""
    if target.report_id is None:
        raise CanvasInvalidInputError(
            f"Invalid report_id None for {target.describe()}: a report id is needed"
        )
    return CanvasRequest("GET", target.path, read=_read_report)


def get_last_course_report(target: ReportTarget) -> CanvasRequest:
    """
    The caller's most recent course report of this type. With none, Canvas answers ``{}`` (older
    versions) or its generic HTTP 500 (current ones): both read as "no report" (``None``), the 500
    as :class:`~.exceptions.CanvasNoReportError`, which is not retried.
    """
    return CanvasRequest("GET", target.path, read=_read_optional_report, none_on_500=True)


def list_report_runs(target: ReportTarget, per_page: int = PER_PAGE) -> CanvasRequest:
    """An account report type's runs, newest first, one page (``paged``)."""
    return CanvasRequest("GET", f"{target.path}?per_page={per_page}", read=_read_reports, paged=True)


def abort_report(target: ReportTarget) -> CanvasRequest:
    """Abort a running account report (Canvas answers 404 for one that is not running)."""
    return CanvasRequest("PUT", f"{target.path}/abort", read=_read_report)


def delete_report(target: ReportTarget) -> CanvasRequest:
    """Delete a report (Canvas's soft delete: its status becomes ``deleted``)."""
    return CanvasRequest("DELETE", target.path, read=_read_report)


def list_account_reports(account_id: object) -> CanvasRequest:
    """The report types an account offers, with their parameters and last run (``paged``)."""
    path = f"{API_PREFIX}/accounts/{account_id_path_segment(account_id)}/reports?per_page={PER_PAGE}"
    return CanvasRequest("GET", path, read=_read_report_types, paged=True)


def get_self() -> CanvasRequest:
    return CanvasRequest("GET", f"{API_PREFIX}/users/self", read=_read_user)
