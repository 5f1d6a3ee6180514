"""Every call names the developer key scope Canvas checks it against, and the how-to lists exactly those."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

from airflow_provider_canvas_reports.client import calls
from airflow_provider_canvas_reports.targets import AccountReport, CourseReport
from airflow_provider_canvas_reports.testing.scopes import scope_of

HOWTO = Path(__file__).resolve().parents[3] / "docs" / "howto" / "developer-keys.md"
COURSE = CourseReport.of(101, "course_pace_docx")
ACCOUNT = AccountReport.of(1, "provisioning_csv")


def every_call() -> list[calls.CanvasRequest]:
    return [
        calls.get_self(),
        calls.list_account_courses("sis_account_id:A1", {"enrollment_term_id": 3}),
        calls.list_course_sections(101),
        calls.start_report(COURSE, {"section_ids": [1]}),
        calls.get_last_course_report(COURSE),
        calls.get_report(COURSE.with_id(7)),
        calls.list_account_reports(1),
        calls.start_report(ACCOUNT, {"users": True}),
        calls.list_report_runs(ACCOUNT),
        calls.get_report(ACCOUNT.with_id(8)),
        calls.abort_report(ACCOUNT.with_id(8)),
        calls.delete_report(ACCOUNT.with_id(8)),
    ]


def test_the_calls_need_exactly_the_listed_scopes():
    assert sorted(request.scope or "" for request in every_call()) == sorted(calls.DEVELOPER_KEY_SCOPES)


def test_each_call_s_scope_is_the_route_canvas_matches_its_path_against():
    for request in every_call():
        parts = [unquote(part) for part in request.path.split("?")[0].split("/")[3:]]
        assert scope_of(request.method, parts) == request.scope, request.label


def test_the_developer_keys_how_to_lists_exactly_these_scopes():
    listed = {
        scope.replace("\\|", "|") for scope in re.findall(r"`(url:[A-Z]+\\?\|[^`]+)`", HOWTO.read_text())
    }
    assert listed == set(calls.DEVELOPER_KEY_SCOPES)


def test_the_token_call_carries_no_token_and_may_be_repeated():
    from airflow_provider_canvas_reports.client.settings import DeveloperKey

    request = calls.get_access_token(DeveloperKey("1", "secret-value", "1~refresh"))
    assert (request.authorized, request.idempotent, request.scope, request.path) == (
        False,
        True,
        None,
        "/login/oauth2/token",
    )
    assert b"grant_type=refresh_token" in request.body
