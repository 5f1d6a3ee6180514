"""AccountReportSensor: waits for a Canvas account report, in the triggerer when deferrable."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.sensors.report import ReportSensor
from airflow_provider_canvas_reports.targets import AccountReport

if TYPE_CHECKING:
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too


class AccountReportSensor(ReportSensor):
    """
    Wait until a Canvas account report is complete, and return its metadata (see
    :class:`~.sensors.report.ReportSensor` for how the wait behaves). A failed report's error
    carries Canvas's reason (``extra_text``); a timeout aborts the report (or deletes it while
    still queued) unless ``stop_on_timeout=False``.

    .. seealso:: :doc:`/howto/account-reports`

    :param account_id: the Canvas account id, ``self``, or ``sis_account_id:X``. (templated)
    :param report_type: the report type, e.g. ``provisioning_csv``. (templated)
    :param report_id: the report to wait for, e.g. ``{{ ti.xcom_pull(task_ids='start') }}``. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param deferrable: wait in the triggerer, freeing the worker slot. Defaults to
        ``[operators] default_deferrable``.
    :param stop_on_timeout: abort (or delete) the report when the wait times out.
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    :return: the report's metadata, without ``file_url``.
    :raises CanvasReportFailedError: the report ended in ``error``, ``aborted`` or ``deleted``, with
        Canvas's reason.
    :raises AirflowSensorTimeout: the wait outlasted ``timeout`` (the report was stopped).
    """

    template_fields: Sequence[str] = ("account_id", "report_type", "report_id", "canvas_conn_id")

    def __init__(
        self,
        *,
        account_id: int | str | XComArg,
        report_type: str | XComArg,
        report_id: int | str | XComArg,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.account_id = rendered(account_id)
        self.report_type = rendered(report_type)
        self.report_id = rendered(report_id)
        self.canvas_conn_id = rendered(self.canvas_conn_id)

    def target(self) -> AccountReport:
        return AccountReport.of(self.account_id, self.report_type, self.report_id)
