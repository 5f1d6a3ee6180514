"""Driving the emulator from outside: the control API, ``EmulatorControl``, the CLI and the fixtures."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from airflow_provider_canvas_reports.testing import EmulatorControl, Fault, ReportBehaviour
from tests.emulator_helpers import TEACHER, reports_url, self_url, start

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing import CanvasEmulator

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def control(emu: CanvasEmulator) -> EmulatorControl:
    """A control client for ``emu``."""
    return EmulatorControl(emu.base_url)


def test_control_stats_and_requests_mirror_the_emulator(
    emu: CanvasEmulator, api: requests.Session, control: EmulatorControl
) -> None:
    start(api, emu, 5, sections=[1])
    stats = control.stats()
    assert stats["post_counts"] == {"5": 1}
    assert stats["connections"] == {"api": 1, "storage": 0, "files": 0}
    assert control.post_count(5) == 1 and control.post_count() == 1
    [record] = control.requests()
    assert record.method == "POST"
    assert record.headers["authorization"] == f"Bearer {TEACHER}"
    assert record.body == emu.requests[0].body


def test_control_adds_and_clears_faults(
    emu: CanvasEmulator, api: requests.Session, control: EmulatorControl
) -> None:
    added = control.add_fault(Fault("503", count=-1, path_contains="/users/self"))
    assert added.kind == "503"
    assert api.get(self_url(emu)).status_code == 503
    control.clear_faults()
    assert api.get(self_url(emu)).status_code == 200


def test_control_sets_behaviour_and_finishes_held_reports(
    emu: CanvasEmulator, api: requests.Session, control: EmulatorControl
) -> None:
    control.set_behaviour(8, ReportBehaviour(created_seconds=0, running_seconds=0, hold=True))
    report = start(api, emu, 8, sections=[1])
    assert control.report_json(report["id"])["status"] == "running"
    control.finish_report(report["id"])
    assert api.get(f"{reports_url(emu, 8)}/{report['id']}").json()["status"] == "complete"


def test_control_sets_the_default_behaviour(emu: CanvasEmulator, control: EmulatorControl) -> None:
    control.set_behaviour(None, outcome="error", progress=True)
    assert emu.default_behaviour.outcome == "error"
    assert emu.default_behaviour.progress is True


def test_control_sets_the_canvas_version_behaviours(
    emu: CanvasEmulator, api: requests.Session, control: EmulatorControl
) -> None:
    assert control.urls() == {
        "base_url": emu.base_url,
        "storage_url": emu.storage_url,
        "files_url": emu.files_url,
    }
    control.set_behaviour(
        9, created_seconds=0, running_seconds=0, last_without_report="empty", progress=True, file_host="files"
    )
    assert (api.get(reports_url(emu, 9)).status_code, api.get(reports_url(emu, 10)).status_code) == (200, 500)
    report = start(api, emu, 9, sections=[1])
    body = api.get(f"{reports_url(emu, 9)}/{report['id']}").json()
    assert body["file_url"].startswith(f"{emu.files_url}/files/")
    assert "progress" in body
    bad = requests.put(f"{emu.base_url}/__emulator__/behaviour", json={"file_host": "cdn"})
    assert bad.status_code == 400 and "file_host" in bad.json()["error"]


def test_control_reset_records_and_full_reset(
    emu: CanvasEmulator, api: requests.Session, control: EmulatorControl
) -> None:
    start(api, emu, 1, sections=[1])
    control.reset_records()
    assert control.post_count() == 0 and emu.requests == []
    assert len(emu.reports) == 1
    control.add_fault(Fault("500"))
    control.reset()
    assert emu.reports == {} and emu.faults == []
    assert api.get(reports_url(emu, 1)).status_code == 500  # no last report any more


def test_control_rejects_bad_input_and_unknown_routes(emu: CanvasEmulator) -> None:
    bad = requests.post(f"{emu.base_url}/__emulator__/faults", json={"kind": "nope"})
    assert bad.status_code == 400
    assert requests.get(f"{emu.base_url}/__emulator__/nothing").status_code == 404
    assert requests.post(f"{emu.base_url}/__emulator__/reports/999/finish", json={}).status_code == 404


def test_cli_flags_select_older_canvas_answers_and_the_files_domain() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [
        *(sys.executable, "-m", "airflow_provider_canvas_reports.testing", "--port", "0"),
        *("--created-seconds", "0", "--running-seconds", "0", "--last-empty", "--progress", "--files-domain"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        listening = re.search(r"listening on (\S+)", process.stdout.readline())
        files_line = re.fullmatch(r"canvas emulator files domain on (\S+)\n", process.stdout.readline())
        assert listening and files_line
        base_url, files_url = listening[1], files_line[1]
        assert EmulatorControl(base_url).urls()["files_url"] == files_url
        with requests.Session() as session:
            session.headers["Authorization"] = "Bearer emulator-token"
            last = session.get(f"{base_url}/api/v1/courses/1/reports/course_pace_docx", timeout=5)
            assert (last.status_code, last.text) == (200, "{}")
            started = session.post(
                f"{base_url}/api/v1/courses/1/reports/course_pace_docx",
                json={"parameters": {"section_ids": [1]}},
                timeout=5,
            ).json()
            body = EmulatorControl(base_url).report_json(started["id"])
        assert started["progress"] == 0
        assert body["status"] == "complete" and body["file_url"].startswith(f"{files_url}/files/")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_serves_until_sigterm_and_exits_zero() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "airflow_provider_canvas_reports.testing",
        "--port",
        "0",
        "--token",
        "cli-token",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(
            r"canvas emulator listening on (http://127\.0\.0\.1:\d+) \(storage http://127\.0\.0\.1:\d+\) "
            r"token=cli-token\n",
            line,
        )
        assert match, line
        response = requests.get(
            f"{match[1]}/api/v1/users/self", headers={"Authorization": "Bearer cli-token"}
        )
        assert response.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_cli_refuses_a_non_loopback_host() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "airflow_provider_canvas_reports.testing",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 2
    assert "loopback" in result.stderr


def test_emulator_refuses_a_non_loopback_host() -> None:
    from airflow_provider_canvas_reports.testing import CanvasEmulator

    with pytest.raises(ValueError, match="loopback"):
        CanvasEmulator(host="0.0.0.0")


def test_function_fixture_gives_a_running_emulator(canvas_emulator: CanvasEmulator) -> None:
    response = requests.get(
        f"{canvas_emulator.base_url}/api/v1/users/self", headers={"Authorization": "Bearer emulator-token"}
    )
    assert canvas_emulator.token == "emulator-token"
    assert response.status_code == 200


def test_shared_fixture_starts_clean(canvas_emulator_shared: CanvasEmulator) -> None:
    assert canvas_emulator_shared.requests == [] and canvas_emulator_shared.reports == {}
    canvas_emulator_shared.add_fault(Fault("500", count=-1))
    canvas_emulator_shared.default_behaviour = ReportBehaviour(outcome="error")


def test_shared_fixture_is_reset_between_tests(canvas_emulator_shared: CanvasEmulator) -> None:
    assert canvas_emulator_shared.faults == []
    assert canvas_emulator_shared.default_behaviour == ReportBehaviour()
