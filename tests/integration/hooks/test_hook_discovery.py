"""Listing an account's courses and a course's sections through the hook, over HTTP to the emulator."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError, CanvasUnexpectedResponseError
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import Fault


def list_requests(emulator, path: str) -> list:
    return [r for r in emulator.requests if r.path == path]


def test_two_hundred_fifty_courses_come_in_three_requests_with_the_filters_canvas_reads(emulator):
    emulator.add_term_courses(250, enrollment_term_id=12)
    emulator.add_term_courses(40, first_id=50_001, enrollment_term_id=13)
    courses = list(
        CanvasHook().iter_account_courses(1, enrollment_term_id=12, published=True, state=["available"])
    )
    assert [c["id"] for c in courses] == list(range(10_001, 10_251))
    sent = list_requests(emulator, "/api/v1/accounts/1/courses")
    assert len(sent) == 3
    assert parse_qsl(sent[0].query) == [
        ("enrollment_term_id", "12"),
        ("published", "true"),
        ("state[]", "available"),
        ("per_page", "100"),
    ]
    assert all("bookmark" in dict(parse_qsl(r.query))["page"] for r in sent[1:])  # followed as given


def test_a_filter_canvas_does_not_have_is_refused_before_any_request(emulator):
    with pytest.raises(CanvasInvalidInputError, match="Unknown course list filter 'term'"):
        CanvasHook().iter_account_courses(1, term=12)
    assert emulator.requests == []


def test_a_page_that_fails_once_is_retried_and_the_walk_goes_on(emulator):
    emulator.add_term_courses(250)
    emulator.add_fault(Fault(kind="503", count=1, path_contains="/courses", method="GET"))
    emulator.reset_records()
    assert len(list(CanvasHook().iter_account_courses("self"))) == 250
    assert [r.status for r in list_requests(emulator, "/api/v1/accounts/self/courses")] == [
        503,
        200,
        200,
        200,
    ]


def test_a_list_that_links_on_past_max_pages_is_stopped(emulator):
    emulator.add_term_courses(250)
    with pytest.raises(CanvasUnexpectedResponseError, match="still links to a next page after 2 pages"):
        list(CanvasHook().iter_account_courses(1, max_pages=2))
    assert len(list_requests(emulator, "/api/v1/accounts/1/courses")) == 2


def test_sections_are_listed_every_page(emulator):
    emulator.add_catalog_course(77, section_ids=range(7_000, 7_150), sis_course_id="SIS-77")
    sections = CanvasHook().list_course_sections("sis_course_id:SIS-77")
    assert [s["id"] for s in sections] == list(range(7_000, 7_150))
    assert len(list_requests(emulator, "/api/v1/courses/sis_course_id:SIS-77/sections")) == 2


def test_sections_of_many_courses_come_back_in_their_order(emulator):
    for course_id in range(1, 13):
        emulator.add_catalog_course(course_id, section_ids=[] if course_id == 5 else [course_id * 10])
    found = dict(CanvasHook().iter_sections_of_courses(range(1, 13)))
    assert list(found) == list(range(1, 13))
    assert found[5] == [] and [s["id"] for s in found[12]] == [120]


async def test_the_async_twins_list_the_same(emulator):
    emulator.add_term_courses(120)
    emulator.add_catalog_course(9, section_ids=[90, 91])
    hook = CanvasHook()
    listed = [course["id"] async for course in hook.aiter_account_courses(1)]
    assert listed == [9, *range(10_001, 10_121)]
    assert [s["id"] for s in await hook.alist_course_sections(9)] == [90, 91]
