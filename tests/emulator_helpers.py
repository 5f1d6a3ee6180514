"""Helpers for the emulator's own tests: constants, URLs, starting and polling reports."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports.testing import ReportBehaviour, run_report

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from airflow_provider_canvas_reports.testing import CanvasEmulator

TEACHER = "teacher-token"  # DEFAULT_TOKENS: every emulator knows these users
OTHER_TEACHER = "other-teacher-token"
STUDENT = "student-token"
FAST = ReportBehaviour(created_seconds=0, running_seconds=0)


def self_url(emu: CanvasEmulator) -> str:
    """``/api/v1/users/self``: a cheap authenticated request that answers 200."""
    return f"{emu.base_url}/api/v1/users/self"


def reports_url(emu: CanvasEmulator, course: int | str = 1, report_type: str = "course_pace_docx") -> str:
    """``/api/v1/courses/:course/reports/:type``."""
    return f"{emu.base_url}/api/v1/courses/{course}/reports/{report_type}"


def start(
    session: requests.Session,
    emu: CanvasEmulator,
    course: int | str = 1,
    sections: list[int] | None = None,
    enrollments: list[int] | None = None,
) -> dict[str, Any]:
    """Start a course pace report with a JSON body; assert it was accepted; return its JSON."""
    parameters: dict[str, list[int]] = {}
    if sections is not None:
        parameters["section_ids"] = sections
    if enrollments is not None:
        parameters["enrollment_ids"] = enrollments
    response = session.post(reports_url(emu, course), json={"parameters": parameters}, timeout=5)
    assert response.status_code == 200, response.text
    return dict(response.json())


def poll_until(
    session: requests.Session,
    url: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 5.0,
    interval: float = 0.01,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """GET ``url`` until ``done(json)``; return the last body and every body seen. Fails at the deadline."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = session.get(url, timeout=5)
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if done(seen[-1]):
            return seen[-1], seen
        time.sleep(interval)
    raise AssertionError(f"condition not reached within {timeout}s; last body: {seen[-1] if seen else None}")


def finished(body: dict[str, Any]) -> bool:
    """The report reached a terminal status."""
    return body.get("status") in ("complete", "error")


def complete_report(
    session: requests.Session,
    emu: CanvasEmulator,
    course: int = 1,
    sections: list[int] | None = None,
    enrollments: list[int] | None = None,
) -> dict[str, Any]:
    """Start a report as the session's user (a teacher) and poll it to a terminal status."""
    parameters: dict[str, list[int]] = {}
    if sections is not None:
        parameters["section_ids"] = sections
    if enrollments is not None:
        parameters["enrollment_ids"] = enrollments
    token = session.headers["Authorization"].removeprefix("Bearer ")
    return run_report(emu.base_url, str(token), f"courses/{course}/reports/course_pace_docx", parameters)
