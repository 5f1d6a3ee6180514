"""Start → wait DAGs run with ``dag.test()`` against the emulator."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS

from airflow_provider_canvas_reports.links import CanvasCourseLink
from airflow_provider_canvas_reports.operators.course_report import StartCourseReportOperator
from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour
from tests.dags import canvas_scenarios as scenarios
from tests.helpers import AIRFLOW_V_3, finish_held_reports, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

SUMMARY_KEYS = {
    "id",
    "status",
    "report_type",
    "course_id",
    "parameters",
    "created_at",
    "started_at",
    "ended_at",
}


def assert_complete_summary(summary, course_id):
    assert summary["status"] == "complete"
    assert summary["course_id"] == course_id
    assert SUMMARY_KEYS <= set(summary)
    assert summary["attachment"]["filename"] == "course_pace.zip"
    assert summary["attachment"]["size"] > 0
    assert summary["attachment"]["content_type"] == "application/zip"
    assert "file_url" not in summary
    assert "verifier" not in repr(summary)


@pytest.mark.parametrize(
    ("dag", "course_id"),
    [(scenarios.deferrable, 201), (scenarios.poke, 202), (scenarios.reschedule, 203)],
    ids=["deferrable", "poke", "reschedule"],
)
def test_start_then_wait_succeeds_and_hands_on_the_report(emulator, dag, course_id):
    emulator.set_behaviour(course_id, ReportBehaviour(running_seconds=0.6))
    result = run_dag(dag)

    assert result.state == "success", result.task_states
    report_id = result.xcom("start")
    assert isinstance(report_id, int)
    summary = result.xcom("wait")
    assert summary["id"] == report_id
    assert_complete_summary(summary, course_id)
    assert emulator.post_count(course_id) == 1


def test_deferrable_sensor_polls_through_the_trigger(emulator):
    emulator.set_behaviour(201, ReportBehaviour(hold=True))
    with finish_held_reports(emulator, 201, after_gets=3):
        result = run_dag(scenarios.deferrable)
    assert result.state == "success"
    gets = [r for r in emulator.requests if r.method == "GET" and r.path.startswith("/api/v1/courses/201/")]
    assert len(gets) >= 3  # the sensor's first check, then the trigger's polls


def test_wait_for_completion_returns_the_finished_report(emulator):
    for course_id in (210, 211):
        emulator.set_behaviour(course_id, ReportBehaviour(running_seconds=0.5))
    result = run_dag(scenarios.wait_for_completion)
    assert result.state == "success", result.task_states
    for task_id, course_id in (("start_deferrable", 210), ("start_blocking", 211)):
        summary = result.xcom(task_id)
        assert summary["status"] == "complete"
        assert summary["course_id"] == course_id
        assert "file_url" not in summary
        assert emulator.post_count(course_id) == 1


def test_sensor_fails_fast_when_report_errors(emulator):
    emulator.set_behaviour(204, ReportBehaviour(running_seconds=0.3, outcome="error"))
    result = run_dag(scenarios.report_error)
    assert result.state == "failed"
    assert result.task_states["wait"] == "failed"
    assert result.task_tries["wait"] == 1  # retries=2, but a failed report is not retried


def test_sensor_failure_message_names_the_report(emulator, capfd):
    emulator.set_behaviour(204, ReportBehaviour(running_seconds=0.2, outcome="error"))
    run_dag(scenarios.report_error)
    assert "report 1 for course 204 ended in 'error'" in capfd.readouterr().out


@pytest.mark.parametrize(
    "dag", [scenarios.timeout_deferrable, scenarios.timeout_poke], ids=["deferrable", "poke"]
)
def test_sensor_times_out_when_the_report_keeps_running(emulator, dag, capfd):
    course_id = 205 if dag is scenarios.timeout_deferrable else 206
    emulator.set_behaviour(course_id, ReportBehaviour(hold=True))
    result = run_dag(dag)
    assert result.state == "failed"
    assert result.task_states["wait"] == "failed"
    assert result.task_tries["wait"] == 1  # retries=2, but a sensor timeout is not retried
    out = capfd.readouterr().out
    assert f"Timed out after 1.5 s waiting for Canvas course_pace_docx report 1 of course {course_id}" in out
    assert "last seen: report 1 running" in out
    assert "AirflowSensorTimeout" in out


@pytest.mark.parametrize("dag", [scenarios.flaky_api, scenarios.flaky_api_poke], ids=["deferrable", "poke"])
def test_wait_rides_out_server_errors_and_throttling(emulator, dag):
    course_id = 207 if dag is scenarios.flaky_api else 208
    emulator.set_behaviour(course_id, ReportBehaviour(running_seconds=1.0))
    for kind in ("503", "throttle", "500", "reset", "throttle_429"):
        emulator.add_fault(Fault(kind=kind, count=1, method="GET", course_id=course_id))
    result = run_dag(dag)
    assert result.state == "success", result.task_states
    assert result.xcom("wait")["status"] == "complete"


def test_start_whose_answer_times_out_adopts_the_report_in_the_same_try(emulator):
    emulator.set_behaviour(209, ReportBehaviour(running_seconds=2.0))
    emulator.add_fault(Fault(kind="delay_response_after_action", delay=1.5, count=1, method="POST"))
    result = run_dag(scenarios.retried_start)
    assert result.state == "success", result.task_states
    assert result.task_tries["start"] == 1
    assert emulator.post_count(209) == 1
    assert result.xcom("wait")["id"] == result.xcom("start")


def test_templated_ids_come_from_params_and_xcom(emulator):
    result = run_dag(scenarios.templated, run_conf={"course_id": 213, "section_ids": [5, 6, 7]})
    assert result.state == "success", result.task_states
    assert emulator.post_count(213) == 1
    assert emulator.post_count(212) == 0
    summary = result.xcom("wait")
    assert summary["course_id"] == 213
    assert summary["parameters"] == {"section_ids": [5, 6, 7]}


def test_retry_finds_its_finished_report_in_the_task_state_store(emulator):
    """
    The first try starts the report, then fails while waiting (a 422: not one the hook retries). By the
    time the retry runs the report is complete, so only the stored id (not the running-report
    lookup) can stop a second start: Airflow 3.3's task state store has it; before 3.3 there is
    none, and the retry starts a new report (what the README's version table says).
    """
    emulator.set_behaviour(214, ReportBehaviour(created_seconds=0, running_seconds=0.3))
    emulator.add_fault(Fault(kind="422", count=1, method="GET", course_id=214))
    result = run_dag(scenarios.resume_from_state)
    assert result.state == "success", result.task_states
    assert result.task_tries["start"] == 2
    assert emulator.post_count(214) == (1 if AIRFLOW_V_3_3_PLUS else 2)
    assert result.xcom("start")["status"] == "complete"


@pytest.mark.parametrize("event", [None, {}, {"status": "weird"}, "success"], ids=repr)
def test_execute_complete_rejects_missing_or_unknown_events(event):
    from airflow_provider_canvas_reports.exceptions import CanvasError
    from airflow_provider_canvas_reports.operators.course_report import StartCourseReportOperator
    from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

    sensor = CourseReportSensor(task_id="wait", course_id=1, report_id=2)
    start = StartCourseReportOperator(task_id="start", course_id=1)
    for task in (sensor, start):
        with pytest.raises(CanvasError, match="Unexpected trigger event"):
            task.execute_complete({}, event)


def test_execute_complete_turns_events_into_outcomes():
    from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout

    from airflow_provider_canvas_reports.exceptions import CanvasError, CanvasReportFailedError
    from airflow_provider_canvas_reports.sensors.course_report import CourseReportSensor

    sensor = CourseReportSensor(task_id="wait", course_id=1, report_id=2)
    report = {"id": 2, "status": "complete"}
    assert sensor.execute_complete({}, {"status": "success", "report": report}) == report
    with pytest.raises(CanvasReportFailedError, match="ended in 'error'"):
        sensor.execute_complete({}, {"status": "failed", "report": {"id": 2, "status": "error"}})
    with pytest.raises(AirflowSensorTimeout, match="still running"):
        sensor.execute_complete({}, {"status": "timeout", "message": "still running"})
    with pytest.raises(CanvasError, match="boom") as raised:
        sensor.execute_complete({}, {"status": "error", "message": "boom"})
    assert not isinstance(raised.value, AirflowFailException)  # Airflow may retry it
    with pytest.raises(AirflowFailException, match="revoked"):
        sensor.execute_complete({}, {"status": "error", "message": "revoked", "retryable": False})


def test_course_link_is_kept_where_the_ui_reads_it(emulator):
    emulator.set_behaviour(202, ReportBehaviour(running_seconds=0.2))
    result = run_dag(scenarios.poke)
    assert result.state == "success", result.task_states
    link = CanvasCourseLink()
    url = f"{emulator.base_url.rstrip('/')}/courses/202"
    assert result.xcom("start", key=link.xcom_key) == url
    if not AIRFLOW_V_3:  # Airflow 2.11's webserver asks the link, which reads that XCom back
        from airflow.models.taskinstancekey import TaskInstanceKey

        ti_key = TaskInstanceKey(result.dag_id, "start", result.run_id, result.task_tries["start"])
        assert link.get_link(StartCourseReportOperator(task_id="start", course_id=202), ti_key=ti_key) == url
