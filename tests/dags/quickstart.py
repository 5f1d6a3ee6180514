import datetime

try:
    from airflow.sdk import DAG  # Airflow 3
except ImportError:
    from airflow import DAG  # Airflow 2.11

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

# A local folder or an object store URI ("s3://my-bucket/canvas"), from the Variable canvas_landing_root.
LANDING_ROOT = "{{ var.value.get('canvas_landing_root', '/tmp/canvas-landing') }}"

with DAG(
    "canvas_course_pace",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
):
    # course_pace_docx needs section_ids or enrollment_ids: one gives a .docx, several a .zip.
    start = StartCourseReportOperator(task_id="start", course_id=101, parameters={"section_ids": [1, 2]})
    wait = CourseReportSensor(
        task_id="wait", course_id=101, report_id=start.output, deferrable=True, poke_interval=30
    )
    # One folder per logical date: re-running a date replaces that date's file (overwrite=True).
    land = DownloadCourseReportOperator(
        task_id="land",
        course_id=101,
        report_id=start.output,
        destination=LANDING_ROOT + "/{{ ds }}/course_101/",
    )
    start >> wait >> land
