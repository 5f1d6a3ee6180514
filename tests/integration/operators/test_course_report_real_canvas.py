"""
How the start operator copes with what real Canvas does: lost answers to a start, "no report"
answered as HTTP 500, reports for other sections, and stored reports that can no longer be read.
"""

from __future__ import annotations

import json

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_3_PLUS

from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour, connection_json
from tests.dags import canvas_scenarios as scenarios
from tests.helpers import TOKEN, finish_held_reports, on_status_reads, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


def requests_to(emulator, course_id, method=None):
    prefix = f"/api/v1/courses/{course_id}/"
    return [
        r
        for r in emulator.requests
        if r.server == "api" and r.path.startswith(prefix) and (method is None or r.method == method)
    ]


@pytest.mark.parametrize(
    ("kind", "posts"),
    [("500_after_action", 1), ("reset_after_action", 1), ("503", 2), ("502", 2)],
    ids=["made-then-500", "made-then-reset", "refused-503", "refused-502"],
)
def test_an_ambiguous_start_is_settled_in_one_try_with_exactly_one_report(emulator, kind, posts):
    emulator.set_behaviour(240, ReportBehaviour(running_seconds=0.2))
    emulator.add_fault(Fault(kind=kind, count=1, method="POST", course_id=240))

    result = run_dag(scenarios.settle_start)

    assert result.state == "success", result.task_states
    assert result.task_tries["start"] == 1
    assert emulator.post_count(240) == 1
    assert len(requests_to(emulator, 240, "POST")) == posts
    assert result.xcom("wait")["id"] == result.xcom("start")


def test_reattaching_never_adopts_a_report_for_other_sections(emulator):
    # The other report stays running; this run's own report must not queue behind it.
    emulator.set_behaviour(241, ReportBehaviour(hold=True, sequential=False))
    other = CanvasHook().start_course_report(241, "course_pace_docx", {"section_ids": [1, 2, 3]})
    emulator.set_behaviour(241, ReportBehaviour(running_seconds=0.2, sequential=False))

    result = run_dag(scenarios.reattach_running)

    assert result.state == "success", result.task_states
    assert emulator.post_count(241) == 2
    assert result.xcom("start") != other["id"]


def test_reattaching_adopts_a_running_report_for_exactly_these_sections(emulator):
    emulator.set_behaviour(241, ReportBehaviour(hold=True))
    same = CanvasHook().start_course_report(241, "course_pace_docx", {"section_ids": ["2", "1"]})

    with finish_held_reports(emulator, 241, after_gets=1):  # running until the DAG has looked at it
        result = run_dag(scenarios.reattach_running)

    assert result.state == "success", result.task_states
    assert emulator.post_count(241) == 1
    assert result.xcom("start") == same["id"]


def test_reattaching_on_a_course_without_reports_starts_one_after_two_lookups(emulator):
    emulator.set_behaviour(241, ReportBehaviour(running_seconds=0.2))

    result = run_dag(scenarios.reattach_running)

    assert result.state == "success", result.task_states
    lookups = [r for r in requests_to(emulator, 241, "GET") if r.path.endswith("/course_pace_docx")]
    assert [r.status for r in lookups] == [500, 500]
    assert emulator.post_count(241) == 1


def test_an_empty_selection_fails_at_once_without_a_request(emulator):
    result = run_dag(scenarios.empty_selection)

    assert result.state == "failed"
    for task_id in ("start_none", "start_empty", "start_no_sections"):
        assert result.task_states[task_id] == "failed"
        assert result.task_tries[task_id] == 1  # no retry can fix it
    assert requests_to(emulator, 242) == []


@pytest.mark.parametrize("parameters", [None, {}, {"section_ids": []}, {"enrollment_ids": []}])
def test_the_hook_refuses_an_empty_selection_naming_both_keys(emulator, parameters):
    with pytest.raises(ValueError, match="'section_ids' or 'enrollment_ids'"):
        CanvasHook().start_course_report(101, "course_pace_docx", parameters)
    assert emulator.requests == []


def test_every_start_sends_a_parameters_key(emulator):
    CanvasHook().start_course_report(244, "course_pace_docx", {"enrollment_ids": [7]})
    (post,) = requests_to(emulator, 244, "POST")
    assert json.loads(post.body) == {"parameters": {"enrollment_ids": [7]}}


def test_last_report_on_a_fresh_course_is_none_in_at_most_two_requests(emulator, capfd):
    assert CanvasHook().get_last_course_report(245, "course_pace_docx") is None
    assert [r.status for r in requests_to(emulator, 245)] == [500, 500]
    logged = capfd.readouterr().out
    assert "checking once more" in logged
    assert "has no course_pace_docx report" in logged
    assert "retrying" not in logged


def test_last_report_answered_as_an_empty_object_is_none_in_one_request(emulator):
    emulator.set_behaviour(246, ReportBehaviour(last_without_report="empty"))
    assert CanvasHook().get_last_course_report(246, "course_pace_docx") is None
    assert [r.status for r in requests_to(emulator, 246)] == [200]


def test_a_passing_500_on_the_last_report_is_checked_again(emulator):
    report = CanvasHook().start_course_report(247, "course_pace_docx", {"section_ids": [1]})
    emulator.add_fault(Fault(kind="500", count=1, method="GET", course_id=247))
    assert CanvasHook().get_last_course_report(247, "course_pace_docx")["id"] == report["id"]
    assert [r.status for r in requests_to(emulator, 247, "GET")] == [500, 200]


async def test_async_last_report_on_a_fresh_course_is_none_in_at_most_two_requests(emulator):
    assert await CanvasHook().aget_last_course_report(248, "course_pace_docx") is None
    assert [r.status for r in requests_to(emulator, 248)] == [500, 500]


def test_a_stored_report_that_answers_403_is_replaced_by_a_new_one(emulator, monkeypatch):
    """Before Airflow 3.3 nothing is stored: the retry looks for a running report of its own token."""
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_OTHER", connection_json(emulator.base_url, "other-teacher-token"))
    emulator.set_behaviour(243, ReportBehaviour(running_seconds=0.2))
    # An error no retry of the hook fixes, but Airflow's retry may: the first try fails.
    emulator.add_fault(Fault(kind="422", count=1, method="GET", course_id=243))

    result = run_dag(scenarios.stored_report_unreadable)

    assert result.state == "success", result.task_states
    assert result.task_tries["start"] == 2
    assert emulator.post_count(243) == 2
    statuses = [r.status for r in requests_to(emulator, 243, "GET")]
    assert (403 in statuses or 401 in statuses) == AIRFLOW_V_3_3_PLUS  # the stored report, read


def test_an_error_no_retry_can_fix_during_a_deferred_wait_fails_on_the_first_try(emulator):
    """The token is revoked while the trigger waits: the 401 ends the task, Airflow does not retry."""
    emulator.set_behaviour(204, ReportBehaviour(hold=True))
    with on_status_reads(emulator, 204, after_gets=2, action=lambda _: emulator.revoke(TOKEN)):
        result = run_dag(scenarios.report_error)  # retries=2

    assert result.state == "failed"
    assert (result.task_states["wait"], result.task_tries["wait"]) == ("failed", 1)
    assert 401 in [r.status for r in requests_to(emulator, 204, "GET")]
