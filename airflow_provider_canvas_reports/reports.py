"""What a finished or unfinished report means for a task: shared by the operators, sensor and trigger."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports.exceptions import (
    CanvasError,
    CanvasReportFailedError,
    CanvasWaitFailedError,
)
from airflow_provider_canvas_reports.status import ReportStatus, report_summary

if TYPE_CHECKING:
    from airflow_provider_canvas_reports._typing import Log
    from airflow_provider_canvas_reports.targets import ReportTarget

#: The statuses a :class:`~.triggers.report.ReportTrigger` event can carry.
EVENT_STATUSES = ("success", "failed", "timeout", "error")
#: An account report still ``created`` after this long is queued behind another: the log says so once.
QUEUED_NOTICE_SECONDS = 300.0


def describe(report: Mapping[str, Any]) -> str:
    """
    ``report 42 running``, plus ``(12000 rows written)`` when Canvas counts them. A ``progress``
    some deployments send is left out: it is not monotonic, can stay below 100 once the report is
    complete, and is 100 when an account report fails, so it would only mislead.
    """
    rows = report.get("current_line")
    written = f" ({rows} rows written)" if isinstance(rows, int) and rows > 0 else ""
    return f"report {report.get('id')} {report.get('status')}{written}"


def log_status(log: Log, target: ReportTarget, report: Mapping[str, Any]) -> None:
    log.info("Canvas %s: %s", target.where, describe(report))


def log_queued(log: Log, target: ReportTarget, waited: float) -> None:
    log.warning(
        "%s is still queued after %.0f s: Canvas runs one report at a time per root account, so it "
        "waits for the account's earlier reports to finish",
        target.describe(),
        waited,
    )


def failure(target: ReportTarget, report: Mapping[str, Any]) -> CanvasReportFailedError:
    """The error for a failed report; Canvas's reason (``parameters.extra_text``) goes into it."""
    params = report.get("parameters")
    reason = params.get("extra_text") if isinstance(params, Mapping) else None
    why = f": {reason}" if isinstance(reason, str) and reason.strip() else ""
    return CanvasReportFailedError(
        f"Canvas {target.report_type} report {report.get('id')} for {target.where} ended in "
        f"'{report.get('status')}'{why}. Canvas will not finish it; start a new report to try again."
    )


def finished_summary(target: ReportTarget, report: Mapping[str, Any]) -> dict[str, Any] | None:
    """The safe summary if the report is complete, ``None`` while it runs; raises if it failed."""
    status = report.get("status")
    if ReportStatus.is_success(status):
        return report_summary(report)
    if ReportStatus.is_failure(status):
        raise failure(target, report)
    return None


def timeout_message(target: ReportTarget, timeout: float, report: Mapping[str, Any] | None) -> str:
    last = f"; last seen: {describe(report)}" if report else ""
    return f"Timed out after {timeout:g} s waiting for {target.describe()}{last}"


def event_report_id(event: Mapping[str, Any] | None) -> Any:
    """The id of the report a trigger event is about (every event of ours says), or ``None``."""
    if not isinstance(event, Mapping):
        return None
    report = event.get("report")
    return event.get("report_id", report.get("id") if isinstance(report, Mapping) else None)


def summary_from_event(event: Mapping[str, Any] | None, target: ReportTarget) -> dict[str, Any]:
    """
    Validate a trigger event and return the report summary it carries.

    Raises :class:`CanvasReportFailedError` for ``failed``, :class:`CanvasError` for ``error``, and
    :class:`~airflow.exceptions.AirflowSensorTimeout` for ``timeout``; anything unknown is an error.
    """
    from airflow.providers.common.compat.sdk import AirflowSensorTimeout

    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise CanvasError(f"Unexpected trigger event for {target.describe()}: {event!r}")
    status = event["status"]
    if status == "success":
        return dict(event["report"])
    if status == "failed":
        raise failure(target, event.get("report") or {})
    if status == "timeout":
        raise AirflowSensorTimeout(event.get("message") or "Timed out waiting for the Canvas report")
    raise _error_from_event(event, event.get("message") or "The Canvas report trigger failed")


#: The longest pause between status reads while Canvas is unreachable (unless polls are rarer).
OUTAGE_MAX_PAUSE_SECONDS = 300.0


def outage_pause(poll_interval: float, failures: int) -> float:
    """
    Seconds to the next status read after ``failures`` failed ones in a row (each already retried
    by the hook): the poll interval, doubling per failure, capped at
    :data:`OUTAGE_MAX_PAUSE_SECONDS` (or the poll interval, if that is longer).
    """
    return min(
        poll_interval * 2 ** min(max(failures - 1, 0), 16), max(poll_interval, OUTAGE_MAX_PAUSE_SECONDS)
    )


def is_transient(exc: BaseException) -> bool:
    """Whether a failed status read is worth trying again later in the same wait."""
    return isinstance(exc, CanvasError) and exc.retryable


def error_event(exc: BaseException, final: bool) -> dict[str, Any]:
    """A trigger's ``error`` event for ``exc``: its message, its type's name, whether retries help."""
    return {
        "status": "error",
        "message": str(exc) if isinstance(exc, CanvasError) else f"{type(exc).__name__}: {exc}",
        "error_type": type(exc).__name__,
        "retryable": not final,
    }


def _error_from_event(event: Mapping[str, Any], message: str) -> CanvasError:
    """The exception an ``error`` event stands for, of the type the trigger met where it is ours."""
    from airflow_provider_canvas_reports import exceptions

    error_class = getattr(exceptions, str(event.get("error_type")), None)
    if isinstance(error_class, type) and issubclass(error_class, CanvasError):
        error = error_class(message)
        if event.get("retryable") is False and error.retryable:
            return CanvasWaitFailedError(message)
        return error
    if event.get("retryable") is False:  # e.g. the token was revoked while waiting: no retry can help
        return CanvasWaitFailedError(message)
    return CanvasError(message)


def deadline(timeout: float | None) -> float | None:
    """An epoch-seconds end time ``timeout`` seconds from now (epoch, so it survives a restart)."""
    return None if timeout is None else time.time() + timeout
