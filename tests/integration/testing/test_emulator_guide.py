"""
The emulator how-to's example, as a user's own test: the pytest plugin's fixture, a connection
pointed at the emulator, injected faults, and what the emulator received.
"""

from __future__ import annotations

# [START emulator_guide_imports]
import json

from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour

# [END emulator_guide_imports]
# The fixture, as ``pytest_plugins = ["airflow_provider_canvas_reports.testing.pytest_plugin"]``
# in a root conftest.py gives it.
from airflow_provider_canvas_reports.testing.pytest_plugin import canvas_emulator  # noqa: F401


def test_a_report_lands_whole_through_two_canvas_errors(canvas_emulator, monkeypatch, tmp_path):  # noqa: F811
    # The connection a DAG would use, pointed at the emulator; retry at once in tests.
    connection = {
        "conn_type": "canvas",
        "host": canvas_emulator.base_url,
        "password": canvas_emulator.token,
        "extra": {"retry_backoff_seconds": 0.01},
    }
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", json.dumps(connection))
    canvas_emulator.set_behaviour(101, ReportBehaviour(created_seconds=0, running_seconds=0))
    canvas_emulator.add_fault(Fault("503", count=2))  # the next two API requests get a 503

    hook = CanvasHook()
    started = hook.start_course_report(101, "course_pace_docx", {"section_ids": [1, 2]})
    report = hook.get_course_report(101, "course_pace_docx", started["id"])
    with open(tmp_path / report["attachment"]["filename"], "wb") as landed:
        result = hook.download_report_file(report, landed)

    assert report["status"] == "complete"
    assert canvas_emulator.post_count(101) == 1  # the 503s were retried; no second report was made
    assert result.sha256 == canvas_emulator.file_sha256(started["id"])
    assert [r.path for r in canvas_emulator.requests if r.status == 503] == [
        "/api/v1/courses/101/reports/course_pace_docx"
    ] * 2
    (storage,) = [r for r in canvas_emulator.requests if r.server == "storage"]
    assert "authorization" not in storage.headers  # the token never goes to the storage host
