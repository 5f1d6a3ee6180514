"""
A start → wait DAG with Airflow retries, for errors no retry can fix: each run names its course,
report type and connection in ``run_conf``. It reads nothing at parse time.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.course_report import StartCourseReportOperator
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

with DAG(
    "scenario_fail_fast",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    default_args={"retries": 2, "retry_delay": datetime.timedelta(seconds=0)},
    params={
        "course_id": Param(301, type="integer"),
        "report_type": Param("course_pace_docx", type="string"),
        "conn_id": Param("canvas_default", type="string"),
    },
) as fail_fast:
    start = StartCourseReportOperator(
        task_id="start",
        course_id="{{ params.course_id }}",
        report_type="{{ params.report_type }}",
        parameters={"section_ids": [1]},
        canvas_conn_id="{{ params.conn_id }}",
    )
    wait = CourseReportSensor(
        task_id="wait",
        course_id="{{ params.course_id }}",
        report_id=start.output,
        deferrable=True,
        poke_interval=0.2,
    )
    start >> wait
