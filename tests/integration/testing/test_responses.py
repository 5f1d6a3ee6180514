"""Authentication, roles and Canvas's exact error bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from tests.emulator_helpers import OTHER_TEACHER, STUDENT, TEACHER, reports_url, start

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing import CanvasEmulator

UNAUTHENTICATED = {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}
UNAUTHORIZED = {
    "status": "unauthorized",
    "errors": [{"message": "user not authorized to perform that action"}],
}
NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
WWW_AUTHENTICATE = 'Bearer realm="canvas-lms"'


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_request_without_token_is_unauthenticated(emu: CanvasEmulator) -> None:
    response = requests.get(reports_url(emu, 1))
    assert response.status_code == 401
    assert response.json() == UNAUTHENTICATED
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_unknown_token_is_an_invalid_access_token(emu: CanvasEmulator) -> None:
    response = requests.post(reports_url(emu, 1), headers=_auth("nope"))
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Invalid access token."}]}
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_revoked_token_says_so(emu: CanvasEmulator) -> None:
    emu.revoke(TEACHER)
    response = requests.get(f"{emu.base_url}/api/v1/users/self", headers=_auth(TEACHER))
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Revoked access token."}]}
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE


def test_expired_token_says_so(emu: CanvasEmulator) -> None:
    emu.expire(TEACHER)
    response = requests.get(reports_url(emu, 1), headers=_auth(TEACHER))
    assert response.status_code == 401
    assert response.json() == {"errors": [{"message": "Expired access token."}]}


def test_users_self_describes_the_token_owner(emu: CanvasEmulator) -> None:
    response = requests.get(f"{emu.base_url}/api/v1/users/self", headers=_auth(TEACHER))
    assert response.status_code == 200
    body = response.json()
    assert {"id", "name", "sortable_name", "short_name"} <= set(body)
    assert isinstance(body["id"], int)


def test_student_may_not_start_a_report(emu: CanvasEmulator) -> None:
    response = requests.post(
        reports_url(emu, 1), headers=_auth(STUDENT), json={"parameters": {"section_ids": [1]}}
    )
    assert response.status_code == 403
    assert response.json() == UNAUTHORIZED
    assert emu.post_count() == 0


def test_student_may_not_read_reports(emu: CanvasEmulator, api: requests.Session) -> None:
    report = start(api, emu, 2, sections=[1])
    assert requests.get(f"{reports_url(emu, 2)}/{report['id']}", headers=_auth(STUDENT)).status_code == 403
    last = requests.get(reports_url(emu, 2), headers=_auth(STUDENT))
    assert (last.status_code, last.json()) == (403, UNAUTHORIZED)


def test_only_the_creator_may_read_a_report(emu: CanvasEmulator, api: requests.Session) -> None:
    report = start(api, emu, 3, sections=[1])
    response = requests.get(f"{reports_url(emu, 3)}/{report['id']}", headers=_auth(OTHER_TEACHER))
    assert response.status_code == 403
    assert response.json() == UNAUTHORIZED


def test_invalid_report_type_is_rejected_before_permissions(emu: CanvasEmulator) -> None:
    for token in (TEACHER, STUDENT):
        response = requests.post(reports_url(emu, 1, "foo"), headers=_auth(token))
        assert response.status_code == 400
        assert response.json() == {"error": "invalid report type foo"}


def test_unknown_course_is_not_found(emu: CanvasEmulator, api: requests.Session) -> None:
    for course in (0, 1_000_000, "sis_course_id:nope"):
        response = api.post(reports_url(emu, course), json={"parameters": {"section_ids": [1]}})
        assert (response.status_code, response.json()) == (404, NOT_FOUND), course


def test_unknown_report_or_report_of_another_course_is_not_found(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    report = start(api, emu, 4, sections=[1])
    assert api.get(f"{reports_url(emu, 4)}/999999").json() == NOT_FOUND
    wrong_course = api.get(f"{reports_url(emu, 5)}/{report['id']}")
    assert (wrong_course.status_code, wrong_course.json()) == (404, NOT_FOUND)


def test_removed_course_is_not_found(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.remove_course(6)
    response = api.get(reports_url(emu, 6))
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_unknown_route_is_not_found_json(emu: CanvasEmulator, api: requests.Session) -> None:
    response = api.get(f"{emu.base_url}/api/v1/courses/1/nothing")
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
