"""Alternate course ids, and the report parameters accepted as form fields or JSON."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests.emulator_helpers import finished, poll_until, reports_url

if TYPE_CHECKING:
    import requests

    from airflow_provider_canvas_reports.testing import CanvasEmulator

SIS_ID = "SIS 101/A&B"


@pytest.fixture
def course(emu: CanvasEmulator) -> int:
    """Course 4242 with every kind of alternate id."""
    emu.add_course(
        4242, sis_course_id=SIS_ID, sis_integration_id="int-7", lti_context_id="lti-abc", uuid="UUIDabc123"
    )
    return 4242


@pytest.mark.parametrize(
    "path_id",
    [
        "4242",
        quote(f"sis_course_id:{SIS_ID}", safe=":"),
        "sis_integration_id:int-7",
        "lti_context_id:lti-abc",
        "uuid:UUIDabc123",
        f"hex:sis_course_id:{SIS_ID.encode().hex()}",
    ],
)
def test_alternate_course_ids_resolve_to_the_numeric_course(
    emu: CanvasEmulator, api: requests.Session, course: int, path_id: str
) -> None:
    response = api.post(reports_url(emu, path_id), json={"parameters": {"section_ids": [1]}})
    assert response.status_code == 200, response.text
    assert response.json()["course_id"] == course


def test_unknown_alternate_id_and_removed_course_are_not_found(
    emu: CanvasEmulator, api: requests.Session, course: int
) -> None:
    assert api.get(reports_url(emu, "sis_course_id:other")).status_code == 404
    assert api.get(reports_url(emu, "hex:sis_course_id:zz")).status_code == 404
    emu.remove_course(course)
    assert api.get(reports_url(emu, quote(f"sis_course_id:{SIS_ID}", safe=":"))).status_code == 404


def test_added_course_outside_the_default_range_exists(emu: CanvasEmulator, api: requests.Session) -> None:
    body = {"parameters": {"section_ids": [1]}}
    assert api.post(reports_url(emu, 12_345_678), json=body).status_code == 404
    emu.add_course(12_345_678)
    assert api.post(reports_url(emu, 12_345_678), json=body).status_code == 200


def test_form_parameters_come_back_as_strings_without_unknown_keys(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    form = [
        ("parameters[section_ids][]", "1"),
        ("parameters[section_ids][]", "2"),
        ("parameters[enrollment_ids][]", "7"),
        ("parameters[start_at]", "2024-01-01"),
    ]
    response = api.post(reports_url(emu, 30), data=form)
    assert response.json()["parameters"] == {"section_ids": ["1", "2"], "enrollment_ids": ["7"]}


def test_json_parameters_keep_their_types_without_unknown_keys(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    body = {"parameters": {"section_ids": [1, "2", [3], {"x": 4}], "include": ["x"], "enrollment_ids": 3}}
    response = api.post(reports_url(emu, 31), json=body)
    assert response.status_code == 200
    assert response.json()["parameters"] == {"section_ids": [1, "2"]}


def test_report_without_sections_or_enrollments_ends_in_error(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    for course, kwargs in (
        (32, {"json": {"parameters": {}}}),
        (33, {"data": {"parameters[section_ids]": "1"}}),
    ):
        report = api.post(reports_url(fast_emu, course), **kwargs).json()
        assert report["parameters"] == {}
        body, _ = poll_until(api, f"{reports_url(fast_emu, course)}/{report['id']}", finished)
        assert body["status"] == "error"
        assert body["file_url"] is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"json": {}},
        {"json": {"parameters": None}},
        {"json": {"parameters": [1]}},
        {"json": {"section_ids": [1]}},
        {"data": {"section_ids[]": "1"}},
        {"data": {"parameters": "section_ids"}},
    ],
    ids=[
        "no body",
        "json without key",
        "json null",
        "json list",
        "json top-level ids",
        "form",
        "form scalar",
    ],
)
def test_start_without_a_parameters_hash_is_canvas_500_and_makes_no_report(
    emu: CanvasEmulator, api: requests.Session, kwargs: dict[str, Any]
) -> None:
    response = api.post(reports_url(emu, 34), **kwargs)
    assert response.status_code == 500
    body = response.json()
    assert body["errors"] == [{"message": "An error occurred.", "error_code": "internal_server_error"}]
    assert isinstance(body["error_report_id"], int)
    assert emu.post_count() == 0 and emu.reports == {}


def test_parameters_in_the_query_string_count_as_in_rails(emu: CanvasEmulator, api: requests.Session) -> None:
    response = api.post(f"{reports_url(emu, 35)}?parameters[section_ids][]=4")
    assert response.status_code == 200
    assert response.json()["parameters"] == {"section_ids": ["4"]}


def test_json_and_form_ids_make_the_same_documents(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    by_json = api.post(reports_url(fast_emu, 36), json={"parameters": {"section_ids": [7]}}).json()
    by_form = api.post(reports_url(fast_emu, 37), data={"parameters[section_ids][]": "7"}).json()
    names = []
    for course, report in ((36, by_json), (37, by_form)):
        body, _ = poll_until(api, f"{reports_url(fast_emu, course)}/{report['id']}", finished)
        names.append(body["attachment"]["display_name"])
    assert names == ["Section 7_Section_Pace.docx"] * 2
