"""The one sensor implementation both report families use (through a report target)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_canvas_reports import reports
from airflow_provider_canvas_reports.exceptions import CanvasError
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.tasks import defer_until_finished

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_canvas_reports.targets import ReportTarget


class ReportSensor(BaseSensorOperator):
    """
    Wait until a Canvas report is complete, and return its metadata (the base of
    :class:`~.sensors.course_report.CourseReportSensor` and
    :class:`~.sensors.account_report.AccountReportSensor`, which say which report).

    Each check logs the report's status. ``complete`` succeeds and returns (as XCom) the report's
    id, status, timestamps, parameters and attachment, never its ``file_url``. ``error``,
    ``aborted`` or ``deleted`` fail the task at once, without retries, with Canvas's reason.
    Transient API errors are retried by the hook, and an outage is waited out while time is left;
    ``timeout`` works the same in poke, reschedule and deferrable mode.

    .. seealso:: :doc:`/howto/course-reports` and :doc:`/howto/account-reports`

    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param deferrable: wait in the triggerer, freeing the worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param stop_on_timeout: when the wait times out, stop the report (abort a running account
        report, delete a queued one), so it does not hold the account's report queue.
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    :return: the report's metadata (id, status, timestamps, parameters, attachment; no ``file_url``).
    :raises CanvasReportFailedError: the report ended in ``error``, ``aborted`` or ``deleted``.
    :raises AirflowSensorTimeout: the wait outlasted ``timeout``.
    """

    ui_color = "#e4f0e8"

    def __init__(
        self,
        *,
        canvas_conn_id: Any = CanvasHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        stop_on_timeout: bool = True,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.canvas_conn_id = canvas_conn_id
        self.deferrable = deferrable
        self.stop_on_timeout = stop_on_timeout
        self.hook_params = hook_params or {}
        self._last_report: dict[str, Any] | None = None

    def target(self) -> ReportTarget:
        """The report waited for, validated from the rendered fields (bad input fails at once)."""
        raise NotImplementedError

    @cached_property
    def hook(self) -> CanvasHook:
        return CanvasHook(self.canvas_conn_id, **self.hook_params)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        target = self.target()
        try:
            report = self.hook.get_report(target)
        except CanvasError as exc:
            # Canvas away for longer than one call's retries: poke again while the wait has time
            # left (the sensor's timeout ends it); errors no retry can fix end it now.
            if not reports.is_transient(exc):
                raise
            self.log.warning("Canvas status read failed (%s); the wait goes on", exc)
            return False
        self._last_report = report
        reports.log_status(self.log, target, report)
        summary = reports.finished_summary(target, report)
        return PokeReturnValue(is_done=True, xcom_value=summary) if summary else False

    def execute(self, context: Context) -> Any:
        target = self.target()
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as exc:
                self._stop(target)
                raise AirflowSensorTimeout(
                    reports.timeout_message(target, self.timeout, self._last_report)
                ) from exc
        poked = self.poke(context)
        if poked:
            return poked.xcom_value if isinstance(poked, PokeReturnValue) else None
        defer_until_finished(self, target, self.poke_interval, self.timeout)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, report_id: Any = None
    ) -> dict[str, Any]:
        """Called when the trigger fires: validate its event and return the report summary."""
        target = self.target()
        try:
            summary = reports.summary_from_event(event, target)
        except AirflowSensorTimeout:
            self._stop(target)
            raise
        self.log.info("Canvas %s: %s", target.where, reports.describe(summary))
        return summary

    def _stop(self, target: ReportTarget) -> None:
        """Stop the report we stop waiting for (if asked to); a failure to stop it is logged."""
        if not self.stop_on_timeout or not target.can_abort:
            return
        try:
            self.hook.cancel_report(target)
        except CanvasError as exc:
            self.log.warning("Could not stop %s: %s", target.describe(), exc)
