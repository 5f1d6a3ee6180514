"""What the operators and the sensors share: handing a wait to the trigger."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports import reports

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.targets import ReportTarget


def defer_until_finished(
    task: Any, target: ReportTarget, poll_interval: float, timeout: float | None
) -> None:
    """
    Hand the wait to :class:`~.triggers.report.ReportTrigger` (raises ``TaskDeferred``).

    ``task`` is a sensor or operator with ``canvas_conn_id``, ``hook_params`` and an
    ``execute_complete(context, event, report_id)`` method. The trigger ends the wait itself at
    ``timeout`` (an epoch deadline, so it holds across triggerer restarts); the deferral's own
    timeout is only a backstop in case the triggerer cannot run it.
    """
    from airflow_provider_canvas_reports.triggers.report import ReportTrigger

    task.defer(
        trigger=ReportTrigger(
            canvas_conn_id=task.canvas_conn_id,
            target=target,
            poll_interval=poll_interval,
            end_time=reports.deadline(timeout),
            timeout=timeout,
            hook_params=task.hook_params,
        ),
        method_name="execute_complete",
        kwargs={"report_id": target.report_id},
        timeout=None if timeout is None else timedelta(seconds=timeout + max(2 * poll_interval, 60.0)),
    )
