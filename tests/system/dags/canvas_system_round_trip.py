"""
The system tests' own DAG: start → wait (deferrable, polling every second) → download, for one
course given at trigger time, so each test can hold, fault or crash its own course in the emulator.

The start task may retry once, a second later: a retry must reattach to the report the first try
started instead of starting another. ``canvas_conn_id`` picks the connection (e.g. one made in the UI).
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

REPORT_ID = "{{ ti.xcom_pull(task_ids='start') }}"

with DAG(
    dag_id="canvas_system_round_trip",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["canvas", "system-test"],
    params={
        "course_id": Param(301, type="integer", minimum=1),
        "canvas_conn_id": Param("canvas_default", type="string"),
    },
) as dag:
    start = StartCourseReportOperator(
        task_id="start",
        course_id="{{ params.course_id }}",
        parameters={"section_ids": [1]},
        canvas_conn_id="{{ params.canvas_conn_id }}",
        retries=1,
        retry_delay=datetime.timedelta(seconds=1),
    )
    wait = CourseReportSensor(
        task_id="wait",
        course_id="{{ params.course_id }}",
        report_id=REPORT_ID,
        canvas_conn_id="{{ params.canvas_conn_id }}",
        deferrable=True,
        poke_interval=1,
        timeout=600,
    )
    download = DownloadCourseReportOperator(
        task_id="download",
        course_id="{{ params.course_id }}",
        report_id=REPORT_ID,
        canvas_conn_id="{{ params.canvas_conn_id }}",
        destination="{{ var.value.canvas_landing_root }}/system/course_{{ params.course_id }}/",
        overwrite=True,
    )
    start >> wait >> download
