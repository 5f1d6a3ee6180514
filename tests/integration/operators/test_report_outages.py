"""
A short Canvas outage does not end a long wait: while the wait has time left, transient errors
(resets, 5xx, maintenance pages, JSON cut short) keep it polling; only errors no retry can fix
end it, and then with their own exception type.
"""

from __future__ import annotations

import pytest

from airflow_provider_canvas_reports import reports
from airflow_provider_canvas_reports.exceptions import CanvasAuthError, CanvasError, CanvasNotFoundError
from airflow_provider_canvas_reports.targets import CourseReport
from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour
from tests.dags import canvas_scenarios as scenarios
from tests.helpers import TOKEN, collect, run_dag, start_report, trigger_for

#: Each outage: this many failed status reads in a row, 3 whole calls of retry_limit=2.
OUTAGE = 6


def outage(emulator, course_id: int, kinds=("reset", "503", "html_200", "json_cut", "500", "504")) -> None:
    for kind in kinds:
        emulator.add_fault(Fault(kind=kind, count=OUTAGE // len(kinds), method="GET", course_id=course_id))


def status_reads(emulator, course_id: int) -> int:
    return sum(
        1
        for r in emulator.requests
        if r.server == "api" and r.method == "GET" and f"/courses/{course_id}/reports/" in r.path
    )


@pytest.mark.parametrize(
    ("dag", "course_id"),
    [
        (scenarios.outage_deferrable, 270),
        (scenarios.outage_poke, 271),
        (scenarios.outage_reschedule, 272),
        (scenarios.outage_blocking, 273),
    ],
    ids=["deferrable", "poke", "reschedule", "wait_for_completion"],
)
def test_a_wait_with_time_left_outlives_an_outage_longer_than_the_hooks_retries(emulator, dag, course_id):
    emulator.set_behaviour(course_id, ReportBehaviour(running_seconds=0.2))
    outage(emulator, course_id)
    result = run_dag(dag)
    assert result.state == "success", result.task_states
    assert set(result.task_tries.values()) == {1}  # no Airflow retry was needed
    assert emulator.post_count(course_id) == 1
    assert status_reads(emulator, course_id) > OUTAGE  # every fault was met, then Canvas answered


async def test_the_trigger_polls_through_an_outage_and_yields_one_success(emulator):
    emulator.set_behaviour(274, ReportBehaviour(running_seconds=0.1))
    report_id = start_report(274)
    outage(emulator, 274)
    events = await collect(trigger_for(274, report_id, hook_params={"retry_limit": 2}))
    assert [e.payload["status"] for e in events] == ["success"]
    assert status_reads(emulator, 274) > OUTAGE


async def test_an_outage_that_outlasts_the_wait_ends_it_with_timeout_naming_the_last_error(emulator):
    import time

    emulator.set_behaviour(275, ReportBehaviour(hold=True))
    report_id = start_report(275)
    emulator.add_fault(Fault(kind="503", count=-1, method="GET", course_id=275))
    trigger = trigger_for(
        275, report_id, end_time=time.time() + 0.5, timeout=0.5, hook_params={"retry_limit": 1}
    )
    (event,) = await collect(trigger)
    assert event.payload["status"] == "timeout"
    assert "HTTP 503" in event.payload["message"]


async def test_an_error_no_retry_can_fix_keeps_its_type_through_the_trigger_event(emulator):
    emulator.set_behaviour(276, ReportBehaviour(hold=True))
    report_id = start_report(276)
    emulator.revoke(TOKEN)
    (event,) = await collect(trigger_for(276, report_id))
    assert event.payload["status"] == "error"
    assert event.payload["error_type"] == "CanvasAuthError"
    assert emulator.requests[-1].status == 401
    with pytest.raises(CanvasAuthError, match="Canvas did not accept it"):
        reports.summary_from_event(event.payload, CourseReport.of(276, "course_pace_docx"))


async def test_a_deleted_report_ends_the_wait_at_once_as_not_found(emulator):
    (event,) = await collect(trigger_for(277, 987654))
    assert event.payload["error_type"] == "CanvasNotFoundError"
    assert status_reads(emulator, 277) == 1
    with pytest.raises(CanvasNotFoundError):
        reports.summary_from_event(event.payload, CourseReport.of(277, "course_pace_docx"))


def test_an_unknown_error_type_in_an_event_is_still_a_canvas_error():
    with pytest.raises(CanvasError, match="boom"):
        reports.summary_from_event(
            {"status": "error", "message": "boom", "error_type": "KeyError"}, CourseReport.of(1, "x")
        )
