"""
DAGs of the institution-scale tests, for ``dag.test()``: discovery feeding dynamic task mapping,
and a round trip on a connection that holds a developer key (``canvas_key``, set by the test).
"""

from __future__ import annotations

import datetime
from typing import Any

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.operators.discovery import CanvasListCoursesOperator
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


def start_kwargs(course: dict[str, Any]) -> dict[str, Any]:
    return {"course_id": course["course_id"], "parameters": {"section_ids": course["section_ids"]}}


with DAG(
    "scenario_discovery_fan_out",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"term": Param(21, type="integer"), "filters": Param({}, type="object")},
    render_template_as_native_obj=True,
    tags=["test"],
) as discovery_fan_out:
    listed = CanvasListCoursesOperator(
        task_id="list_courses",
        account_id=1,
        enrollment_term_id="{{ params.term }}",
        filters="{{ params.filters }}",
        with_sections=True,
    )
    StartCourseReportOperator.partial(task_id="start").expand_kwargs(listed.output.map(start_kwargs))


with DAG(
    "scenario_developer_key_round_trip",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"course_id": Param(330, type="integer"), "destination": Param("/tmp/", type="string")},
    render_template_as_native_obj=True,
    tags=["test"],
) as developer_key_round_trip:
    start = StartCourseReportOperator(
        task_id="start",
        course_id="{{ params.course_id }}",
        parameters={"section_ids": [1]},
        canvas_conn_id="canvas_key",
    )
    wait = CourseReportSensor(
        task_id="wait",
        course_id="{{ params.course_id }}",
        report_id=start.output,
        deferrable=True,
        poke_interval=0.2,
        canvas_conn_id="canvas_key",
    )
    download = DownloadCourseReportOperator(
        task_id="download",
        course_id="{{ params.course_id }}",
        report_id=start.output,
        destination="{{ params.destination }}",
        canvas_conn_id="canvas_key",
    )
    start >> wait >> download
