"""CanvasHook over real HTTP against the emulator."""

from __future__ import annotations

import json
import logging
import time

import pytest

from airflow_provider_canvas_reports.client import calls
from airflow_provider_canvas_reports.exceptions import (
    CanvasAuthError,
    CanvasBadRequestError,
    CanvasNotFoundError,
    CanvasRateLimitError,
    CanvasServerError,
    CanvasTransportError,
    CanvasUnexpectedResponseError,
)
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.targets import CourseReport
from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour, connection_json
from tests.helpers import TOKEN

SECTIONS = {"section_ids": [11, 12]}
#: A cheap GET that always has an answer: the probe for how the transport copes with faults.
SELF = calls.get_self()


def api_requests(emulator, method=None):
    return [r for r in emulator.requests if r.server == "api" and (method is None or r.method == method)]


def test_start_course_report_posts_parameters_as_canvas_expects(emulator):
    report = CanvasHook().start_course_report(101, "course_pace_docx", SECTIONS)

    assert report["status"] in ("created", "running")
    assert report["parameters"] == {"section_ids": [11, 12]}  # JSON values keep their type
    (post,) = api_requests(emulator, "POST")
    assert post.path == "/api/v1/courses/101/reports/course_pace_docx"
    assert json.loads(post.body) == {"parameters": {"section_ids": [11, 12]}}
    assert post.headers["content-type"] == "application/json"
    assert post.headers["authorization"] == f"Bearer {TOKEN}"


def test_get_course_report_follows_a_report_to_complete(emulator):
    hook = CanvasHook()
    started = hook.start_course_report(101, "course_pace_docx", {"section_ids": [1]})
    report = hook.get_course_report(101, "course_pace_docx", started["id"])
    assert report["id"] == started["id"]
    emulator.finish_report(started["id"])
    done = hook.get_course_report(101, "course_pace_docx", str(started["id"]))
    assert done["status"] == "complete"
    assert done["attachment"]["size"] > 0
    assert "verifier=" in done["file_url"]


def test_get_last_course_report_is_none_when_canvas_answers_empty_object(emulator):
    emulator.set_behaviour(555, ReportBehaviour(last_without_report="empty"))
    assert CanvasHook().get_last_course_report(555, "course_pace_docx") is None


def test_get_last_course_report_returns_the_latest(emulator):
    hook = CanvasHook()
    hook.start_course_report(102, "course_pace_docx", {"section_ids": [1]})
    second = hook.start_course_report(102, "course_pace_docx", {"section_ids": [2]})
    assert hook.get_last_course_report(102, "course_pace_docx")["id"] == second["id"]


def test_alternate_course_ids_are_url_encoded(emulator):
    emulator.add_course(103, sis_course_id="MATH 101:A")
    report = CanvasHook().start_course_report("sis_course_id:MATH 101:A", "course_pace_docx", SECTIONS)
    assert report["course_id"] == 103
    assert api_requests(emulator, "POST")[0].path == (
        "/api/v1/courses/sis_course_id:MATH%20101%3AA/reports/course_pace_docx"
    )


def test_sis_ids_with_slash_or_dot_are_sent_in_hex_form(emulator):
    emulator.add_course(108, sis_course_id="MATH/101.A")
    report = CanvasHook().start_course_report("sis_course_id:MATH/101.A", "course_pace_docx", SECTIONS)
    assert report["course_id"] == 108
    (post,) = api_requests(emulator, "POST")
    hex_id = b"MATH/101.A".hex()
    assert post.path == f"/api/v1/courses/hex:sis_course_id:{hex_id}/reports/course_pace_docx"


@pytest.mark.parametrize("report_id", [None, "None", ""])
def test_a_missing_report_id_is_an_error_not_a_last_report_lookup(emulator, report_id):
    with pytest.raises(ValueError, match="Invalid report_id"):
        CanvasHook().get_course_report(101, "course_pace_docx", report_id)
    assert api_requests(emulator) == []


