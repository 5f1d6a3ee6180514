"""
The scale test's DAG (tests/system/test_scale.py): one run over many mapped courses, each its own
start (an Airflow pool slot) → wait in a triggerer (deferrable, polling every 2 s) → download (a
pool slot), a mapped task group so that each course goes on as soon as its own report is ready,
against one token that Canvas's throttle holds back and that may lose Canvas for a minute. The
hook rides both out within each task's try: up to 15 attempts over at most 300 s, backing off from
0.5 s to 8 s (never sooner than ``Retry-After``), pausing when ``X-Rate-Limit-Remaining`` runs low.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param, task, task_group

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


with DAG(
    dag_id="canvas_system_scale",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    max_active_tasks=64,
    tags=["canvas", "system-test"],
    params={
        "first_course": Param(3001, type="integer", minimum=1),
        "count": Param(40, type="integer", minimum=1),
        "label": Param("scale", type="string", pattern="^[a-z0-9-]+$"),
    },
) as dag:

    @task_group
    def land(course_id: int) -> None:
        start = StartCourseReportOperator(
            task_id="start",
            course_id=course_id,
            parameters={"section_ids": [1]},
            pool=POOL,
            hook_params=RIDE_OUT,
            **RETRY,
        )
        wait = CourseReportSensor(
            task_id="wait",
            course_id=course_id,
            report_id=start.output,
            deferrable=True,
            poke_interval=2,
            timeout=1800,
            hook_params=RIDE_OUT,
            **RETRY,
        )
        download = DownloadCourseReportOperator(
            task_id="download",
            course_id=course_id,
            report_id=start.output,
            destination="{{ var.value.canvas_landing_root }}/{{ params.label }}/{{ ti.map_index }}/",
            overwrite=True,
            pool=POOL,
            hook_params=RIDE_OUT,
            **RETRY,
        )
        start >> wait >> download

    land.expand(course_id=courses())
