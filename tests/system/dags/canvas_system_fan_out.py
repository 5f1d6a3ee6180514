"""
The cluster tests' DAG: for each course given at trigger time (dynamic task mapping), start a
report → wait for it in a triggerer (deferrable, polling every second) → download it.

Files land under ``<canvas_landing_root>/<label>/<map index>/``. The start and the download may
retry once, a second later: a retried start reattaches to the report the first try started, and a
retried download fetches the whole file again.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param, task, task_group

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

RETRY_ONCE = {"retries": 1, "retry_delay": datetime.timedelta(seconds=1)}


@task
def courses(params: dict | None = None) -> list[int]:
    return [int(course_id) for course_id in (params or {})["courses"]]


with DAG(
    dag_id="canvas_system_fan_out",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    max_active_tasks=64,
    tags=["canvas", "system-test"],
    params={
        "courses": Param([401, 402], type="array", items={"type": "integer", "minimum": 1}),
        "label": Param("fan-out", type="string", pattern="^[a-z0-9-]+$"),
    },
) as dag:

    @task_group
    def land(course_id: int) -> None:
        start = StartCourseReportOperator(
            task_id="start", course_id=course_id, parameters={"section_ids": [1]}, **RETRY_ONCE
        )
        wait = CourseReportSensor(
            task_id="wait",
            course_id=course_id,
            report_id=start.output,
            deferrable=True,
            poke_interval=1,
            timeout=900,
        )
        download = DownloadCourseReportOperator(
            task_id="download",
            course_id=course_id,
            report_id=start.output,
            destination="{{ var.value.canvas_landing_root }}/{{ params.label }}/{{ ti.map_index }}/",
            overwrite=True,
            **RETRY_ONCE,
        )
        start >> wait >> download

    land.expand(course_id=courses())
