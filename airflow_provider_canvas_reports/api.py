"""
Canvas requests, described once.

A :class:`CanvasRequest` says what to send (method, path, body) and how to read the
answer; :func:`read_response` turns any answer into a value or a :class:`CanvasError`. The sync
and async transports only move bytes, so both behave the same by construction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_provider_canvas_reports import redact
from airflow_provider_canvas_reports.exceptions import (
    CanvasAuthError,
    CanvasBadRequestError,
    CanvasError,
    CanvasInvalidInputError,
    CanvasNoReportError,
    CanvasNotFoundError,
    CanvasRateLimitError,
    CanvasServerError,
    CanvasUnexpectedResponseError,
)
from airflow_provider_canvas_reports.ids import (
    course_id_path_segment,
    validate_id,
    validate_parameter_name,
    validate_report_id,
    validate_report_type,
)

API_PREFIX = "/api/v1"


class ReportStatus(str, Enum):
    """The states a Canvas report declares; course reports go created → running → complete/error."""

    CREATED = "created"
    RUNNING = "running"
    COMPILING = "compiling"
    COMPLETE = "complete"
    ERROR = "error"
    ABORTED = "aborted"
    DELETED = "deleted"

    @classmethod
    def is_success(cls, status: object) -> bool:
        return status == cls.COMPLETE.value

    @classmethod
    def is_failure(cls, status: object) -> bool:
        return status in FAILED_STATES

    @classmethod
    def is_terminal(cls, status: object) -> bool:
        """Whether ``status`` is final. Anything unknown counts as still going."""
        return cls.is_success(status) or cls.is_failure(status)


FAILED_STATES = frozenset({ReportStatus.ERROR.value, ReportStatus.ABORTED.value, ReportStatus.DELETED.value})
ACTIVE_STATES = frozenset(
    {ReportStatus.CREATED.value, ReportStatus.RUNNING.value, ReportStatus.COMPILING.value}
)


@dataclass(frozen=True, slots=True)
class RawResponse:
    """What a transport received: status, headers with lower-case names, and the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


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
    """

    method: str
    path: str
    body: bytes = b""
    content_type: str | None = None
    read: Callable[[Any, CanvasRequest], Any] = field(default=lambda data, request: data, repr=False)
    none_on_500: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def idempotent(self) -> bool:
        """A POST makes a new report each time, so it may be repeated only if it surely did nothing."""
        return self.method in ("GET", "HEAD")


# --- paths ---------------------------------------------------------------------------------------


def course_path(course_id: object, *rest: str) -> str:
    """``/api/v1/courses/<course>/...``; account reports will get an ``account_path`` twin."""
    return "/".join((API_PREFIX, "courses", course_id_path_segment(course_id), *rest))


def course_report_path(course_id: object, report_type: object, *report_id: object) -> str:
    """``.../reports/<type>`` (the caller's last report), or ``.../reports/<type>/<id>`` given an id."""
    parts = ["reports", validate_report_type(report_type), *(str(validate_report_id(i)) for i in report_id)]
    return course_path(course_id, *parts)


#: The parameters Canvas reads for a course report (it drops any other key).
SELECTION_KEYS = ("section_ids", "enrollment_ids")
#: Report types that end in ``error`` unless some sections or enrollments are asked for.
_NEEDS_SELECTION = frozenset({"course_pace_docx"})


def report_parameters(report_type: str, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """
    Check report parameters before any request and return them as Canvas's JSON body takes them.

    ``{"section_ids": [1, 2]}`` stays as it is (ids keep their type; a set is sorted). Each of
    ``section_ids`` and ``enrollment_ids`` must be positive ids: integers or their digits, a
    single id, or a string holding a JSON list of them (``"[1, 2]"``, what a Jinja template renders
    without ``render_template_as_native_obj``). A ``course_pace_docx`` report needs a non-empty
    ``section_ids`` or ``enrollment_ids``: Canvas makes one document per section or student asked
    for, and with neither the report can only fail.

    :raises CanvasInvalidInputError: naming the parameter and what to fix (also a ``ValueError``).
    """
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise CanvasInvalidInputError(
            f"Report parameters must be a mapping such as {{'section_ids': [1, 2]}}, got "
            f"{type(parameters).__name__}"
        )
    checked: dict[str, Any] = {}
    for name, value in parameters.items():
        key = validate_parameter_name(name)
        if key in SELECTION_KEYS:
            checked[key] = _id_list(value, key)
        elif isinstance(value, (list, tuple, set, frozenset)):
            values: Iterable[Any] = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
            checked[key] = [_json_value(item, key) for item in values]
        else:
            checked[key] = _json_value(value, key)
    if report_type in _NEEDS_SELECTION and not any(selection(checked).values()):
        raise CanvasInvalidInputError(
            f"A {report_type} report needs a non-empty 'section_ids' or 'enrollment_ids' parameter, "
            "e.g. parameters={'section_ids': [123]}: Canvas makes one document per section or student "
            "asked for, and with neither the report always ends in error"
        )
    return checked


def selection(parameters: Any) -> dict[str, list[str]]:
    """
    The ``section_ids`` and ``enrollment_ids`` of report parameters, as given or as Canvas echoes
    them (form values come back as strings), as sorted strings; a missing key is an empty list.
    """
    params = parameters if isinstance(parameters, Mapping) else {}
    chosen: dict[str, list[str]] = {}
    for key in SELECTION_KEYS:
        value = _rendered_list(params.get(key))
        values = value if isinstance(value, (list, tuple)) else ([] if value in (None, "") else [value])
        chosen[key] = sorted(str(v) for v in values)
    return chosen


def same_selection(report: Mapping[str, Any], parameters: Mapping[str, Any] | None) -> bool:
    """
    Whether ``report`` was started with exactly these ``section_ids`` and ``enrollment_ids`` (the
    only parameters Canvas keeps for a course report; a missing key is an empty list, ids compare
    as strings).
    """
    return selection(report.get("parameters")) == selection(parameters)


def _rendered_list(value: Any) -> Any:
    """A string holding a JSON list (a template's rendering of one) as that list; else ``value``."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, list):
            return parsed
    return value


def _id_list(value: Any, name: str) -> list[int | str]:
    """``section_ids``/``enrollment_ids`` as a list of positive ids, or a clear refusal."""
    value = _rendered_list(value)
    if isinstance(value, str):
        raise CanvasInvalidInputError(
            f"Invalid value {value!r} for report parameter {name!r}: expected a list of ids such as "
            f"[1, 2]. A Jinja template renders a string: render a JSON list (e.g. "
            f"'{{{{ params.{name} | tojson }}}}'), or set render_template_as_native_obj=True on the DAG"
        )
    if value is None:
        return []
    items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
    if not isinstance(items, (list, tuple)):
        items = [items]
    for item in items:  # ids keep their type (a form echoes strings, JSON keeps numbers)
        validate_id(item, f"id in report parameter {name!r}")
    return list(items)


def _json_value(value: Any, name: str) -> Any:
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, str) and value and value.isprintable():
        return value
    raise CanvasInvalidInputError(
        f"Invalid value {value!r} for report parameter {name!r}: expected ids or strings"
    )


# --- requests ------------------------------------------------------------------------------------


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


def _read_user(data: Any, request: CanvasRequest) -> dict[str, Any]:
    if not isinstance(data, dict) or "id" not in data:
        raise CanvasUnexpectedResponseError(f"{request.label}: expected the user, got {type(data).__name__}")
    return data


def start_course_report(
    course_id: object, report_type: object, parameters: Mapping[str, Any] | None = None
) -> CanvasRequest:
    """
    Start a report. The body always carries a ``parameters`` key: Canvas answers 500 without one.
    """
    path = course_report_path(course_id, report_type)
    body = json.dumps({"parameters": report_parameters(str(report_type), parameters)}).encode()
    return CanvasRequest("POST", path, body=body, content_type="application/json", read=_read_report)


def get_course_report(course_id: object, report_type: object, report_id: object) -> CanvasRequest:
    """One report by id; ``None`` (or a template that rendered to ``"None"``) is refused, never a lookup."""
    return CanvasRequest("GET", course_report_path(course_id, report_type, report_id), read=_read_report)


def get_last_course_report(course_id: object, report_type: object) -> CanvasRequest:
    """
    The caller's most recent report of this type. With none, Canvas answers ``{}`` (older
    versions) or its generic HTTP 500 (current ones): both read as "no report" (``None``), the 500
    as :class:`~.exceptions.CanvasNoReportError`, which is not retried.
    """
    return CanvasRequest(
        "GET", course_report_path(course_id, report_type), read=_read_optional_report, none_on_500=True
    )


def get_self() -> CanvasRequest:
    return CanvasRequest("GET", f"{API_PREFIX}/users/self", read=_read_user)


# --- responses -----------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")


def _canvas_message(raw: RawResponse) -> str:
    """Canvas's own words from an error body: ``error``, ``errors[].message``, or a short text."""
    try:
        data = json.loads(raw.body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("error"), str):
            return data["error"]
        errors = data.get("errors")
        if isinstance(errors, list):
            messages = [e.get("message") for e in errors if isinstance(e, dict) and e.get("message")]
            if messages:
                return "; ".join(str(m) for m in messages)
        if isinstance(errors, dict):
            return json.dumps(errors)[:300]
        if isinstance(data.get("message"), str):
            return data["message"]
    text = _TAG.sub(" ", redact.scrub(raw.body[:4000].decode("utf-8", "replace")))
    return " ".join(text.split())[:500] or "(empty body)"


def _is_throttled(raw: RawResponse) -> bool:
    return raw.status == 429 or (raw.status == 403 and b"Rate Limit Exceeded" in raw.body[:500])


def is_generic_internal_error(raw: RawResponse) -> bool:
    """Canvas's own 500 (``error_code: internal_server_error``), not a proxy's or a load balancer's."""
    if raw.status != 500:
        return False
    try:
        data = json.loads(raw.body)
    except ValueError:
        return False
    errors = data.get("errors") if isinstance(data, dict) else None
    return isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("error_code") == "internal_server_error" for e in errors
    )


