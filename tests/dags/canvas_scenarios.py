"""
DAGs the tests run with ``dag.test()``; each scenario uses its own course so the emulator can be
set per course. They read nothing at parse time: the connection comes from the environment.
"""

from __future__ import annotations

import datetime

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_canvas_reports.operators.course_report import (
    DownloadCourseReportOperator,
    StartCourseReportOperator,
)
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
REPORT_ID = "{{ ti.xcom_pull(task_ids='start') }}"


def start_then_wait(dag_id: str, course_id: int, *, start_kwargs=None, **sensor_kwargs) -> DAG:
    with DAG(dag_id, schedule=None, start_date=START, catchup=False, tags=["test"]) as dag:
        start = StartCourseReportOperator(
            task_id="start",
            course_id=course_id,
            parameters={"section_ids": [1, 2]},
            **(start_kwargs or {}),
        )
        wait = CourseReportSensor(
            task_id="wait",
            course_id=course_id,
            report_id=REPORT_ID,
            poke_interval=sensor_kwargs.pop("poke_interval", 0.2),
            **sensor_kwargs,
        )
        start >> wait
    return dag


deferrable = start_then_wait("scenario_deferrable", 201, deferrable=True)
poke = start_then_wait("scenario_poke", 202, deferrable=False, mode="poke")
reschedule = start_then_wait("scenario_reschedule", 203, deferrable=False, mode="reschedule", poke_interval=1)
report_error = start_then_wait("scenario_report_error", 204, deferrable=True, retries=2)
timeout_deferrable = start_then_wait(
    "scenario_timeout_deferrable", 205, deferrable=True, timeout=1.5, retries=2
)
timeout_poke = start_then_wait("scenario_timeout_poke", 206, deferrable=False, timeout=1.5, retries=2)
flaky_api = start_then_wait("scenario_flaky_api", 207, deferrable=True)
flaky_api_poke = start_then_wait("scenario_flaky_api_poke", 208, deferrable=False)
retried_start = start_then_wait(
    "scenario_retried_start",
    209,
    deferrable=True,
    start_kwargs={
        "retries": 1,
        "retry_delay": datetime.timedelta(seconds=0),
        "hook_params": {"timeout": 0.5},
    },
)

with DAG(
    "scenario_wait_for_completion", schedule=None, start_date=START, catchup=False
) as wait_for_completion:
    StartCourseReportOperator(
        task_id="start_deferrable",
        course_id=210,
        parameters={"section_ids": [1]},
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.2,
    )
    StartCourseReportOperator(
        task_id="start_blocking",
        course_id=211,
        parameters={"section_ids": [1]},
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
    )

with DAG(
    "scenario_templated",
    schedule=None,
    start_date=START,
    catchup=False,
    render_template_as_native_obj=True,
    params={
        "course_id": Param(212, type="integer", minimum=1),
        "section_ids": Param([1, 2], type="array", items={"type": "integer"}),
    },
) as templated:
    t_start = StartCourseReportOperator(
        task_id="start",
        course_id="{{ params.course_id }}",
        parameters={"section_ids": "{{ params.section_ids }}"},
    )
    t_wait = CourseReportSensor(
        task_id="wait",
        course_id="{{ params.course_id }}",
        report_id=REPORT_ID,
        poke_interval=0.2,
        deferrable=True,
    )
    t_start >> t_wait

with DAG(
    "scenario_download",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"destination": Param("/tmp/", type="string"), "course_id": Param(220, type="integer")},
) as download:
    d_start = StartCourseReportOperator(
        task_id="start",
        course_id="{{ params.course_id }}",
        parameters={"section_ids": [1]},
        wait_for_completion=True,
        deferrable=True,
        poll_interval=0.1,
    )
    d_get = DownloadCourseReportOperator(
        task_id="download",
        course_id="{{ params.course_id }}",
        report_id="{{ ti.xcom_pull(task_ids='start')['id'] }}",
        destination="{{ params.destination }}",
    )
    d_start >> d_get

