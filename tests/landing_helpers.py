"""Arranging a finished report in the emulator, for tests that land its file."""

from __future__ import annotations

import time
from typing import Any

from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import ReportBehaviour


def finished_report(
    emulator: Any, course_id: int, sections: tuple[int, ...] = (1,), **behaviour: Any
) -> dict:
    """Start a report for ``course_id`` and wait (bounded) until the emulator says it is complete."""
    emulator.set_behaviour(course_id, ReportBehaviour(running_seconds=0, created_seconds=0, **behaviour))
    hook = CanvasHook()
    report = hook.start_course_report(course_id, "course_pace_docx", {"section_ids": list(sections)})
    deadline = time.monotonic() + 10
    while report["status"] != "complete" and time.monotonic() < deadline:
        time.sleep(0.02)
        report = hook.get_course_report(course_id, "course_pace_docx", report["id"])
    assert report["status"] == "complete", report
    return report


def download_conf(course_id: int, report: dict, destination: object) -> dict[str, Any]:
    return {"course_id": course_id, "report_id": report["id"], "destination": str(destination)}
