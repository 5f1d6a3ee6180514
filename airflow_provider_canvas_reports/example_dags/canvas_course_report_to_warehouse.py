"""
Land Canvas course pace reports in a warehouse, every day, for every course of a term.

Which courses: ``CanvasListCoursesOperator`` lists the published courses of the account (the
Variable ``canvas_account_id``, by default ``self``: the root account) in the term the run's
``enrollment_term_id`` param names, else the Variable ``canvas_enrollment_term_id``, with their
sections; a course without a section is left out (a pace report needs one). To land exactly some
courses instead, set the Variable ``canvas_courses`` (JSON:
``[{"course_id": 101, "section_ids": [1, 2]}, ...]``): it overrides the listing.

For each course (dynamic task mapping: ``.map()`` turns each listed course into the arguments of
its task): start the report → wait for it in the triggerer → download it into a landing area named
by course and date → load its rows: one per paced item (``canvas_course_pace_items``) and one per
section's or student's pace (``canvas_course_paces``), read straight from the ``.docx`` or
``course_pace.zip``. The rows go to the ``canvas_warehouse`` connection: SQLite by default, or any
common-sql connection (Postgres, Snowflake, ...) by changing ``WAREHOUSE_CONN_ID``. Re-running a
logical date replaces that course and date's rows in one transaction instead of adding more.

Starts and downloads take a slot of the Airflow pool ``canvas_api``, which bounds how many run
against Canvas at once however wide the fan-out; create it before the first run::

    airflow pools set canvas_api 8 "Canvas report starts and downloads"

Set the Variable ``canvas_landing_root`` (a local path or an ObjectStoragePath URI).
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param, Variable, task

from airflow_provider_canvas_reports.operators.course_pace import CoursePaceToSqlOperator
from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.operators.discovery import CanvasListCoursesOperator
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

WAREHOUSE_CONN_ID = "canvas_warehouse"
ITEMS_TABLE = "canvas_course_pace_items"
PLAN_TABLE = "canvas_course_paces"
#: The Airflow pool that report starts and downloads share (create it: see above).
CANVAS_POOL = "canvas_api"


@task
def check_landing_root() -> None:
    """
    Fail in seconds on a landing root that cannot be written (a typo, a missing bucket), instead
    of after every report was made and waited for.
    """
    from airflow_provider_canvas_reports.destinations import check_destination

    check_destination(Variable.get("canvas_landing_root", "/tmp/canvas-landing").rstrip("/") + "/")


@task.branch
def course_source() -> str:
    """List the term's courses, unless the ``canvas_courses`` Variable names them."""
    return "typed_courses" if Variable.get("canvas_courses", None) else "list_courses"


@task
def typed_courses() -> list[dict[str, Any]]:
    """The courses the ``canvas_courses`` Variable names (an override of the listing)."""
    # The default is passed by position: Airflow 3 names it ``default``, Airflow 2.11 ``default_var``.
    return list(Variable.get("canvas_courses", [], deserialize_json=True))


@task(trigger_rule="none_failed_min_one_success")
def courses_to_land(
    listed: Any, typed: Any, ds: str | None = None, dag_run: Any = None
) -> list[dict[str, Any]]:
    """
    The courses this run lands, each with its parameters and landing folder: the ``canvas_courses``
    override (``typed``) when set, else what ``list_courses`` found (``listed``; ``None`` when that
    task was skipped). Every course must name its sections or enrollments: checked here, before any
    report starts.
    """
    from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError
    from airflow_provider_canvas_reports.targets import CourseReport

    root = Variable.get("canvas_landing_root", "/tmp/canvas-landing").rstrip("/")
    courses = []
    for course in typed if typed is not None else listed or []:
        parameters = {key: course[key] for key in ("section_ids", "enrollment_ids") if course.get(key)}
        try:
            CourseReport.of(course["course_id"], "course_pace_docx").check_parameters(parameters)
        except ValueError as exc:
            raise CanvasInvalidInputError(f"course entry {course!r}: {exc}") from exc
        folder = f"{root}/{run_date(ds, dag_run)}/course_{course['course_id']}/"
        courses.append({"course_id": course["course_id"], "parameters": parameters, "folder": folder})
    return courses


# [START howto_discovery_map]
def start_kwargs(course: dict[str, Any]) -> dict[str, Any]:
    """One start task's arguments (``.map()`` calls it for each course as the task expands)."""
    return {"course_id": course["course_id"], "parameters": course["parameters"]}


def wait_kwargs(started: tuple[dict[str, Any], int]) -> dict[str, Any]:
    course, report_id = started
    return {"course_id": course["course_id"], "report_id": report_id}


def download_kwargs(started: tuple[dict[str, Any], int]) -> dict[str, Any]:
    course, report_id = started
    return {"course_id": course["course_id"], "report_id": report_id, "destination": course["folder"]}


# [END howto_discovery_map]


def run_date(ds: str | None, dag_run: Any) -> str:
    """The date a run lands under: ``ds``, or the day it ran when it has no logical date (Airflow 3)."""
    return ds or dag_run.run_after.date().isoformat()


with DAG(
    dag_id="canvas_course_report_to_warehouse",
    description="Canvas course pace reports of a term → landing area → pace rows in SQL tables",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": datetime.timedelta(minutes=1)},
    params={
        "enrollment_term_id": Param(
            None,
            type=["null", "integer", "string"],
            description="The term whose courses to land (else the canvas_enrollment_term_id Variable)",
        ),
    },
    tags=["canvas", "example"],
) as dag:
    # [START howto_discovery_list]
    listed = CanvasListCoursesOperator(
        task_id="list_courses",
        account_id="{{ var.value.get('canvas_account_id', 'self') }}",
        enrollment_term_id=(
            "{{ params.enrollment_term_id or var.value.get('canvas_enrollment_term_id', '') }}"
        ),
        published=True,
        with_sections=True,
    )
    # [END howto_discovery_list]
    typed = typed_courses()
    courses = courses_to_land(listed.output, typed)
    check_landing_root() >> course_source() >> [listed, typed]
    # [START howto_discovery_expand]
    start = StartCourseReportOperator.partial(task_id="start", pool=CANVAS_POOL).expand_kwargs(
        courses.map(start_kwargs)
    )
    started = courses.zip(start.output)
    wait = CourseReportSensor.partial(
        task_id="wait", deferrable=True, poke_interval=5, timeout=3600
    ).expand_kwargs(started.map(wait_kwargs))
    download = DownloadCourseReportOperator.partial(
        task_id="download", overwrite=True, pool=CANVAS_POOL
    ).expand_kwargs(started.map(download_kwargs))
    # [END howto_discovery_expand]
    load = CoursePaceToSqlOperator.partial(
        task_id="load", conn_id=WAREHOUSE_CONN_ID, items_table=ITEMS_TABLE, plan_table=PLAN_TABLE
    ).expand(uri=download.output)  # the landed file's uri, course id and report id
    start >> wait >> download >> load