def error_for(request: CanvasRequest, raw: RawResponse) -> CanvasError:
    """The :class:`CanvasError` that an unsuccessful answer means."""
    message = _canvas_message(raw)
    text = f"Canvas {request.label} failed with HTTP {raw.status}: {message}"
    error_class: type[CanvasError] = CanvasError
    if request.none_on_500 and is_generic_internal_error(raw):
        error_class = CanvasNoReportError
    elif _is_throttled(raw):
        error_class = CanvasRateLimitError
    elif raw.status in (401, 403):
        error_class = CanvasAuthError
    elif raw.status == 404:
        error_class = CanvasNotFoundError
    elif raw.status == 400:
        error_class = CanvasBadRequestError
    elif raw.status >= 500:
        error_class = CanvasServerError
    error = error_class(text, status_code=raw.status, canvas_message=message)
    error.retry_after = retry_after(raw.headers)
    return error


def retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (it may be seconds or an HTTP date), or ``None`` without one."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        import time

        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, 3600.0)) if seconds == seconds else None


def read_response(request: CanvasRequest, raw: RawResponse) -> Any:
    """Return the value ``request`` promises from ``raw``, or raise the matching :class:`CanvasError`."""
    if not 200 <= raw.status < 300:
        raise error_for(request, raw)
    try:
        data = json.loads(raw.body)
    except ValueError:
        content_type = raw.headers.get("content-type", "unknown")
        raise CanvasUnexpectedResponseError(
            f"Canvas {request.label} answered HTTP {raw.status} with {content_type} where JSON is due: "
            f"{_canvas_message(raw)}",
            status_code=raw.status,
        ) from None
    return request.read(data, request)


def rate_limit_remaining(headers: Mapping[str, str]) -> float | None:
    value = headers.get("x-rate-limit-remaining")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


# --- secrets -------------------------------------------------------------------------------------

#: Report keys a downstream task may see; ``file_url`` and the attachment's ``url`` are left out.
_SUMMARY_KEYS = (
    "id",
    "status",
    "report_type",
    "course_id",
    "parameters",
    "created_at",
    "started_at",
    "ended_at",
)


def report_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report metadata that is safe for logs, XCom and trigger events (no ``file_url``)."""
    summary = {key: report.get(key) for key in _SUMMARY_KEYS if key in report}
    attachment = report.get("attachment")
    if isinstance(attachment, Mapping):
        summary["attachment"] = {
            "id": attachment.get("id"),
            "filename": attachment.get("filename"),
            "display_name": attachment.get("display_name"),
            "content_type": attachment.get("content-type"),
            "size": attachment.get("size"),
        }
    return summary
