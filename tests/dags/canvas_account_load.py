"""
The account report loader's whole path, run by ``dag.test()``: start a report of account 21 →
wait for it (a poking sensor) → land it under ``params.destination`` → load it through
``params.conn_id``, the slice keyed by the run's logical date.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.account_report import (
    AccountReportToSqlOperator,
    DownloadAccountReportOperator,
    StartAccountReportOperator,
)
from airflow_provider_canvas_reports.sensors.account_report import AccountReportSensor

ACCOUNT_ID = 21
PARTS = {"users": True, "courses": True, "sections": True, "enrollments": True}

with DAG(
    "canvas_account_load",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    params={
        "destination": Param("/tmp/", type="string"),
        "conn_id": Param("canvas_warehouse", type="string"),
        "report_type": Param("provisioning_csv", type="string"),
        "parameters": Param(PARTS, type="object"),
    },
    render_template_as_native_obj=True,
    tags=["test"],
) as dag:
    start = StartAccountReportOperator(
        task_id="start",
        account_id=ACCOUNT_ID,
        report_type="{{ params.report_type }}",
        parameters="{{ params.parameters }}",
    )
    wait = AccountReportSensor(
        task_id="wait",
        account_id=ACCOUNT_ID,
        report_type="{{ params.report_type }}",
        report_id=start.output,
        poke_interval=0.2,
    )
    land = DownloadAccountReportOperator(
        task_id="land",
        account_id=ACCOUNT_ID,
        report_type="{{ params.report_type }}",
        report_id=start.output,
        destination="{{ params.destination }}",
    )
    load = AccountReportToSqlOperator(task_id="load", uri=land.output, conn_id="{{ params.conn_id }}")
    wait >> land
