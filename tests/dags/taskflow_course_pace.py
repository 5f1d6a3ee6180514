"""
TaskFlow with the provider: a ``@task`` asks the hook for a course pace report, the sensor waits
for it in the triggerer, the download lands it, and a downstream ``@task`` reads the landed file
(``ObjectStoragePath(landed["uri"])``) with ``read_course_paces``. The docs' TaskFlow how-to
includes this file; tests/integration/docs/test_taskflow_course_pace.py runs it.
"""

# [START taskflow_course_pace]
import datetime

# airflow.sdk's DAG, ObjectStoragePath and task on Airflow 3, their 2.11 homes on 2.11.
from airflow.providers.common.compat.sdk import DAG, ObjectStoragePath, task

from airflow_provider_canvas_reports.operators.course_report import DownloadCourseReportOperator
from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

LANDING_ROOT = "{{ var.value.get('canvas_landing_root', '/tmp/canvas-landing') }}"


@task
def start_report(course_id: int, section_ids: list[int]) -> int:
    """Ask Canvas for the report through the hook; the task's return value is its id."""
    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    # One report per call, even when Canvas's answer to the start is lost on the way back.
    report = CanvasHook().start_course_report(course_id, "course_pace_docx", {"section_ids": section_ids})
    return report["id"]


@task
def pace_summary(landed: dict) -> list[dict]:
    """Read every pace in the landed .docx or course_pace.zip, wherever it landed."""
    from airflow_provider_canvas_reports.course_pace import read_course_paces

    with ObjectStoragePath(landed["uri"]).open("rb") as report_file:
        paces = read_course_paces(report_file)
    return [
        {
            "context": pace.context_name,
            "items": len(pace.items),
            "points": sum(item.points or 0 for item in pace.items),
            "end_date": pace.end_date.isoformat(),
        }
        for pace in paces
    ]


with DAG(
    "canvas_course_pace_taskflow",
    schedule="@daily",
    start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
    catchup=False,
) as dag:
    report_id = start_report(course_id=101, section_ids=[1, 2])
    wait = CourseReportSensor(
        task_id="wait", course_id=101, report_id=report_id, deferrable=True, poke_interval=30
    )
    land = DownloadCourseReportOperator(
        task_id="land",
        course_id=101,
        report_id=report_id,
        destination=LANDING_ROOT + "/{{ ds }}/course_101/",
    )
    wait >> land
    pace_summary(land.output)
# [END taskflow_course_pace]
