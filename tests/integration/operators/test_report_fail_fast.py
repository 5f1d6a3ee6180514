"""
Errors no retry can fix fail the task on its first try, naming what to fix; errors that pass
(throttling, 5xx, network) still get the task's Airflow retries.
"""

from __future__ import annotations

import pytest

from airflow_provider_canvas_reports.testing import Fault, connection_json
from tests.dags.fail_fast import fail_fast
from tests.helpers import run_dag

COURSE = 301


def run(**conf: object):
    """Run the DAG with every param given (a DAG object keeps the params of its last test run)."""
    return run_dag(
        fail_fast,
        run_conf={
            "course_id": COURSE,
            "report_type": "course_pace_docx",
            "conn_id": "canvas_default",
            **conf,
        },
    )


@pytest.fixture
def wrong_tokens(emulator, monkeypatch):
    """Connections to the emulator with a token it does not know, and with a student's token."""
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_BAD_TOKEN", connection_json(emulator.base_url, "not-a-token"))
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_STUDENT", connection_json(emulator.base_url, "student-token"))


@pytest.mark.usefixtures("wrong_tokens")
@pytest.mark.parametrize(
    ("conf", "status", "what_to_fix"),
    [
        (
            {"conn_id": "canvas_bad_token"},
            401,
            "Check the access token (the password of the Canvas connection)",
        ),
        ({"conn_id": "canvas_student"}, 403, "it needs the right read_reports in the course"),
        ({"course_id": 1_000_000_001}, 404, "Check the course id"),
        ({"report_type": "grade_export_csv"}, 400, "Check the report type"),
    ],
    ids=["bad-token", "no-permission", "unknown-course", "unknown-report-type"],
)
def test_error_no_retry_can_fix_fails_on_the_first_try(emulator, capfd, conf, status, what_to_fix):
    result = run(**conf)

    assert result.state == "failed"
    assert result.task_states == {"start": "failed", "wait": "upstream_failed"}
    assert result.task_tries["start"] == 1  # retries=2, but no retry could help
    (request,) = emulator.requests  # one request: neither the hook nor Airflow tried again
    assert (request.method, request.status) == ("POST", status)
    assert emulator.post_count() == 0
    out = capfd.readouterr().out
    assert f"failed with HTTP {status}" in out
    assert what_to_fix in out


def test_unknown_report_type_message_carries_canvas_words(emulator, capfd):
    run(report_type="grade_export_csv")
    assert "invalid report type grade_export_csv. Check the report type" in capfd.readouterr().out


def test_server_errors_still_get_airflow_retries(emulator):
    emulator.add_fault(Fault(kind="503", count=-1, method="POST"))
    emulator.add_fault(Fault(kind="503", count=-1, method="GET"))
    result = run()
    assert result.state == "failed"
    assert result.task_tries["start"] == 3  # the first try and both retries
    assert emulator.post_count(COURSE) == 0


@pytest.mark.parametrize(
    ("connection", "what_to_fix"),
    [
        ({"conn_type": "canvas", "host": "https://canvas.example.edu"}, "has no credentials"),
        ({"conn_type": "canvas", "password": "t"}, "has no host"),
        ({"conn_type": "canvas", "host": "http://canvas.example.edu", "password": "t"}, "Refusing plain"),
    ],
    ids=["no-token", "no-host", "plain-http"],
)
def test_an_unusable_connection_fails_on_the_first_try(emulator, monkeypatch, capfd, connection, what_to_fix):
    import json

    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_BROKEN", json.dumps(connection))
    result = run(conn_id="canvas_broken")

    assert result.task_tries["start"] == 1
    assert result.task_states["start"] == "failed"
    assert emulator.requests == []
    out = capfd.readouterr().out
    assert "Connection 'canvas_broken'" in out
    assert what_to_fix in out