def test_hex_sis_ids_reach_the_course(emulator):
    emulator.add_course(104, sis_course_id="a/b.c")
    report = CanvasHook().start_course_report(
        "hex:sis_course_id:" + b"a/b.c".hex(), "course_pace_docx", SECTIONS
    )
    assert report["course_id"] == 104


async def test_async_methods_match_the_sync_ones(emulator):
    hook = CanvasHook()
    started = hook.start_course_report(105, "course_pace_docx", SECTIONS)
    fetched = await hook.aget_course_report(105, "course_pace_docx", started["id"])
    last = await hook.aget_last_course_report(105, "course_pace_docx")
    assert fetched["id"] == last["id"] == started["id"]
    assert await hook.aget_last_course_report(106, "course_pace_docx") is None
    (post,) = api_requests(emulator, "POST")
    assert json.loads(post.body) == {"parameters": {"section_ids": [11, 12]}}
    assert post.headers["content-type"] == "application/json"


def test_sync_calls_reuse_one_connection(emulator):
    hook = CanvasHook()
    report = hook.start_course_report(107, "course_pace_docx", SECTIONS)
    for _ in range(5):
        hook.get_course_report(107, "course_pace_docx", report["id"])
    assert len({r.connection_id for r in api_requests(emulator)}) == 1


# --- errors --------------------------------------------------------------------------------------


def test_unknown_report_type_is_a_bad_request_tried_once(emulator):
    with pytest.raises(CanvasBadRequestError, match="invalid report type nope") as info:
        CanvasHook().start_course_report(101, "nope", SECTIONS)
    assert info.value.status_code == 400
    assert len(api_requests(emulator)) == 1


def test_invalid_token_is_an_auth_error_tried_once(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(emulator.base_url, "wrong-token"))
    with pytest.raises(CanvasAuthError, match="Invalid access token") as info:
        CanvasHook().get_last_course_report(101, "course_pace_docx")
    assert info.value.status_code == 401
    assert "wrong-token" not in str(info.value)
    assert len(api_requests(emulator)) == 1


def test_revoked_token_is_an_auth_error(emulator):
    emulator.revoke(TOKEN)
    with pytest.raises(CanvasAuthError, match="Revoked access token"):
        CanvasHook().get_last_course_report(101, "course_pace_docx")


def test_student_is_not_authorized(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(emulator.base_url, "student-token"))
    with pytest.raises(CanvasAuthError, match="not authorized") as info:
        CanvasHook().start_course_report(101, "course_pace_docx", SECTIONS)
    assert info.value.status_code == 403
    assert len(api_requests(emulator)) == 1


def test_missing_course_is_not_found_tried_once(emulator):
    emulator.remove_course(404)
    with pytest.raises(CanvasNotFoundError, match="does not exist") as info:
        CanvasHook().start_course_report(404, "course_pace_docx", SECTIONS)
    assert info.value.status_code == 404
    assert "POST /api/v1/courses/404/reports/course_pace_docx" in str(info.value)
    assert len(api_requests(emulator)) == 1


def test_missing_report_is_not_found(emulator):
    with pytest.raises(CanvasNotFoundError):
        CanvasHook().get_course_report(101, "course_pace_docx", 987654)


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_server_errors_are_retried_until_they_pass(emulator, kind):
    emulator.add_fault(Fault(kind=kind, count=2))
    assert CanvasHook().run(SELF)["id"]
    assert len(api_requests(emulator)) == 3


def test_server_errors_beyond_the_retry_limit_fail_with_canvas_message(emulator):
    emulator.add_fault(Fault(kind="500", count=-1))
    with pytest.raises(CanvasServerError, match="An error occurred") as info:
        CanvasHook(retry_limit=3).run(SELF)
    assert info.value.status_code == 500
    assert len(api_requests(emulator)) == 3


