"""
What the operators and the sensor share: id checks that fail the task, and handing a wait to the
trigger.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow_provider_canvas_reports import reports
from airflow_provider_canvas_reports.ids import validate_course_id, validate_report_id, validate_report_type

_NOT_GIVEN: Any = object()


def validated_ids(course_id: object, report_type: object, report_id: object = _NOT_GIVEN) -> tuple[Any, ...]:
    """Check ids before any request; bad input fails the task at once (no retry can fix it)."""
    ids: tuple[Any, ...] = (validate_course_id(course_id), validate_report_type(report_type))
    if report_id is not _NOT_GIVEN:
        ids += (validate_report_id(report_id),)
    return ids


def defer_until_finished(
    task: Any, course_id: Any, report_type: str, report_id: int, poll_interval: float, timeout: float | None
) -> None:
    """
    Hand the wait to :class:`~.triggers.course_report.CourseReportTrigger` (raises ``TaskDeferred``).

    ``task`` is a sensor or operator with ``canvas_conn_id``, ``hook_params`` and an
    ``execute_complete`` method. The trigger ends the wait itself at ``timeout``; the deferral's own
    timeout is only a backstop in case the triggerer cannot run it.
    """
    from airflow_provider_canvas_reports.triggers.course_report import CourseReportTrigger

    task.defer(
        trigger=CourseReportTrigger(
            canvas_conn_id=task.canvas_conn_id,
            course_id=course_id,
            report_type=report_type,
            report_id=report_id,
            poll_interval=poll_interval,
            end_time=reports.deadline(timeout),
            timeout=timeout,
            hook_params=task.hook_params,
        ),
        method_name="execute_complete",
        timeout=None if timeout is None else timedelta(seconds=timeout + max(2 * poll_interval, 60.0)),
    )
