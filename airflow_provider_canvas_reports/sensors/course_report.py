"""CourseReportSensor: waits for a Canvas course report, in the triggerer when deferrable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.sensors.report import ReportSensor
from airflow_provider_canvas_reports.targets import CourseReport

if TYPE_CHECKING:
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too


class CourseReportSensor(ReportSensor):
    """
    Wait until a Canvas course report is complete, and return its metadata (see
    :class:`~.sensors.report.ReportSensor` for how the wait behaves; Canvas cannot stop a course
    report, so a timeout leaves it running).

    .. seealso:: :doc:`/howto/course-reports`

    :param course_id: the Canvas course id, or an alternate form such as ``sis_course_id:X``. (templated)
    :param report_id: the report to wait for, e.g. ``{{ ti.xcom_pull(task_ids='start') }}``. (templated)
    :param report_type: the report type. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param deferrable: wait in the triggerer, freeing the worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    :return: the report's metadata, without ``file_url``.
    :raises CanvasReportFailedError: the report ended in ``error``.
    :raises AirflowSensorTimeout: the wait outlasted ``timeout``.
    """

    template_fields: Sequence[str] = ("course_id", "report_type", "report_id", "canvas_conn_id")

    def __init__(
        self,
        *,
        course_id: int | str | XComArg,
        report_id: int | str | XComArg,
        report_type: str | XComArg = "course_pace_docx",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.course_id = rendered(course_id)
        self.report_id = rendered(report_id)
        self.report_type = rendered(report_type)
        self.canvas_conn_id = rendered(self.canvas_conn_id)

    def target(self) -> CourseReport:
        return CourseReport.of(self.course_id, self.report_type, self.report_id)