def test_html_gateway_page_becomes_a_readable_server_error(emulator):
    emulator.add_fault(Fault(kind="502", count=-1))
    with pytest.raises(CanvasServerError, match="502 Bad Gateway") as info:
        CanvasHook(retry_limit=2).run(SELF)
    assert "<html>" not in str(info.value)


@pytest.mark.parametrize("kind", ["throttle", "throttle_429"])
def test_throttling_is_retried(emulator, kind):
    emulator.add_fault(Fault(kind=kind, count=2))
    assert CanvasHook().run(SELF)["id"]
    assert len(api_requests(emulator)) == 3


def test_persistent_throttling_is_a_rate_limit_error(emulator):
    emulator.add_fault(Fault(kind="throttle", count=-1))
    with pytest.raises(CanvasRateLimitError, match="Rate Limit Exceeded"):
        CanvasHook(retry_limit=2).run(SELF)
    assert len(api_requests(emulator)) == 2


def test_connection_resets_are_retried(emulator):
    emulator.add_fault(Fault(kind="reset", count=2))
    assert CanvasHook().run(SELF)["id"]
    assert len(api_requests(emulator)) == 3


def test_slow_answers_time_out_and_are_retried(emulator):
    emulator.add_fault(Fault(kind="slow", delay=2.0, count=1))
    assert CanvasHook(timeout=0.3).run(SELF)["id"]
    assert len(api_requests(emulator)) == 2


def test_persistent_timeouts_fail_as_transport_errors(emulator):
    emulator.add_fault(Fault(kind="slow", delay=2.0, count=-1))
    with pytest.raises(CanvasTransportError, match="timed out"):
        CanvasHook(timeout=0.2, retry_limit=2).run(SELF)


def test_html_where_json_is_due_is_retried_like_a_5xx_and_then_an_unexpected_response(emulator):
    emulator.add_fault(Fault(kind="html_200", count=1))
    assert CanvasHook().run(SELF)["id"]
    assert len(api_requests(emulator)) == 2
    emulator.add_fault(Fault(kind="html_200", count=-1))
    with pytest.raises(CanvasUnexpectedResponseError, match="where JSON is due"):
        CanvasHook(retry_limit=3).run(SELF)
    assert len(api_requests(emulator)) == 5


def test_json_cut_short_on_a_read_is_retried(emulator):
    emulator.add_fault(Fault(kind="json_cut", count=2))
    assert CanvasHook().run(SELF)["id"]
    assert len(api_requests(emulator)) == 3


async def test_async_path_retries_the_same_way(emulator):
    emulator.add_fault(Fault(kind="503", count=2))
    assert (await CanvasHook().arun(SELF))["id"]
    assert len(api_requests(emulator)) == 3
    emulator.add_fault(Fault(kind="500", count=-1))
    with pytest.raises(CanvasServerError):
        await CanvasHook(retry_limit=2).arun(SELF)


async def test_async_auth_error_is_not_retried(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(emulator.base_url, "wrong-token"))
    with pytest.raises(CanvasAuthError):
        await CanvasHook().aget_last_course_report(101, "course_pace_docx")
    assert len(api_requests(emulator)) == 1


def test_hook_slows_down_when_rate_limit_runs_low(emulator, capfd):
    emulator.set_rate_limit_remaining(TOKEN, 60.0)
    hook = CanvasHook(settings_overrides={"rate_limit_max_pause_seconds": 1.0})
    started = time.monotonic()
    hook.run(SELF)
    assert time.monotonic() - started >= 0.3
    assert "rate limit is running low" in capfd.readouterr().out


# --- validation ----------------------------------------------------------------------------------

BAD_COURSE_IDS = [
    "",
    " ",
    "12 ",
    "1/2",
    "../1",
    "..",
    "0",
    "-1",
    "1.5",
    "\uff11\uff12",
    "12\u200b",
    "sis_course_id:",
    "sis_course_id: x",
    "sis_course_id:x\u202e",
    "hex:sis_course_id:zz",
    "hex:sis_course_id:abc",
    "canvas:1",
    True,
    1.0,
    None,
    2**63,
]


