"""CanvasListCoursesOperator feeds dynamic task mapping: a term's courses listed and started (dag.test())."""

from __future__ import annotations

import json

import pytest

from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError
from airflow_provider_canvas_reports.operators.discovery import CanvasListCoursesOperator
from tests.dags import canvas_scale_scenarios as scenarios
from tests.helpers import run_dag


def test_thirty_listed_courses_each_start_a_report_with_their_sections(emulator, capfd):
    ids = emulator.add_term_courses(30, first_id=4001, enrollment_term_id=21)
    emulator.add_term_courses(5, first_id=4101, enrollment_term_id=22)  # another term: not listed
    emulator.add_catalog_course(4200, enrollment_term_id=21, section_ids=[])  # no section: left out

    result = run_dag(scenarios.discovery_fan_out, run_conf={"term": 21})

    assert result.state == "success", result.task_states
    listed = result.xcom("list_courses")
    assert [c["course_id"] for c in listed] == ids
    assert listed[0] == {
        "course_id": 4001,
        "sis_course_id": "T21-C4001",
        "name": "Term 21 Course 4001",
        "section_ids": [40010],
    }
    posts = [r for r in emulator.requests if r.method == "POST"]
    started = {int(r.path.split("/")[4]): json.loads(r.body)["parameters"] for r in posts}
    assert started == {c: {"section_ids": [c * 10]} for c in ids}
    assert {emulator.post_count(c) for c in ids} == {1}
    assert (
        "Left out 1 course(s) without any section (a course pace report needs one): 4200"
        in capfd.readouterr().out
    )
    assert sum(1 for r in emulator.requests if r.path == "/api/v1/accounts/1/courses") == 1


def test_a_misspelt_filter_fails_the_listing_before_any_request(emulator):
    emulator.add_term_courses(3, enrollment_term_id=21)
    result = run_dag(scenarios.discovery_fan_out, run_conf={"term": 21, "filters": {"publishd": True}})
    assert result.task_states["list_courses"] == "failed"
    assert emulator.requests == []


def test_a_filter_given_by_name_and_in_filters_is_refused():
    operator = CanvasListCoursesOperator(
        task_id="list", account_id=1, state=["available"], filters={"state[]": ["completed"]}
    )
    with pytest.raises(CanvasInvalidInputError, match="both by name and in filters: state"):
        operator.course_filters()


def test_a_named_filter_rendered_empty_is_not_sent():
    operator = CanvasListCoursesOperator(task_id="list", account_id=1, enrollment_term_id="", published=False)
    assert operator.course_filters() == {"published": False}
