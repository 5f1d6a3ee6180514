"""
A DAG on a developer key connection, end to end in dag.test(): start → deferrable wait → download,
with the access token expiring while the trigger waits (one token call per expiry), a bad grant
failing the first try with no report request, and no secret anywhere a user can read.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.dags import canvas_scale_scenarios as scenarios
from tests.helpers import (
    developer_key_connection_json,
    new_developer_key,
    on_status_reads,
    places_a_user_reads,
    run_dag,
)

TOKEN_PATH = "/login/oauth2/token"


@pytest.fixture
def key(emulator, monkeypatch):
    made = new_developer_key(emulator)
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_KEY", developer_key_connection_json(emulator.base_url, made))
    return made


def test_a_run_whose_token_expires_while_it_waits_renews_it_once_and_leaks_no_secret(
    emulator, key, tmp_path, capfd, caplog
):
    caplog.set_level(logging.DEBUG)
    emulator.set_behaviour(330, ReportBehaviour(hold=True))
    with (
        on_status_reads(emulator, 330, after_gets=2, action=lambda _: emulator.expire_access_tokens()),
        on_status_reads(emulator, 330, after_gets=4, action=emulator.finish_report),
    ):
        result = run_dag(
            scenarios.developer_key_round_trip, run_conf={"course_id": 330, "destination": f"{tmp_path}/"}
        )

    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    assert Path(tmp_path / landed["filename"]).read_bytes() == emulator.file_bytes(landed["report_id"])
    assert emulator.post_count(330) == 1
    assert sum(1 for r in emulator.requests if r.path == TOKEN_PATH) == 2  # the first, one renewal
    assert [r.path for r in emulator.requests if r.status == 401] == [
        f"/api/v1/courses/330/reports/course_pace_docx/{landed['report_id']}"
    ]

    secrets = [key["client_secret"], key["refresh_token"], *emulator.access_tokens]
    assert len(secrets) == 4
    captured = capfd.readouterr()
    places = places_a_user_reads(result.run_id, captured.out + captured.err, caplog.text)
    assert "getting a new one from the developer key" in places["stdout/stderr"]  # the logs are searched
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:6]}...) is in {where}"


def test_a_refresh_token_canvas_does_not_know_fails_the_first_try_with_no_report_request(
    emulator, key, monkeypatch, tmp_path
):
    connection = json.loads(os.environ["AIRFLOW_CONN_CANVAS_KEY"])
    connection["extra"]["refresh_token"] = "1~revoked-by-the-user"
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_KEY", json.dumps(connection))
    result = run_dag(
        scenarios.developer_key_round_trip, run_conf={"course_id": 331, "destination": f"{tmp_path}/"}
    )
    assert result.task_states["start"] == "failed"
    assert result.task_tries["start"] == 1
    assert [(r.path, r.status) for r in emulator.requests] == [(TOKEN_PATH, 400)]
