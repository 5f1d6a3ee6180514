"""
The system tests' loader DAG: one AccountReportToSqlOperator that loads the file named at trigger
time (a provisioning ZIP of account 60) into the installation's ``canvas_warehouse``, without
retries, so a killed try stays failed.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.account_report import AccountReportToSqlOperator

with DAG(
    dag_id="canvas_system_account_load",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["canvas", "system-test"],
    params={"uri": Param("/tmp/x.zip", type="string"), "report_id": Param(1, type="integer", minimum=1)},
) as dag:
    AccountReportToSqlOperator(
        task_id="load",
        uri="{{ params.uri }}",
        account_id=60,
        report_type="provisioning_csv",
        report_id="{{ params.report_id }}",
        logical_date="2026-03-01",
        retries=0,
    )
