"""
Account report DAGs the tests run with ``dag.test()``: start → wait (each mode) → land. Each
scenario uses its own account so the emulator can be set per account; the destination and the
report come from params.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.account_report import (
    DownloadAccountReportOperator,
    StartAccountReportOperator,
)
from airflow_provider_canvas_reports.sensors.account_report import AccountReportSensor

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
PROVISIONING = {"users": True, "courses": True, "enrollments": True}


def start_wait_land(dag_id: str, account_id: int, mode: str, **wait_kwargs) -> DAG:
    """``mode``: ``operator`` (the start task waits, deferrable) or a sensor in ``poke``, ``reschedule``
    or ``deferrable`` mode."""
    params = {
        "destination": Param("/tmp/", type="string"),
        "report_type": Param("provisioning_csv", type="string"),
        "parameters": Param(PROVISIONING, type="object"),
    }
    with DAG(
        dag_id,
        schedule=None,
        start_date=START,
        catchup=False,
        params=params,
        render_template_as_native_obj=True,
        tags=["test"],
    ) as dag:
        start = StartAccountReportOperator(
            task_id="start",
            account_id=account_id,
            report_type="{{ params.report_type }}",
            parameters="{{ params.parameters }}",
            wait_for_completion=mode == "operator",
            deferrable=True,
            poll_interval=0.2,
            **(wait_kwargs if mode == "operator" else {}),
        )
        report_id = "{{ ti.xcom_pull(task_ids='start') }}"
        if mode == "operator":
            report_id = "{{ ti.xcom_pull(task_ids='start')['id'] }}"
            waited = start
        else:
            waited = AccountReportSensor(
                task_id="wait",
                account_id=account_id,
                report_type="{{ params.report_type }}",
                report_id=report_id,
                poke_interval=wait_kwargs.pop("poke_interval", 0.2),
                deferrable=mode == "deferrable",
                mode="reschedule" if mode == "reschedule" else "poke",
                **wait_kwargs,
            )
            start >> waited
        land = DownloadAccountReportOperator(
            task_id="download",
            account_id=account_id,
            report_type="{{ params.report_type }}",
            report_id=report_id,
            destination="{{ params.destination }}",
        )
        waited >> land
    return dag


waiting_start = start_wait_land("account_waiting_start", 11, "operator")
sensor_poke = start_wait_land("account_sensor_poke", 12, "poke")
sensor_reschedule = start_wait_land("account_sensor_reschedule", 13, "reschedule", poke_interval=1)
sensor_deferrable = start_wait_land("account_sensor_deferrable", 14, "deferrable")
timeout_deferrable = start_wait_land("account_timeout_deferrable", 15, "operator", timeout=1.0)
timeout_sensor = start_wait_land("account_timeout_sensor", 16, "deferrable", timeout=1.0)
