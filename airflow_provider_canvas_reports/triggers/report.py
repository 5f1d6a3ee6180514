"""ReportTrigger: waits in the triggerer for a Canvas report (course or account) to finish."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_canvas_reports import reports
from airflow_provider_canvas_reports.exceptions import CanvasError
from airflow_provider_canvas_reports.status import FAILED_STATES, ReportStatus, report_summary
from airflow_provider_canvas_reports.targets import ReportTarget
from airflow_provider_canvas_reports.triggers import wake_grid

_COMPLETE = ReportStatus.COMPLETE.value
_CREATED = ReportStatus.CREATED.value
#: Shared by every trigger created without hook parameters (never modified).
_NO_PARAMS: dict[str, Any] = {}


class ReportTrigger(BaseTrigger):
    """
    Poll a Canvas report (a course's or an account's) until it is complete, failed, or time runs out.

    It asks :class:`~.hooks.canvas.CanvasHook` for a status reader (the connection is looked up
    once, without blocking); then every trigger of one triggerer polls through one shared, pooled
    HTTP client per Canvas. Transient API errors are retried inside each poll, and an outage longer
    than that is waited out while time is left. The status is read once more at the deadline
    before a timeout is declared. Yields exactly one event, then returns:

    * ``{"status": "success", "report": <summary without file_url>}``
    * ``{"status": "failed", "report": ..., "message": ...}`` (``error``, ``aborted``, ``deleted``)
    * ``{"status": "timeout", "report": <last seen or None>, "message": ...}``
    * ``{"status": "error", "message": ..., "error_type": ..., "retryable": ...}``

    Every event also carries ``report_id``.

    .. seealso:: :doc:`/howto/course-reports` and :doc:`/running-at-scale`

    :param canvas_conn_id: the ``canvas`` connection.
    :param target: the report, as :meth:`.ReportTarget.to_dict` writes it (or the target itself).
    :param poll_interval: seconds between status checks.
    :param end_time: epoch seconds after which the wait ends with ``timeout`` (``None``: no limit).
    :param timeout: the task's timeout in seconds, only to word the timeout message.
    :param hook_params: keyword arguments for the hook (e.g. ``retry_limit``).
    """

    def __init__(
        self,
        canvas_conn_id: str,
        target: ReportTarget | Mapping[str, Any],
        poll_interval: float = 60.0,
        end_time: float | None = None,
        timeout: float | None = None,
        hook_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.canvas_conn_id = canvas_conn_id
        self.target = target if isinstance(target, ReportTarget) else ReportTarget.from_dict(target)
        self.poll_interval = float(poll_interval)
        self.end_time = end_time
        self.timeout = timeout
        self.hook_params = dict(hook_params) if hook_params else _NO_PARAMS

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{ReportTrigger.__module__}.{ReportTrigger.__qualname__}",
            {
                "canvas_conn_id": self.canvas_conn_id,
                "target": self.target.to_dict(),
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "timeout": self.timeout,
                "hook_params": dict(self.hook_params),
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

        # While it waits, a trigger holds its target, the hook's status reader (a lease on the
        # loop's shared client and one request) and what it last logged, in this one frame: the
        # hook is needed only to open the reader, the decoded report only until it is checked, and
        # one logger serves every trigger (the triggerer routes each line to its task's log
        # through context variables).
        try:
            log = type(self).logger()
            hook = CanvasHook(self.canvas_conn_id, **self.hook_params)
            reader = await hook.open_report_reader(self.target, log)
            del hook
            try:
                last_seen: Any = None
                queued_since: float | None = None
                failures = 0
                while True:
                    try:
                        report = await reader.read()
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
                        del report  # not held while the trigger sleeps (thousands wait at once)
                        if event is not None:
                            break
                        queued_since = self._note_queue(last_seen, queued_since, log)
                        interval = self.poll_interval
                    remaining = None if self.end_time is None else self.end_time - time.time()
                    # Jitter keeps triggers deferred together from polling in lockstep forever.
                    interval *= random.uniform(0.9, 1.1)
                    delay = interval if remaining is None else max(0.0, min(interval, remaining))
                    # Triggers due within the same tenth of a second share one timer (wake_grid).
                    await wake_grid.sleep(delay, self.poll_interval)
            finally:
                await reader.close()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # Auth, not-found and bad-request errors fail the task without Airflow's retries; the
            # task raises the same exception type again (reports.summary_from_event).
            event = reports.error_event(exc, isinstance(exc, AirflowFailException))
        event["report_id"] = self.target.report_id  # what the task stops if it walks away
        yield TriggerEvent(event)

    def _outage(self, exc: CanvasError, failures: int, pause: float, log: Any) -> dict[str, Any] | None:
        """The timeout event if the wait's time is up during an outage, else None (log and go on)."""
        if self.end_time is not None and self.end_time <= time.time():
            message = reports.timeout_message(self.target, self.timeout or 0, None)
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
            reports.log_status(log, self.target, report)
        if status == _COMPLETE:
            return {"status": "success", "report": report_summary(report)}, seen
        if status in FAILED_STATES:
            message = str(reports.failure(self.target, report))
            return {"status": "failed", "report": report_summary(report), "message": message}, seen
        if self.end_time is not None and self.end_time <= time.time():
            message = reports.timeout_message(self.target, self.timeout or 0, report)
            return {"status": "timeout", "report": report_summary(report), "message": message}, seen
        return None, seen

    def _note_queue(self, status: Any, queued_since: float | None, log: Any) -> float | None:
        """Say once when an account report has been queued (``created``) for long; track since when."""
        if status != _CREATED or not self.target.can_abort:
            return None
        now = time.time()
        if queued_since is None:
            return now
        if 0 < queued_since and now - queued_since >= reports.QUEUED_NOTICE_SECONDS:
            reports.log_queued(log, self.target, now - queued_since)
            return -1.0  # said once
        return queued_since
