"""Parse-cost benchmark: the same DAG shape with ``airflow.sdk`` classes only (operators defined inline)."""

from __future__ import annotations

import datetime
from typing import Any

from airflow.sdk import DAG, BaseOperator, BaseSensorOperator


class StartReport(BaseOperator):
    template_fields = ("course_id", "report_type", "parameters")

    def __init__(self, *, course_id: Any, report_type: str, parameters: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.course_id, self.report_type, self.parameters = course_id, report_type, parameters

    def execute(self, context: Any) -> Any:
        return None


class WaitReport(BaseSensorOperator):
    template_fields = ("course_id", "report_id")

    def __init__(self, *, course_id: Any, report_id: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.course_id, self.report_id = course_id, report_id

    def poke(self, context: Any) -> bool:
        return True


class DownloadReport(BaseOperator):
    template_fields = ("course_id", "report_id", "destination")

    def __init__(self, *, course_id: Any, report_id: Any, destination: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.course_id, self.report_id, self.destination = course_id, report_id, destination

    def execute(self, context: Any) -> Any:
        return None


with DAG(
    dag_id="bench_sdk_parse",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
) as dag:
    start = StartReport(
        task_id="start", course_id=101, report_type="course_pace_docx", parameters={"section_ids": [1]}
    )
    start_and_wait = StartReport(
        task_id="start_and_wait",
        course_id=101,
        report_type="course_pace_docx",
        parameters={"section_ids": [1]},
    )
    wait = WaitReport(
        task_id="wait",
        course_id=101,
        report_id="{{ ti.xcom_pull(task_ids='start') }}",
        mode="reschedule",
        poke_interval=5,
        timeout=3600,
    )
    download = DownloadReport(
        task_id="download",
        course_id=101,
        report_id="{{ ti.xcom_pull(task_ids='start') }}",
        destination="/tmp/canvas-landing/",
    )
    start >> wait >> download
    start_and_wait >> download
