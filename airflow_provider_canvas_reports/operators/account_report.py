"""Operators that start a Canvas account report and land its file (CSV, or a ZIP of CSVs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.operators.report import DownloadReportOperator, StartReportOperator
from airflow_provider_canvas_reports.targets import AccountReport

if TYPE_CHECKING:
    from airflow.sdk import XComArg  # what `task.output` is: templated arguments take one too


class StartAccountReportOperator(StartReportOperator):
    """
    Start a Canvas account report (``provisioning_csv``, ``grade_export_csv``, ...) and return its
    id, or, with ``wait_for_completion``, its finished metadata.

    Starts exactly once, reattaches on retries and waits in each mode as described in
    :class:`~.operators.report.StartReportOperator`. The parameters are checked before any request:
    flags are sent as Canvas reads them, ``skip_message`` defaults to true (no e-mail per run), and
    a ``provisioning_csv``/``sis_export_csv`` without any true part fails at once. A type the
    account does not offer fails with the list of those it does. A wait that times out, a task
    killed while it waits, or an ``execution_timeout`` aborts the report (a queued one is deleted),
    so it does not hold the account's one report queue. A failed report's error carries Canvas's
    reason.

    .. seealso:: :doc:`/howto/account-reports`

    :param account_id: the Canvas account id, ``self``, or ``sis_account_id:X``. (templated)
    :param report_type: the report type, e.g. ``provisioning_csv``. (templated)
    :param parameters: the report's parameters, e.g. ``{"users": True, "enrollment_term_id": 12}``.
        (templated)
    :param wait_for_completion: wait until the report is complete and return its metadata.
    :param deferrable: wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poll_interval: seconds between status checks while waiting.
    :param timeout: seconds to wait for completion before failing and aborting (``None``: no limit).
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param reattach_running_report: also on the first try, reuse a running report with the same
        parameters instead of starting another (retries always do).
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook` (e.g. ``retry_limit``).
    """

    template_fields: Sequence[str] = ("account_id", "report_type", "parameters", "canvas_conn_id")
    ui_color = "#f6e4d4"

    def __init__(
        self,
        *,
        account_id: int | str | XComArg,
        report_type: str | XComArg,
        parameters: dict[str, Any] | XComArg | None = None,
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(parameters=rendered(parameters), canvas_conn_id=rendered(canvas_conn_id), **kwargs)
        self.account_id = rendered(account_id)
        self.report_type = rendered(report_type)

    def target(self) -> AccountReport:
        return AccountReport.of(self.account_id, self.report_type)


class DownloadAccountReportOperator(DownloadReportOperator):
    """
    Download a complete Canvas account report's file (one ``.csv``, or a ``.zip`` with one CSV per
    part) to a local path or object storage, atomically (see
    :class:`~.operators.report.DownloadReportOperator`).

    .. seealso:: :doc:`/howto/account-reports` and :doc:`/howto/assets-and-lineage`

    :param account_id: the Canvas account id, ``self``, or ``sis_account_id:X``. (templated)
    :param report_type: the report type, e.g. ``provisioning_csv``. (templated)
    :param report_id: the report, e.g. ``{{ ti.xcom_pull(task_ids='start') }}``. (templated)
    :param destination: a local path or an ObjectStoragePath URI; one ending in ``/`` is a folder,
        and the attachment's name is used. (templated)
    :param overwrite: replace an existing file atomically (default); ``False`` fails the task if
        the file exists, before anything is downloaded.
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook`.
    :return: ``{"uri", "filename", "size", "sha256", "content_type", "report_id", "account_id",
        "report_type"}``; ``ObjectStoragePath(uri)`` reopens the file.
    """

    template_fields: Sequence[str] = (
        "account_id",
        "report_type",
        "report_id",
        "destination",
        "canvas_conn_id",
    )

    def __init__(
        self,
        *,
        account_id: int | str | XComArg,
        report_type: str | XComArg,
        report_id: int | str | XComArg,
        destination: str | XComArg,
        overwrite: bool = True,
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            destination=rendered(destination),
            canvas_conn_id=rendered(canvas_conn_id),
            overwrite=overwrite,
            **kwargs,
        )
        self.account_id = rendered(account_id)
        self.report_type = rendered(report_type)
        self.report_id = rendered(report_id)

    def target(self) -> AccountReport:
        return AccountReport.of(self.account_id, self.report_type, self.report_id)