@pytest.mark.parametrize("course_id", BAD_COURSE_IDS, ids=repr)
def test_bad_course_ids_raise_before_any_request(emulator, course_id):
    with pytest.raises(ValueError, match="course_id"):
        CanvasHook().start_course_report(course_id, "course_pace_docx", SECTIONS)
    assert emulator.requests == []


@pytest.mark.parametrize("report_type", ["", "Course_Pace", "a/b", "..", "x y", "rép", None, 5])
def test_bad_report_types_raise_before_any_request(emulator, report_type):
    with pytest.raises(ValueError, match="report_type"):
        CanvasHook().get_last_course_report(101, report_type)
    assert emulator.requests == []


@pytest.mark.parametrize("report_id", ["", "0", "-3", "4.2", "1/2", "abc", 0, -1, True, 3.0])
async def test_bad_report_ids_raise_before_any_request(emulator, report_id):
    with pytest.raises(ValueError, match="report_id"):
        CanvasHook().get_course_report(101, "course_pace_docx", report_id)
    with pytest.raises(ValueError, match="report_id"):
        await CanvasHook().aget_course_report(101, "course_pace_docx", report_id)
    assert emulator.requests == []


@pytest.mark.parametrize(
    "parameters", [{"section ids": [1]}, {"section_ids": [None]}, {"section_ids": ["a\n"]}]
)
def test_bad_parameters_raise_before_any_request(emulator, parameters):
    with pytest.raises(ValueError, match="parameter"):
        CanvasHook().start_course_report(101, "course_pace_docx", parameters)
    assert emulator.requests == []


# --- connection ----------------------------------------------------------------------------------


def test_plain_http_is_refused_off_loopback(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json("http://canvas.example.edu"))
    with pytest.raises(ValueError, match="Refusing plain http://"):
        CanvasHook().get_last_course_report(101, "course_pace_docx")


def test_allow_http_extra_permits_plain_http(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_CANVAS_DEFAULT", connection_json("http://canvas.example.edu", allow_http=True)
    )
    assert CanvasHook().settings.base_url == "http://canvas.example.edu"


def test_host_without_scheme_means_https(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json("school.instructure.com/"))
    assert CanvasHook().settings.base_url == "https://school.instructure.com"


def test_extras_and_hook_arguments_tune_retries(monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_CANVAS_DEFAULT", connection_json("https://x.test", retry_limit="4", timeout=12)
    )
    assert CanvasHook().settings.retry_limit == 4
    assert CanvasHook().settings.timeout == 12.0
    assert CanvasHook(retry_limit=2).settings.retry_limit == 2


def test_bad_extras_get_a_clear_error(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json("https://x.test", retry_limit="many"))
    with pytest.raises(ValueError, match="retry_limit"):
        CanvasHook().settings  # noqa: B018


def test_test_connection_reports_success_and_failure(emulator, monkeypatch):
    ok, message = CanvasHook().test_connection()
    assert ok, message
    assert emulator.base_url in message
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(emulator.base_url, "wrong-token"))
    ok, message = CanvasHook().test_connection()
    assert not ok
    assert "Invalid access token" in message
    assert "wrong-token" not in message


def test_token_never_reaches_logs_or_errors(emulator, caplog):
    emulator.add_fault(Fault(kind="500", count=-1))
    with caplog.at_level(logging.DEBUG), pytest.raises(CanvasServerError) as info:
        CanvasHook(retry_limit=2).run(SELF)
    assert TOKEN not in caplog.text
    assert TOKEN not in str(info.value)
    assert TOKEN not in repr(CanvasHook().settings)


def test_the_transport_does_not_repeat_a_start_after_an_ambiguous_server_error(emulator):
    emulator.add_fault(Fault(kind="500", count=1, method="POST"))
    target = CourseReport.of(101, "course_pace_docx")
    with pytest.raises(CanvasServerError):
        CanvasHook().run(calls.start_report(target, target.check_parameters(SECTIONS)))
    assert len(api_requests(emulator, "POST")) == 1


