"""
The scale test's DAG (tests/system/test_scale.py): one run over many mapped courses, each
start (an Airflow pool slot) → wait in a triggerer (deferrable, polling every 2 s) → download (a
pool slot), against one token that Canvas's throttle holds back and that may lose Canvas for a
minute. The hook rides both out within each task's try: up to 15 attempts over at most 300 s,
backing off from 0.5 s to 8 s (never sooner than ``Retry-After``), pausing when
``X-Rate-Limit-Remaining`` runs low.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

POOL = "canvas_api"
#: What a long Canvas outage needs: attempts spread over more than a minute.
RIDE_OUT = {
    "retry_limit": 15,
    "retry_max_seconds": 300,
    "retry_backoff_seconds": 0.5,
    "settings_overrides": {"retry_backoff_max_seconds": 8, "rate_limit_max_pause_seconds": 2},
}
#: A safety net only: the test counts every try and says why a task took more than one.
RETRY = {"retries": 2, "retry_delay": datetime.timedelta(seconds=2)}


@task
def courses(params: dict | None = None) -> list[int]:
    first, count = int((params or {})["first_course"]), int((params or {})["count"])
    return list(range(first, first + count))


def report_of(started: tuple[int, int]) -> dict:
    """A wait's or a download's arguments: its course and the report its start made."""
    course_id, report_id = started
    return {"course_id": course_id, "report_id": report_id}


with DAG(
    dag_id="canvas_system_scale",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    max_active_tasks=64,
    tags=["canvas", "system-test"],
    params={
        "first_course": Param(3001, type="integer", minimum=1),
        "count": Param(300, type="integer", minimum=1),
        "label": Param("scale", type="string", pattern="^[a-z0-9-]+$"),
    },
) as dag:
    course_ids = courses()
    start = StartCourseReportOperator.partial(
        task_id="start", pool=POOL, parameters={"section_ids": [1]}, hook_params=RIDE_OUT, **RETRY
    ).expand(course_id=course_ids)
    started = course_ids.zip(start.output).map(report_of)
    wait = CourseReportSensor.partial(
        task_id="wait", deferrable=True, poke_interval=2, timeout=1800, hook_params=RIDE_OUT, **RETRY
    ).expand_kwargs(started)
    download = DownloadCourseReportOperator.partial(
        task_id="download",
        pool=POOL,
        destination="{{ var.value.canvas_landing_root }}/{{ params.label }}/{{ ti.map_index }}/",
        overwrite=True,
        hook_params=RIDE_OUT,
        **RETRY,
    ).expand_kwargs(started)
    start >> wait >> download
