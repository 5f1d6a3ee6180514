"""CourseReportTrigger: the course form of :class:`~.triggers.report.ReportTrigger`."""

from __future__ import annotations

from typing import Any

from airflow_provider_canvas_reports.targets import CourseReport
from airflow_provider_canvas_reports.triggers.report import ReportTrigger


class CourseReportTrigger(ReportTrigger):
    """
    Poll a Canvas course report until it is complete, failed, or time runs out: a
    :class:`~.triggers.report.ReportTrigger` built from course arguments. It serializes as a
    ``ReportTrigger``; this class also lets a triggerer resume waits deferred by earlier versions.

    .. seealso:: :doc:`/howto/course-reports`

    :param canvas_conn_id: the ``canvas`` connection.
    :param course_id: the course.
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
        super().__init__(
            canvas_conn_id,
            CourseReport.of(course_id, report_type, report_id),
            poll_interval=poll_interval,
            end_time=end_time,
            timeout=timeout,
            hook_params=hook_params,
        )
