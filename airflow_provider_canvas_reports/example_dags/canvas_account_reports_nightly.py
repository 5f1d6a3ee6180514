"""
Every night, land Canvas's provisioning export (users, courses and enrollments of the current
term) and load it into the warehouse.

The start task asks Canvas for one ``provisioning_csv`` report (a ZIP of ``users.csv``,
``courses.csv`` and ``enrollments.csv``), the sensor waits for it in the triggerer (Canvas runs
one account report at a time per root account, so it may queue behind others; a wait that times
out aborts the report so it does not hold the queue), and the download lands the ZIP under
``canvas_landing_root``/provisioning/<date>/, replaced atomically when a date is re-run. The load
task streams each CSV into its own table of the ``canvas_warehouse`` connection (SQLite,
PostgreSQL or any common-sql database): ``canvas_provisioning_users``,
``canvas_provisioning_courses`` and ``canvas_provisioning_enrollments``, every row keyed by the
account and the run's logical date. Re-running a date replaces that date's rows, in one
transaction, and leaves the other dates alone.

The account comes from the ``canvas_account_id`` Variable (default ``self``, the domain's root
account) and the term from the ``term`` param or the ``canvas_enrollment_term_id`` Variable (empty:
every term). The token must belong to an account admin (``read_reports`` on the account).
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_canvas_reports.operators.account_report import (
    AccountReportToSqlOperator,
    DownloadAccountReportOperator,
    StartAccountReportOperator,
)
from airflow_provider_canvas_reports.sensors.account_report import AccountReportSensor

ACCOUNT = "{{ var.value.get('canvas_account_id', 'self') }}"
LANDING_ROOT = "{{ var.value.get('canvas_landing_root', '/tmp/canvas-landing') }}"
TERM = "{{ params.term or var.value.get('canvas_enrollment_term_id', '') }}"
WAREHOUSE_CONN_ID = "canvas_warehouse"


@task
def check_landing_root(root: str) -> None:
    """Fail in seconds on a landing root that cannot be written, before the report is made."""
    from airflow_provider_canvas_reports.destinations import check_destination

    check_destination(root.rstrip("/") + "/")


@task
def provisioning_parameters(term: str | int | None) -> dict:
    """The parts to export, for one term when one is named (a Canvas term id or ``sis_term_id:X``)."""
    parameters: dict = {"users": True, "courses": True, "enrollments": True}
    if term not in (None, ""):
        parameters["enrollment_term_id"] = term
    return parameters


with DAG(
    dag_id="canvas_account_reports_nightly",
    description="Nightly provisioning export (users, courses, enrollments) into the warehouse",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    render_template_as_native_obj=True,
    max_active_runs=1,  # one provisioning export at a time: Canvas would queue a second anyway
    tags=["canvas", "example"],
    params={
        "term": Param("", type=["string", "integer"], description="Canvas term id (empty: the Variable)")
    },
) as dag:
    checked = check_landing_root(LANDING_ROOT)
    parameters = provisioning_parameters(TERM)
    start = StartAccountReportOperator(
        task_id="start_provisioning",
        account_id=ACCOUNT,
        report_type="provisioning_csv",
        parameters=parameters,
        retries=2,
    )
    wait = AccountReportSensor(
        task_id="wait_for_provisioning",
        account_id=ACCOUNT,
        report_type="provisioning_csv",
        report_id=start.output,
        deferrable=True,
        poke_interval=60,
        timeout=4 * 3600,  # then the report is aborted, freeing the account's report queue
    )
    land = DownloadAccountReportOperator(
        task_id="land_provisioning",
        account_id=ACCOUNT,
        report_type="provisioning_csv",
        report_id=start.output,
        destination=LANDING_ROOT + "/provisioning/{{ ds }}/",
        retries=2,
    )
    # [START load_provisioning]
    load = AccountReportToSqlOperator(
        task_id="load_provisioning",
        uri=land.output,  # the landed ZIP, with its account, report type and report id
        conn_id=WAREHOUSE_CONN_ID,
        retries=2,
    )
    # [END load_provisioning]
    checked >> start
    wait >> land