def test_start_is_retried_when_throttled_because_canvas_did_nothing(emulator):
    emulator.add_fault(Fault(kind="throttle", count=1, method="POST"))
    report = CanvasHook().start_course_report(101, "course_pace_docx", SECTIONS)
    assert len(api_requests(emulator, "POST")) == 2
    assert emulator.post_count(101) == 1
    assert report["id"]


def test_start_is_retried_when_the_connection_was_refused(emulator, monkeypatch, closed_port):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(f"http://127.0.0.1:{closed_port}"))
    with pytest.raises(CanvasTransportError) as info:
        CanvasHook(retry_limit=3).start_course_report(101, "course_pace_docx", SECTIONS)
    assert info.value.maybe_processed is False


@pytest.mark.parametrize(
    ("name", "value"), [("retry_limit", 2.5), ("retry_limit", 0), ("max_connections", "0")]
)
def test_whole_number_extras_refuse_fractions_and_zero(monkeypatch, name, value):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json("https://x.test", **{name: value}))
    with pytest.raises(ValueError, match=name):
        CanvasHook().settings  # noqa: B018


@pytest.mark.parametrize("kind", ["throttle_429", "throttle_retry_after"])
def test_no_retry_starts_before_retry_after(emulator, kind):
    emulator.add_fault(Fault(kind=kind, count=1, delay=0.6))
    assert CanvasHook().run(SELF)["id"]  # backoff is 0.01 s in tests: only Retry-After can hold it
    first, second = api_requests(emulator)
    assert first.status in (403, 429) and second.status == 200
    assert second.time - first.time >= 0.6


def test_a_retry_after_beyond_the_retry_budget_is_not_waited_out(emulator):
    emulator.add_fault(Fault(kind="throttle_429", count=1, delay=30))
    with pytest.raises(CanvasRateLimitError):
        CanvasHook(retry_max_seconds=5).run(SELF)
    assert len(api_requests(emulator)) == 1


@pytest.mark.parametrize("kind", ["500_after_action", "reset_after_action"])
def test_start_once_adopts_the_report_whose_answer_was_lost(emulator, kind):
    """What a TaskFlow task calling the hook gets: the same exactly-once start as the operator."""
    emulator.add_fault(Fault(kind=kind, count=1, method="POST"))
    report = CanvasHook().start_course_report_once(330, "course_pace_docx", {"section_ids": [1]})
    assert emulator.post_count(330) == 1
    posts = [r for r in api_requests(emulator) if r.method == "POST"]
    assert len(posts) == 1  # not sent again: the report the lost answer carried was found
    assert report["id"] == emulator.report_json(report["id"])["id"]


def test_start_once_sends_again_when_canvas_made_nothing(emulator):
    emulator.add_fault(Fault(kind="500", count=1, method="POST"))  # refused before anything was made
    report = CanvasHook().start_course_report_once(331, "course_pace_docx", {"section_ids": [1]})
    assert len([r for r in api_requests(emulator) if r.method == "POST"]) == 2
    assert emulator.post_count(331) == 1
    assert report["status"] == "created"


def test_start_once_does_not_adopt_a_report_for_other_sections(emulator):
    CanvasHook().start_course_report(332, "course_pace_docx", {"section_ids": [2]})
    emulator.add_fault(Fault(kind="500", count=1, method="POST"))
    CanvasHook().start_course_report_once(332, "course_pace_docx", {"section_ids": [1]})
    assert emulator.post_count(332) == 2


def test_start_once_gives_up_after_three_lost_answers(emulator):
    emulator.add_fault(Fault(kind="500", count=-1, method="POST"))
    with pytest.raises(CanvasServerError):
        CanvasHook().start_course_report_once(333, "course_pace_docx", {"section_ids": [1]})
    assert len([r for r in api_requests(emulator) if r.method == "POST"]) == 3