with DAG(
    "scenario_download_only",
    schedule=None,
    start_date=START,
    catchup=False,
    params={
        "course_id": Param(230, type="integer"),
        "report_id": Param(1, type="integer"),
        "destination": Param("/tmp/", type="string"),
    },
) as download_only:
    DownloadCourseReportOperator(
        task_id="download",
        course_id="{{ params.course_id }}",
        report_id="{{ params.report_id }}",
        destination="{{ params.destination }}",
    )

with DAG("scenario_cli_connection", schedule=None, start_date=START, catchup=False) as cli_connection:
    StartCourseReportOperator(
        task_id="round_trip",
        course_id=601,
        parameters={"section_ids": [1]},
        canvas_conn_id="canvas_cli",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.2,
    )

with DAG(
    "scenario_resume_from_state_store", schedule=None, start_date=START, catchup=False
) as resume_from_state:
    StartCourseReportOperator(
        task_id="start",
        course_id=214,
        parameters={"section_ids": [1]},
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.1,
        retries=1,
        retry_delay=datetime.timedelta(seconds=1),
        hook_params={"retry_limit": 2},
    )

# A start whose answer is lost (or refused) is settled within the one try Airflow gives by default.
settle_start = start_then_wait("scenario_settle_start", 240, deferrable=False, mode="poke")
# Reattaching adopts only a running report for exactly the same sections and enrollments.
reattach_running = start_then_wait(
    "scenario_reattach_running", 241, deferrable=True, start_kwargs={"reattach_running_report": True}
)

with DAG("scenario_empty_selection", schedule=None, start_date=START, catchup=False) as empty_selection:
    for name, parameters in (("none", None), ("empty", {}), ("no_sections", {"section_ids": []})):
        StartCourseReportOperator(
            task_id=f"start_{name}",
            course_id=242,
            parameters=parameters,
            retries=2,
            retry_delay=datetime.timedelta(seconds=0),
        )

with DAG(
    "scenario_stored_report_unreadable", schedule=None, start_date=START, catchup=False
) as stored_report_unreadable:
    # The first try's token is replaced by another teacher's before the retry: the report the
    # first try stored answers 403 to the new token, so the retry starts a report of its own.
    StartCourseReportOperator(
        task_id="start",
        course_id=243,
        parameters={"section_ids": [1]},
        canvas_conn_id="{{ 'canvas_default' if ti.try_number == 1 else 'canvas_other' }}",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.1,
        retries=1,
        retry_delay=datetime.timedelta(seconds=0),
        hook_params={"retry_limit": 1},
    )

# Canvas away for longer than one call's retries (retry_limit=2), while the wait has an hour left.
_OUTAGE = {"timeout": 3600, "hook_params": {"retry_limit": 2}}
outage_deferrable = start_then_wait("scenario_outage_deferrable", 270, deferrable=True, **_OUTAGE)
outage_poke = start_then_wait("scenario_outage_poke", 271, deferrable=False, mode="poke", **_OUTAGE)
outage_reschedule = start_then_wait(
    "scenario_outage_reschedule", 272, deferrable=False, mode="reschedule", poke_interval=1, **_OUTAGE
)
with DAG("scenario_outage_blocking", schedule=None, start_date=START, catchup=False) as outage_blocking:
    StartCourseReportOperator(
        task_id="start",
        course_id=273,
        parameters={"section_ids": [1]},
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.05,
        **_OUTAGE,
    )

# A Jinja template renders a list as a string ("[1, 2]") unless the DAG renders native objects.
with DAG(
    "scenario_templated_sections",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"section_ids": Param([1, 2], type="array")},
) as templated_sections:
    StartCourseReportOperator(
        task_id="start", course_id=291, parameters={"section_ids": "{{ params.section_ids }}"}
    )
