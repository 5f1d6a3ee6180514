"""
A DAG the course pace load tests run with ``dag.test()``: one CoursePaceToSqlOperator whose file,
course, report, connection and tables come from the run's conf.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_canvas_reports.operators.course_pace import CoursePaceToSqlOperator

with DAG(
    "canvas_pace_load",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    tags=["test"],
) as dag:
    CoursePaceToSqlOperator(
        task_id="load",
        uri="{{ dag_run.conf['uri'] }}",
        course_id="{{ dag_run.conf['course_id'] }}",
        report_id="{{ dag_run.conf['report_id'] }}",
        conn_id="{{ dag_run.conf['conn_id'] }}",
        items_table="{{ dag_run.conf.get('items_table', 'canvas_course_pace_items') }}",
        plan_table="{{ dag_run.conf.get('plan_table', 'canvas_course_paces') }}",
        batch_size=7,
        retries=0,
    )
