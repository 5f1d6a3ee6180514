"""A download that must not replace an existing file (``overwrite=False``). It reads nothing at parse time."""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.course_report import DownloadCourseReportOperator

with DAG(
    "scenario_download_keep_existing",
    schedule=None,
    start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
    params={
        "course_id": Param(237, type="integer"),
        "report_id": Param(1, type="integer"),
        "destination": Param("/tmp/", type="string"),
    },
) as keep_existing:
    DownloadCourseReportOperator(
        task_id="download",
        course_id="{{ params.course_id }}",
        report_id="{{ params.report_id }}",
        destination="{{ params.destination }}",
        overwrite=False,
    )
