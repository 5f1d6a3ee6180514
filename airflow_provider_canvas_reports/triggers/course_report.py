"""CourseReportTrigger: waits in the triggerer for a Canvas course report to finish."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_canvas_reports import api, reports
from airflow_provider_canvas_reports.api import FAILED_STATES, ReportStatus, report_summary
from airflow_provider_canvas_reports.exceptions import CanvasError
from airflow_provider_canvas_reports.triggers import wake_grid

_COMPLETE = ReportStatus.COMPLETE.value
#: Shared by every trigger created without hook parameters (never modified).
_NO_PARAMS: dict[str, Any] = {}


class CourseReportTrigger(BaseTrigger):
    """
    Poll a Canvas course report until it is complete, failed, or time runs out.

    The connection is looked up once through :class:`~.hooks.canvas.CanvasHook` without blocking;
    then every trigger of one triggerer polls through one shared, pooled HTTP client per Canvas. Transient API
    errors are retried inside each poll; only a failure beyond the retry budget ends the wait.
    Yields exactly one event, then returns:

    * ``{"status": "success", "report": <summary without file_url>}``
    * ``{"status": "failed", "report": ..., "message": ...}`` (``error``, ``aborted``, ``deleted``)
    * ``{"status": "timeout", "report": <last seen or None>, "message": ...}``
    * ``{"status": "error", "message": ...}``

    :param canvas_conn_id: the ``canvas`` connection.
    :param course_id: the course (validated already by the task).
    :param report_type: the report type.
    :param report_id: the report to wait for.
    :param poll_interval: seconds between status checks.
    :param end_time: epoch seconds after which the wait ends with ``timeout`` (``None``: no limit).
    :param timeout: the task's timeout in seconds, only to word the timeout message.
    :param hook_params: keyword arguments for the hook (e.g. ``retry_limit``).
    """

    def __init__(
        self,
        canvas_conn_id: str,
        course_id: int | str,
        report_type: str,
        report_id: int,
        poll_interval: float = 60.0,
        end_time: float | None = None,
        timeout: float | None = None,
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.canvas_conn_id = canvas_conn_id
        self.course_id = course_id
        self.report_type = report_type
        self.report_id = report_id
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.timeout = timeout
        self.hook_params = dict(hook_params) if hook_params else _NO_PARAMS

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "canvas_conn_id": self.canvas_conn_id,
                "course_id": self.course_id,
                "report_type": self.report_type,
                "report_id": self.report_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "timeout": self.timeout,
                "hook_params": dict(self.hook_params),
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
        from airflow_provider_canvas_reports.transports import AsyncTransport, async_clients

        # While it waits, a trigger holds its ids, its request, a lease on the loop's shared client
        # and what it last logged, in this one frame: the hook is needed only to read the
        # connection, the decoded report only until it is checked, and one logger serves every
        # trigger (the triggerer routes each line to its task's log through context variables).
        # The connection is read in a task of its own, on a copy of this context: the lookup
        # (asgiref's sync_to_async) sets context variables that would otherwise stay in this
        # trigger's context for as long as it waits.
        try:
            log = type(self).logger()
            hook = CanvasHook(self.canvas_conn_id, **self.hook_params)
            settings = await asyncio.create_task(hook.asettings())
            del hook
            pooled = async_clients.acquire(settings)
            try:
                transport = AsyncTransport(pooled, pooled.settings, log)
                del settings
                request = api.get_course_report(self.course_id, self.report_type, self.report_id)
                last_seen: Any = None
                failures = 0
                while True:
                    try:
                        report = await transport.call(request)
                    except CanvasError as exc:
                        # Canvas away for longer than one call's retries: the wait goes on while
                        # it has time left; only errors no retry can fix end it.
                        if not reports.is_transient(exc):
                            raise
                        failures += 1
                        interval = reports.outage_pause(self.poll_interval, failures)
                        event = self._outage(exc, failures, interval, log)
                        if event is not None:
                            break
                    else:
                        if failures:
                            log.info("Canvas answers again after %d failed status reads", failures)
                            failures = 0
                        event, last_seen = self._check(report, last_seen, log)
                        if event is not None:
                            break
                        interval = self.poll_interval
                    remaining = None if self.end_time is None else self.end_time - time.time()
                    # Jitter keeps triggers deferred together from polling in lockstep forever.
                    interval *= random.uniform(0.9, 1.1)
                    delay = interval if remaining is None else max(0.0, min(interval, remaining))
                    # Triggers due within the same tenth of a second share one timer (wake_grid).
                    await wake_grid.sleep(delay, self.poll_interval)
            finally:
                await async_clients.release(pooled)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Auth, not-found and bad-request errors fail the task without Airflow's retries; the
            # task raises the same exception type again (reports.summary_from_event).
            event = reports.error_event(exc, isinstance(exc, AirflowFailException))
        yield TriggerEvent(event)

    def _outage(self, exc: CanvasError, failures: int, pause: float, log: Any) -> dict[str, Any] | None:
        """The timeout event if the wait's time is up during an outage, else None (log and go on)."""
        if self.end_time is not None and self.end_time <= time.time():
            message = reports.timeout_message(self.course_id, self.report_type, self.timeout or 0, None)
            return {"status": "timeout", "report": None, "message": f"{message}; Canvas last failed: {exc}"}
        log.warning(
            "Canvas status read failed (%s); the wait goes on (%d failed in a row, next try in about %.0f s)",
            exc,
            failures,
            pause,
        )
        return None

    def _check(self, report: dict[str, Any], last_seen: Any, log: Any) -> tuple[dict[str, Any] | None, Any]:
        """The event this answer ends the wait with (or None), and what to compare the next one to."""
        status = report.get("status")
        # Interned, so that thousands of waiting triggers share one "running".
        seen = sys.intern(status) if isinstance(status, str) else status
        # One triggerer may run thousands of these: log changes, not every poll.
        if seen != last_seen:
            reports.log_status(log, self.course_id, report)
        if status == _COMPLETE:
            return {"status": "success", "report": report_summary(report)}, seen
        if status in FAILED_STATES:
            message = str(reports.failure(self.course_id, self.report_type, report))
            return {"status": "failed", "report": report_summary(report), "message": message}, seen
        if self.end_time is not None and self.end_time <= time.time():
            message = reports.timeout_message(self.course_id, self.report_type, self.timeout or 0, report)
            return {"status": "timeout", "report": report_summary(report), "message": message}, seen
        return None, seen
