"""Parse-cost benchmark: start, wait (sensor, deferrable) and download with this provider's classes."""

from __future__ import annotations

import datetime

from airflow.sdk import DAG

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

with DAG(
    dag_id="bench_canvas_parse",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
) as dag:
    start = StartCourseReportOperator(
        task_id="start", course_id=101, report_type="course_pace_docx", parameters={"section_ids": [1]}
    )
    start_and_wait = StartCourseReportOperator(
        task_id="start_and_wait",
        course_id=101,
        report_type="course_pace_docx",
        parameters={"section_ids": [1]},
        wait_for_completion=True,
        deferrable=True,
    )
    wait = CourseReportSensor(
        task_id="wait",
        course_id=101,
        report_id="{{ ti.xcom_pull(task_ids='start') }}",
        deferrable=True,
        poke_interval=5,
        timeout=3600,
    )
    download = DownloadCourseReportOperator(
        task_id="download",
        course_id=101,
        report_id="{{ ti.xcom_pull(task_ids='start') }}",
        destination="/tmp/canvas-landing/",
    )
    start >> wait >> download
    start_and_wait >> download
