"""
DAGs for the data-stack tests: downloads that must fail without retrying, an asset producer and
its consumer, and an asset alias for URIs known only at run time. Airflow 3 assets; on 2.11 the
same DAGs use Datasets (through ``airflow.providers.common.compat.assets``).
"""

from __future__ import annotations

import datetime
import hashlib

from airflow.providers.common.compat.assets import Asset, AssetAlias
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
#: What the producer lands: one logical asset, whatever the file is called on a given day.
COURSE_PACE = Asset("file:///canvas-landing/course_pace")
LANDED_FILES = AssetAlias("canvas_landed_files")

PARAMS = {
    "course_id": Param(240, type="integer"),
    "report_id": Param(1, type="integer"),
    "destination": Param("/tmp/", type="string"),
}


def download(**kwargs) -> DownloadCourseReportOperator:
    return DownloadCourseReportOperator(
        task_id="download",
        course_id="{{ params.course_id }}",
        report_id="{{ params.report_id }}",
        destination="{{ params.destination }}",
        **kwargs,
    )


with DAG("stack_download_retried", schedule=None, start_date=START, catchup=False, params=PARAMS) as retried:
    download(retries=2, retry_delay=datetime.timedelta(seconds=0))

with DAG(
    "stack_download_s3", schedule=None, start_date=START, catchup=False, params=PARAMS
) as download_only_s3:
    download(hook_params={"retry_limit": 3})

with DAG(
    "stack_download_s3_keep_existing", schedule=None, start_date=START, catchup=False, params=PARAMS
) as keep_existing_s3:
    download(hook_params={"retry_limit": 3}, overwrite=False)

with DAG("stack_asset_producer", schedule=None, start_date=START, catchup=False, params=PARAMS) as producer:
    download(outlets=[COURSE_PACE])

with DAG("stack_alias_producer", schedule=None, start_date=START, catchup=False, params=PARAMS) as alias:
    download(outlets=[LANDED_FILES])

with DAG("stack_asset_consumer", schedule=[COURSE_PACE], start_date=START, catchup=False) as consumer:

    @task(inlets=[COURSE_PACE])
    def read_landed_file(inlet_events=None) -> dict | None:
        """Open the file the latest asset event points at and hash it (None: nothing landed yet)."""
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        events = inlet_events[COURSE_PACE]
        if not events:
            return None
        extra = dict(events[-1].extra)
        data = ObjectStoragePath(extra["uri"]).read_bytes()
        return {**extra, "read_sha256": hashlib.sha256(data).hexdigest()}

    read_landed_file()

with DAG(
    "stack_start_and_land", schedule=None, start_date=START, catchup=False, params=PARAMS
) as start_and_land:
    started = StartCourseReportOperator(
        task_id="start",
        course_id="{{ params.course_id }}",
        parameters={"section_ids": [1, 2]},
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.1,
    )
    landed = DownloadCourseReportOperator(
        task_id="download",
        course_id="{{ params.course_id }}",
        report_id="{{ ti.xcom_pull(task_ids='start')['id'] }}",
        destination="{{ params.destination }}",
    )
    started >> landed
