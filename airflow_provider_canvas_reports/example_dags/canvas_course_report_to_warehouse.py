"""
Land Canvas course pace reports in a warehouse, every day.

For each course (dynamic task mapping): start the report → wait for it in the triggerer → download
it into a landing area named by course and logical date → unpack a ZIP → record one manifest row
per file in a SQL table through common-sql. The manifest goes to the ``canvas_warehouse``
connection: SQLite by default, or any DbApiHook connection (Postgres, Snowflake, ...) by changing
``WAREHOUSE_CONN_ID``. Re-running a logical date replaces that date's rows instead of adding more.

Set the Airflow Variable ``canvas_landing_root`` (a local path or an ObjectStoragePath URI) and
``canvas_courses`` (JSON: ``[{"course_id": 101, "section_ids": [1, 2]}, ...]``) to configure it.
"""

from __future__ import annotations

import datetime
import hashlib
import zipfile
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Variable, task, task_group

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

WAREHOUSE_CONN_ID = "canvas_warehouse"
MANIFEST_TABLE = "canvas_report_manifest"
DEFAULT_COURSES = [{"course_id": 101, "section_ids": [1]}, {"course_id": 102, "section_ids": [1, 2, 3]}]


@task
def courses_to_land() -> list[dict[str, Any]]:
    """
    The courses (and sections) to report on, from the ``canvas_courses`` Variable. Every course must
    name its sections or enrollments: checked here, before any report starts.
    """
    from airflow.providers.common.compat.sdk import AirflowFailException

    from airflow_provider_canvas_reports.api import report_parameters

    # The default is passed by position: Airflow 3 names it ``default``, Airflow 2.11 ``default_var``.
    courses = Variable.get("canvas_courses", DEFAULT_COURSES, deserialize_json=True)
    for course in courses:
        try:
            report_parameters("course_pace_docx", parameters_for(course))
        except ValueError as exc:
            raise AirflowFailException(f"canvas_courses entry {course!r}: {exc}") from exc
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
def record_manifest(
    landed: dict[str, Any], ds: str | None = None, dag_run: Any = None
) -> list[dict[str, Any]]:
    """Unpack a ZIP next to itself and write one manifest row per file, replacing this date's rows."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath, timezone
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    landed_at = timezone.utcnow().isoformat()
    base = {
        "logical_date": run_date(ds, dag_run),
        "course_id": landed["course_id"],
        "report_id": landed["report_id"],
        "landed_at": landed_at,
    }
    path = ObjectStoragePath(landed["uri"])
    rows = []
    if landed["filename"].endswith(".zip"):
        folder = path.parent / path.stem
        folder.mkdir(parents=True, exist_ok=True)
        with path.open("rb") as handle, zipfile.ZipFile(handle) as archive:
            for member in archive.infolist():
                if member.is_dir() or "/" in member.filename or member.filename.startswith("."):
                    continue
                data = archive.read(member)
                (folder / member.filename).write_bytes(data)
                rows.append(
                    {
                        **base,
                        "filename": f"{path.stem}/{member.filename}",
                        "size": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(),
                    }
                )
    else:
        rows.append(
            {**base, "filename": landed["filename"], "size": landed["size"], "sha256": landed["sha256"]}
        )

    hook = DbApiHook.get_hook(WAREHOUSE_CONN_ID)
    hook.run(
        f"CREATE TABLE IF NOT EXISTS {MANIFEST_TABLE} (logical_date VARCHAR(32), course_id VARCHAR(64), "
        "report_id BIGINT, filename VARCHAR(512), size BIGINT, sha256 CHAR(64), landed_at VARCHAR(40))"
    )
    hook.run(
        f"DELETE FROM {MANIFEST_TABLE} "
        f"WHERE logical_date = {hook.placeholder} AND course_id = {hook.placeholder}",
        parameters=(run_date(ds, dag_run), str(landed["course_id"])),
    )
    fields = ["logical_date", "course_id", "report_id", "filename", "size", "sha256", "landed_at"]
    hook.insert_rows(
        MANIFEST_TABLE,
        [[str(r[f]) if f == "course_id" else r[f] for f in fields] for r in rows],
        target_fields=fields,
    )
    return rows


@task
def course_id_of(course: dict[str, Any]) -> int | str:
    return course["course_id"]


@task
def parameters_of(course: dict[str, Any]) -> dict[str, Any]:
    return parameters_for(course)


with DAG(
    dag_id="canvas_course_report_to_warehouse",
    description="Canvas course pace reports → landing area → manifest table",
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
        start >> wait >> download
        record_manifest(download.output)

    land_course.expand(course=courses_to_land())
