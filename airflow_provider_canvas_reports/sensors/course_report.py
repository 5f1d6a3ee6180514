"""CourseReportSensor: waits for a Canvas course report, in the triggerer when deferrable."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_canvas_reports import reports
from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.exceptions import CanvasError
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.tasks import defer_until_finished, validated_ids

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too


class CourseReportSensor(BaseSensorOperator):
    """
    Wait until a Canvas course report is complete, and return its metadata.

    Each check logs the report's status. ``complete`` succeeds and returns (as XCom) the
    report's id, status, timestamps, parameters and attachment (id, filename, content type, size),
    never its ``file_url``. ``error``, ``aborted`` or ``deleted`` fail the task at once, without
    retries. Transient API errors are retried by the hook; ``timeout`` works the same in poke,
    reschedule and deferrable mode, and its message says how far the report got.

    :param course_id: the Canvas course id, or an alternate form such as ``sis_course_id:X``. (templated)
    :param report_id: the report to wait for, e.g. ``{{ ti.xcom_pull(task_ids='start') }}``. (templated)
    :param report_type: the report type. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param deferrable: wait in the triggerer, freeing the worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    """

    template_fields: Sequence[str] = ("course_id", "report_type", "report_id", "canvas_conn_id")
    ui_color = "#e4f0e8"

    def __init__(
        self,
        *,
        course_id: int | str | XComArg,
        report_id: int | str | XComArg,
        report_type: str | XComArg = "course_pace_docx",
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.course_id = rendered(course_id)
        self.report_id = rendered(report_id)
        self.report_type = rendered(report_type)
        self.canvas_conn_id = rendered(canvas_conn_id)
        self.deferrable = deferrable
        self.hook_params = hook_params or {}
        self._last_report: dict[str, Any] | None = None

    @cached_property
    def hook(self) -> CanvasHook:
        return CanvasHook(self.canvas_conn_id, **self.hook_params)

    def poke(self, context: Context) -> bool | PokeReturnValue:
        course_id, report_type, report_id = validated_ids(self.course_id, self.report_type, self.report_id)
        try:
            report = self.hook.get_course_report(course_id, report_type, report_id)
        except CanvasError as exc:
            # Canvas away for longer than one call's retries: poke again while the wait has time
            # left (the sensor's timeout ends it); errors no retry can fix end it now.
            if not reports.is_transient(exc):
                raise
            self.log.warning("Canvas status read failed (%s); the wait goes on", exc)
            return False
        self._last_report = report
        reports.log_status(self.log, course_id, report)
        summary = reports.finished_summary(course_id, report_type, report)
        return PokeReturnValue(is_done=True, xcom_value=summary) if summary else False

    def execute(self, context: Context) -> Any:
        course_id, report_type, report_id = validated_ids(self.course_id, self.report_type, self.report_id)
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as exc:
                raise AirflowSensorTimeout(
                    reports.timeout_message(course_id, report_type, self.timeout, self._last_report)
                ) from exc
        poked = self.poke(context)
        if poked:
            return poked.xcom_value if isinstance(poked, PokeReturnValue) else None
        defer_until_finished(self, course_id, report_type, report_id, self.poke_interval, self.timeout)

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Called when the trigger fires: validate its event and return the report summary."""
        summary = reports.summary_from_event(event, self.course_id, self.report_type)
        self.log.info("Canvas course %s: %s", self.course_id, reports.describe(summary))
        return summary
