"""
A connection with a developer key, over HTTP to the emulator's token endpoint: one access token per
process, renewed with one call however many calls need it, a refused call repeated once with a new
token (a download in progress too), and a refused key or grant failing at once, saying what to fix.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_canvas_reports.exceptions import CanvasDeveloperKeyError, CanvasScopeError
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import Fault
from tests.helpers import developer_key_connection_json, finished_report, new_developer_key

TOKEN_PATH = "/login/oauth2/token"


@pytest.fixture
def key(emulator, monkeypatch):
    """A fresh developer key as canvas_default."""
    made = new_developer_key(emulator)
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", developer_key_connection_json(emulator.base_url, made))
    return made


def token_calls(emulator) -> int:
    return sum(1 for r in emulator.requests if r.path == TOKEN_PATH)


def refused(emulator) -> int:
    return sum(1 for r in emulator.requests if r.status == 401)


def test_one_token_serves_every_call_of_the_process(emulator, key):
    ok, message = CanvasHook().test_connection()
    assert ok and message.endswith(f"(developer key {key['client_id']})"), message
    CanvasHook().list_course_sections(1)
    assert (token_calls(emulator), emulator.tokens_issued(key["client_id"])) == (1, 1)
    token_body = next(r.body.decode() for r in emulator.requests if r.path == TOKEN_PATH)
    assert "grant_type=refresh_token" in token_body
    assert all("authorization" not in r.headers for r in emulator.requests if r.path == TOKEN_PATH)


def test_an_expired_token_is_renewed_with_one_call_and_the_call_repeated(emulator, key):
    hook = CanvasHook()
    hook.list_course_sections(1)
    emulator.expire_access_tokens()
    assert [s["id"] for s in hook.list_course_sections(1)] == [1]
    assert (token_calls(emulator), refused(emulator)) == (2, 1)


def test_fifty_threads_that_meet_an_expired_token_share_one_renewal(emulator, key):
    hook = CanvasHook()
    hook.list_course_sections(1)
    emulator.expire_access_tokens()
    with ThreadPoolExecutor(50) as pool:
        assert len(list(pool.map(hook.list_course_sections, range(1, 51)))) == 50
    assert token_calls(emulator) == 2  # the first, and one renewal for all fifty
    assert refused(emulator) <= 50


async def test_fifty_polls_of_one_event_loop_share_one_token_and_one_renewal(emulator, key):
    hook = CanvasHook()
    await asyncio.gather(*(hook.alist_course_sections(c) for c in range(1, 51)))
    assert token_calls(emulator) == 1
    emulator.expire_access_tokens()
    await asyncio.gather(*(hook.alist_course_sections(c) for c in range(1, 51)))
    assert token_calls(emulator) == 2


def test_a_download_whose_token_expires_midway_renews_it_and_lands(emulator, key):
    report = finished_report(emulator, 290)
    CanvasHook().list_course_sections(1)  # the process's first access token
    emulator.reset_records()
    emulator.add_fault(Fault(kind="truncate", server="storage", count=1))
    expired: list[int] = []

    def expire_once(done: int) -> None:
        if not expired:
            expired.append(emulator.expire_access_tokens())

    buffer = io.BytesIO()
    result = CanvasHook().download_report_file(report, buffer, on_progress=expire_once)
    assert result.sha256 == emulator.file_sha256(report["id"])
    downloads = [r.status for r in emulator.requests if "/files/" in r.path]
    assert downloads == [302, 401, 302]  # the retry met the expired token, renewed it, went on
    assert token_calls(emulator) == 1  # the renewal (the first token came before the records were reset)


def test_a_wrong_client_secret_fails_at_once_naming_the_extras_to_check(emulator, key, monkeypatch):
    connection = json.loads(os.environ["AIRFLOW_CONN_CANVAS_DEFAULT"])
    connection["extra"]["client_secret"] = "not-the-secret"
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", json.dumps(connection))
    with pytest.raises(CanvasDeveloperKeyError, match="client_id and client_secret") as raised:
        CanvasHook().start_course_report(301, "course_pace_docx", {"section_ids": [1]})
    assert "not-the-secret" not in str(raised.value)
    assert [(r.path, r.status) for r in emulator.requests] == [(TOKEN_PATH, 401)]


@pytest.mark.parametrize("error", ["invalid_request", "invalid_grant"])
def test_an_unknown_refresh_token_fails_at_once_naming_it(emulator, key, monkeypatch, error):
    emulator.oauth_grant_error = error
    connection = json.loads(os.environ["AIRFLOW_CONN_CANVAS_DEFAULT"])
    connection["extra"]["refresh_token"] = "1~deleted-long-ago"
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", json.dumps(connection))
    with pytest.raises(CanvasDeveloperKeyError, match="put it in the connection extra refresh_token"):
        CanvasHook().get_course_report(301, "course_pace_docx", 1)
    assert [(r.path, r.status) for r in emulator.requests] == [(TOKEN_PATH, 400)]


def test_a_scoped_key_without_a_call_s_scope_names_the_scope_and_is_not_retried(emulator, monkeypatch):
    client_id = f"1700{uuid.uuid4().int % 10**8:08d}"
    extra = {"client_id": client_id, "client_secret": "scoped-secret-1", "refresh_token": "1~scoped-refresh"}
    emulator.add_developer_key(**extra, scopes=["url:GET|/api/v1/users/:id"])
    connection = {"conn_type": "canvas", "host": emulator.base_url, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", json.dumps(connection))
    scope = "url:POST|/api/v1/courses/:course_id/reports/:report_type"
    with pytest.raises(CanvasScopeError, match=f"lacks the scope {scope.replace('|', '[|]')}"):
        CanvasHook().start_course_report(302, "course_pace_docx", {"section_ids": [1]})
    assert [(r.path, r.status) for r in emulator.requests] == [
        (TOKEN_PATH, 200),
        ("/api/v1/courses/302/reports/course_pace_docx", 401),
    ]


def test_a_token_call_that_fails_on_the_way_is_retried_with_the_call_that_needed_it(emulator, key):
    emulator.add_fault(Fault(kind="503", count=1, path_contains="/login/oauth2/token"))
    emulator.add_fault(Fault(kind="reset", count=1, path_contains="/login/oauth2/token"))
    report = CanvasHook().start_course_report(303, "course_pace_docx", {"section_ids": [1]})
    assert report["status"] == "created"
    assert [r.status for r in emulator.requests if r.path == TOKEN_PATH] == [503, 0, 200]
    assert emulator.post_count(303) == 1  # the start was sent once, after the token came
