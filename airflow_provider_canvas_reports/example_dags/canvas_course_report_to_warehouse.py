"""
Land Canvas course pace reports in a warehouse, every day.

For each course (dynamic task mapping): start the report → wait for it in the triggerer → download
it into a landing area named by course and logical date → load its rows: one per paced item
(``canvas_course_pace_items``: module, title, points, duration, due date, published) and one per
section's or student's pace (``canvas_course_paces``: dates, students, blackout dates, skipped
days), read straight from the ``.docx`` or ``course_pace.zip``. The rows go to the
``canvas_warehouse`` connection: SQLite by default, or any common-sql connection (Postgres,
Snowflake, ...) by changing ``WAREHOUSE_CONN_ID``. Re-running a logical date replaces that course
and date's rows in one transaction instead of adding more.

Set the Airflow Variable ``canvas_landing_root`` (a local path or an ObjectStoragePath URI) and
``canvas_courses`` (JSON: ``[{"course_id": 101, "section_ids": [1, 2]}, ...]``) to configure it.
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Variable, task, task_group

from airflow_provider_canvas_reports.operators.course_pace import CoursePaceToSqlOperator
from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

WAREHOUSE_CONN_ID = "canvas_warehouse"
ITEMS_TABLE = "canvas_course_pace_items"
PLAN_TABLE = "canvas_course_paces"
DEFAULT_COURSES = [{"course_id": 101, "section_ids": [1]}, {"course_id": 102, "section_ids": [1, 2, 3]}]


@task
def check_landing_root() -> None:
    """
    Fail in seconds on a landing root that cannot be written (a typo, a missing bucket), instead
    of after every report was made and waited for.
    """
    from airflow_provider_canvas_reports.destinations import check_destination

    check_destination(Variable.get("canvas_landing_root", "/tmp/canvas-landing").rstrip("/") + "/")


@task
def courses_to_land() -> list[dict[str, Any]]:
    """
    The courses (and sections) to report on, from the ``canvas_courses`` Variable. Every course must
    name its sections or enrollments: checked here, before any report starts.
    """
    from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError
    from airflow_provider_canvas_reports.targets import CourseReport

    # The default is passed by position: Airflow 3 names it ``default``, Airflow 2.11 ``default_var``.
    courses = Variable.get("canvas_courses", DEFAULT_COURSES, deserialize_json=True)
    for course in courses:
        try:
            CourseReport.of(course["course_id"], "course_pace_docx").check_parameters(parameters_for(course))
        except ValueError as exc:
            raise CanvasInvalidInputError(f"canvas_courses entry {course!r}: {exc}") from exc
    return courses


def parameters_for(course: dict[str, Any]) -> dict[str, Any]:
    """The report parameters of one ``canvas_courses`` entry."""
    return {key: course[key] for key in ("section_ids", "enrollment_ids") if course.get(key)}


def run_date(ds: str | None, dag_run: Any) -> str:
    """The date a run lands under: ``ds``, or the day it ran when it has no logical date (Airflow 3)."""
    return ds or dag_run.run_after.date().isoformat()


@task
def landing_folder(course: dict[str, Any], ds: str | None = None, dag_run: Any = None) -> str:
    root = Variable.get("canvas_landing_root", "/tmp/canvas-landing").rstrip("/")
    return f"{root}/{run_date(ds, dag_run)}/course_{course['course_id']}/"


@task
def course_id_of(course: dict[str, Any]) -> int | str:
    return course["course_id"]


@task
def parameters_of(course: dict[str, Any]) -> dict[str, Any]:
    return parameters_for(course)


with DAG(
    dag_id="canvas_course_report_to_warehouse",
    description="Canvas course pace reports → landing area → pace rows in SQL tables",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": datetime.timedelta(minutes=1)},
    tags=["canvas", "example"],
) as dag:

    @task_group
    def land_course(course: dict[str, Any]) -> None:
        course_id = course_id_of(course)
        start = StartCourseReportOperator(
            task_id="start", course_id=course_id, parameters=parameters_of(course)
        )
        wait = CourseReportSensor(
            task_id="wait",
            course_id=course_id,
            report_id=start.output,
            deferrable=True,
            poke_interval=5,
            timeout=3600,
        )
        download = DownloadCourseReportOperator(
            task_id="download",
            course_id=course_id,
            report_id=start.output,
            destination=landing_folder(course),
            overwrite=True,
        )
        load = CoursePaceToSqlOperator(
            task_id="load",
            uri=download.output,  # the landed file's uri, course id and report id
            conn_id=WAREHOUSE_CONN_ID,
            items_table=ITEMS_TABLE,
            plan_table=PLAN_TABLE,
        )
        start >> wait >> download >> load

    courses = courses_to_land()
    check_landing_root() >> courses
    land_course.expand(course=courses)
