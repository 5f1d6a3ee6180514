"""The emulator lists an account's courses and a course's sections as canvas-lms does: its
filters, ``per_page`` (10 by default, 100 at most) and ``Link`` pages (bookmarks, never ``last``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from airflow_provider_canvas_reports.testing import CanvasEmulator

ADMIN, TEACHER = "admin-token", "teacher-token"


@pytest.fixture
def emu() -> Iterator[CanvasEmulator]:
    with CanvasEmulator(tokens={ADMIN: "admin", TEACHER: "teacher"}) as emulator:
        yield emulator


def get(emu: CanvasEmulator, path: str, token: str = ADMIN, **params: object) -> requests.Response:
    return requests.get(f"{emu.base_url}{path}", params=params, headers={"Authorization": f"Bearer {token}"})


def links(response: requests.Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', response.headers["Link"])}


def test_courses_come_ten_a_page_by_default_and_the_next_link_carries_the_filters(emu):
    emu.add_term_courses(25, enrollment_term_id=7)
    emu.add_term_courses(5, first_id=20_001, enrollment_term_id=8)
    first = get(emu, "/api/v1/accounts/1/courses", enrollment_term_id=7)
    assert first.status_code == 200
    assert [c["id"] for c in first.json()] == list(range(10_001, 10_011))
    assert "last" not in links(first)
    seen = [c["id"] for c in first.json()]
    url = links(first).get("next")
    pages = 1
    while url:
        assert "enrollment_term_id=7" in url and "per_page=10" in url and "bookmark" in url
        page = requests.get(url, headers={"Authorization": f"Bearer {ADMIN}"})
        seen += [c["id"] for c in page.json()]
        url, pages = links(page).get("next"), pages + 1
    assert (seen, pages) == (list(range(10_001, 10_026)), 3)


def test_per_page_is_capped_at_a_hundred(emu):
    emu.add_term_courses(150)
    page = get(emu, "/api/v1/accounts/1/courses", per_page=500)
    assert len(page.json()) == 100 and "per_page=100" in links(page)["next"]


def test_a_course_is_listed_with_what_a_dag_needs(emu):
    emu.add_catalog_course(42, name="Biology 101", sis_course_id="BIO-101", section_ids=[420, 421])
    (course,) = get(emu, "/api/v1/accounts/1/courses").json()
    assert {
        k: course[k] for k in ("id", "name", "sis_course_id", "workflow_state", "enrollment_term_id")
    } == {
        "id": 42,
        "name": "Biology 101",
        "sis_course_id": "BIO-101",
        "workflow_state": "available",
        "enrollment_term_id": 1,
    }
    sections = get(emu, "/api/v1/courses/sis_course_id:BIO-101/sections").json()
    assert [(s["id"], s["course_id"]) for s in sections] == [(420, 42), (421, 42)]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [1, 2, 3, 4, 6]),  # everything but deleted
        ({"published": "true"}, [1, 3, 6]),
        ({"published": "false"}, [2, 4]),
        ({"completed": "true"}, [3]),
        ({"with_enrollments": "false"}, [4]),
        ({"state[]": ["created", "deleted"]}, [2, 5]),
        ({"state[]": "all"}, [1, 2, 3, 4, 5, 6]),
        ({"by_subaccounts[]": [20]}, [6]),
        ({"search_term": "chem"}, [2]),
    ],
)
def test_filters_keep_the_courses_canvas_keeps(emu, params, expected):
    emu.add_account(20, parent_account_id=1)
    emu.add_catalog_course(1, name="Biology", workflow_state="available")
    emu.add_catalog_course(2, name="Chemistry", workflow_state="created")
    emu.add_catalog_course(3, name="Physics", workflow_state="completed")
    emu.add_catalog_course(4, name="Empty", workflow_state="claimed", students=0)
    emu.add_catalog_course(5, name="Gone", workflow_state="deleted")
    emu.add_catalog_course(6, name="Sub", account_id=20)
    assert [c["id"] for c in get(emu, "/api/v1/accounts/1/courses", **params).json()] == expected


def test_a_one_character_search_term_is_refused(emu):
    response = get(emu, "/api/v1/accounts/1/courses", search_term="6")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "search_term"


def test_a_sub_account_lists_its_own_courses_and_its_sub_accounts(emu):
    emu.add_account(20, parent_account_id=1)
    emu.add_account(21, parent_account_id=20)
    for course_id, account_id in ((1, 1), (2, 20), (3, 21)):
        emu.add_catalog_course(course_id, account_id=account_id)
    assert [c["id"] for c in get(emu, "/api/v1/accounts/20/courses").json()] == [2, 3]


def test_listing_courses_needs_an_account_admin(emu):
    emu.add_catalog_course(1)
    assert get(emu, "/api/v1/accounts/1/courses", token=TEACHER).status_code == 403
    assert get(emu, "/api/v1/accounts/1/courses", token="nobody").status_code == 401
    assert get(emu, "/api/v1/accounts/5000/courses").status_code == 404


def test_sections_come_in_numbered_pages_with_a_last_link(emu):
    emu.add_catalog_course(9, section_ids=range(900, 925))
    first = get(emu, "/api/v1/courses/9/sections")
    assert [s["id"] for s in first.json()] == list(range(900, 910))
    assert set(links(first)) == {"current", "next", "first", "last"}
    third = requests.get(links(first)["last"], headers={"Authorization": f"Bearer {ADMIN}"})
    assert [s["id"] for s in third.json()] == list(range(920, 925))


def test_a_course_without_sections_lists_none_and_its_reports_fail(emu):
    emu.add_catalog_course(11, section_ids=[])
    assert get(emu, "/api/v1/courses/11/sections").json() == []


def test_a_course_outside_the_catalog_has_section_one(emu):
    assert [s["id"] for s in get(emu, "/api/v1/courses/123/sections").json()] == [1]
    assert get(emu, "/api/v1/courses/sis_course_id:nope/sections").status_code == 404
