"""The "Canvas course" link: stored for the UI when the course is known, and no stray error when not."""

from __future__ import annotations

from airflow_provider_canvas_reports.links import CanvasCourseLink
from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.dags import canvas_scenarios as scenarios
from tests.dags.fail_fast import fail_fast
from tests.helpers import run_dag


def test_a_task_failing_validation_logs_no_missing_xcom(emulator, capfd):
    result = run_dag(
        fail_fast, run_conf={"course_id": -5, "report_type": "course_pace_docx", "conn_id": "canvas_default"}
    )

    assert result.task_states["start"] == "failed"
    assert result.task_tries["start"] == 1
    out = capfd.readouterr().out
    assert "Invalid course_id" in out
    assert "XCom not found" not in out
    assert not result.xcom("start", key=CanvasCourseLink().xcom_key)  # no link: the course is unknown
    assert emulator.requests == []


def test_link_survives_a_start_that_resumes_after_deferring(emulator):
    emulator.set_behaviour(210, ReportBehaviour(running_seconds=0.5))
    emulator.set_behaviour(211, ReportBehaviour(running_seconds=0.5))
    result = run_dag(scenarios.wait_for_completion)

    assert result.state == "success", result.task_states
    url = f"{emulator.base_url.rstrip('/')}/courses/210"
    assert result.xcom("start_deferrable", key=CanvasCourseLink().xcom_key) == url
