"""
Pull one Canvas course pace report on demand, from the Airflow UI's trigger form.

The form asks for the course, the report type and the sections or enrollments (Canvas needs at
least one of those: one gives a .docx, several a .zip), validates them, and the run starts the
report, waits for it in the triggerer and downloads it to ``canvas_landing_root``/on_demand.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

LANDING_ROOT = "{{ var.value.get('canvas_landing_root', '/tmp/canvas-landing') }}"


@task
def check_landing_root(root: str) -> None:
    """Fail in seconds on a landing root that cannot be written, before the report is made."""
    from airflow_provider_canvas_reports.destinations import check_destination

    check_destination(root.rstrip("/") + "/")


# A run triggered through the REST API or the CLI may have no logical date in Airflow 3.
RUN_STAMP = "{{ (dag_run.logical_date or dag_run.run_after).strftime('%Y%m%dT%H%M%S') }}"

with DAG(
    dag_id="canvas_course_report_on_demand",
    description="Start, wait for and download one Canvas course report",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["canvas", "example"],
    # Canvas needs at least one section or enrollment; with both lists empty the start task fails
    # at once, before any request to Canvas, saying so.
    params={
        "course_id": Param(
            101, type="integer", minimum=1, title="Course id", description="The Canvas course id (a number)."
        ),
        "report_type": Param(
            "course_pace_docx", type="string", enum=["course_pace_docx"], title="Report type"
        ),
        "section_ids": Param(
            [1],
            type="array",
            items={"type": "integer", "minimum": 1},
            title="Section ids",
            description="One section gives a .docx, several a .zip. Leave empty to use enrollments.",
        ),
        "enrollment_ids": Param(
            [],
            type="array",
            items={"type": "integer", "minimum": 1},
            title="Enrollment ids",
            description="Student enrollments to report on, instead of or besides sections.",
        ),
    },
) as dag:
    start = StartCourseReportOperator(
        task_id="start",
        course_id="{{ params.course_id }}",
        report_type="{{ params.report_type }}",
        parameters={
            "section_ids": "{{ params.section_ids }}",
            "enrollment_ids": "{{ params.enrollment_ids }}",
        },
    )
    wait = CourseReportSensor(
        task_id="wait",
        course_id="{{ params.course_id }}",
        report_type="{{ params.report_type }}",
        report_id="{{ ti.xcom_pull(task_ids='start') }}",
        deferrable=True,
        poke_interval=5,
        timeout=3600,
    )
    download = DownloadCourseReportOperator(
        task_id="download",
        course_id="{{ params.course_id }}",
        report_type="{{ params.report_type }}",
        report_id="{{ ti.xcom_pull(task_ids='start') }}",
        destination=LANDING_ROOT + "/on_demand/course_{{ params.course_id }}/" + RUN_STAMP + "/",
    )
    check_landing_root(LANDING_ROOT) >> start
    start >> wait >> download
