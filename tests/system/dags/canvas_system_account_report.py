"""
The system tests' account report DAGs: a start task that waits for its report, in the triggerer
(``canvas_system_account_deferred``) or on the worker (``canvas_system_account_blocking``), for
one account given at trigger time, with a timeout given at trigger time too.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.account_report import StartAccountReportOperator


def waiting_start(dag_id: str, deferrable: bool, timeout: float | None) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        catchup=False,
        render_template_as_native_obj=True,
        tags=["canvas", "system-test"],
        params={"account_id": Param(40, type="integer", minimum=1)},
    ) as dag:
        StartAccountReportOperator(
            task_id="start",
            account_id="{{ params.account_id }}",
            report_type="grade_export_csv",
            wait_for_completion=True,
            deferrable=deferrable,
            poll_interval=1,
            timeout=timeout,
        )
    return dag


deferred = waiting_start("canvas_system_account_deferred", deferrable=True, timeout=4)
blocking = waiting_start("canvas_system_account_blocking", deferrable=False, timeout=None)
