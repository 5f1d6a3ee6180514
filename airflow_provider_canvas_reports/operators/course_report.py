"""Operators that start a Canvas course report and land its file."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.links import CanvasCourseLink
from airflow_provider_canvas_reports.operators.report import (
    REPORT_ID_STATE_KEY,
    DownloadReportOperator,
    StartReportOperator,
)
from airflow_provider_canvas_reports.targets import CourseReport

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too

    from airflow_provider_canvas_reports.targets import ReportTarget

__all__ = ["REPORT_ID_STATE_KEY", "DownloadCourseReportOperator", "StartCourseReportOperator"]


class StartCourseReportOperator(StartReportOperator):
    """
    Start a Canvas course report and return its id (or, when waiting, its finished metadata).

    Starts exactly once, reattaches on retries and waits in each mode as described in
    :class:`~.operators.report.StartReportOperator`. ``course_pace_docx`` needs a non-empty
    ``section_ids`` or ``enrollment_ids``; without, the task fails before any request. Canvas
    cannot cancel a course report: a killed task leaves it running, and the retry reattaches to it.

    .. seealso:: :doc:`/howto/course-reports`

    :param course_id: the Canvas course id, or an alternate form such as ``sis_course_id:X``. (templated)
    :param report_type: the report type; ``course_pace_docx`` is the one Canvas offers. (templated)
    :param parameters: ``{"section_ids": [1, 2]}`` and/or ``{"enrollment_ids": [...]}``, the keys
        Canvas reads. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param wait_for_completion: wait until the report is complete and return its metadata.
    :param deferrable: wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status checks while waiting.
    :param timeout: seconds to wait for completion before failing (``None``: no limit).
    :param reattach_running_report: also on the first try, reuse a running report with the same
        parameters instead of starting another (retries always do).
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    :return: the report id; with ``wait_for_completion``, the finished report's metadata.
    :raises CanvasInvalidInputError: before any request, for a bad course id, report type or
        parameters.
    """

    template_fields: Sequence[str] = ("course_id", "report_type", "parameters", "canvas_conn_id")
    operator_extra_links = (CanvasCourseLink(),)
    ui_color = "#fce8d4"

    def __init__(
        self,
        *,
        course_id: int | str | XComArg,
        report_type: str | XComArg = "course_pace_docx",
        parameters: dict[str, Any] | XComArg | None = None,
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(parameters=rendered(parameters), canvas_conn_id=rendered(canvas_conn_id), **kwargs)
        self.course_id = rendered(course_id)
        self.report_type = rendered(report_type)

    def target(self) -> CourseReport:
        return CourseReport.of(self.course_id, self.report_type)

    def before_start(self, context: Context, target: ReportTarget) -> None:
        CanvasCourseLink.persist(context, self, f"{self.hook.settings.base_url}{target.context_path}")


class DownloadCourseReportOperator(DownloadReportOperator):
    """
    Download a complete Canvas course report's file to a local path or object storage, atomically
    (see :class:`~.operators.report.DownloadReportOperator`).

    With ``outlets=[Asset(...)]`` the asset event's ``extra`` carries ``course_id``,
    ``report_type``, ``report_id``, ``uri``, ``filename``, ``size`` and ``sha256``; an
    ``AssetAlias`` gets an event for ``Asset(<the landed file's URI>)``.

    .. seealso:: :doc:`/howto/course-reports` and :doc:`/howto/assets-and-lineage`

    :param course_id: the Canvas course id, or an alternate form. (templated)
    :param report_id: the report, e.g. ``{{ ti.xcom_pull(task_ids='start') }}``. (templated)
    :param destination: a local path or an ObjectStoragePath URI; one ending in ``/`` is a folder,
        and the attachment's name is used. (templated)
    :param report_type: the report type. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param overwrite: replace an existing file atomically (default); ``False`` fails the task if
        the file exists, before anything is downloaded.
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook`.
    :return: ``{"uri", "filename", "size", "sha256", "content_type", "report_id", "course_id",
        "report_type"}``; ``ObjectStoragePath(uri)`` reopens the file.
    :raises DestinationError: the destination cannot be written (checked before any download).
    :raises CanvasDownloadError: the file could not be downloaded whole, after retries.
    """

    template_fields: Sequence[str] = (
        "course_id",
        "report_type",
        "report_id",
        "destination",
        "canvas_conn_id",
    )

    def __init__(
        self,
        *,
        course_id: int | str | XComArg,
        report_id: int | str | XComArg,
        destination: str | XComArg,
        report_type: str | XComArg = "course_pace_docx",
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(destination=rendered(destination), canvas_conn_id=rendered(canvas_conn_id), **kwargs)
        self.course_id = rendered(course_id)
        self.report_id = rendered(report_id)
        self.report_type = rendered(report_type)

    def target(self) -> CourseReport:
        return CourseReport.of(self.course_id, self.report_type, self.report_id)
