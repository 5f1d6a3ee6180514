"""Report lifecycle: statuses over time, the report object's shape, progress, last report, queueing."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.emulator_helpers import (
    OTHER_TEACHER,
    finished,
    poll_until,
    reports_url,
    start,
)

if TYPE_CHECKING:
    import requests

    from airflow_provider_canvas_reports.testing import CanvasEmulator

KEY_ORDER = ["id", "parameters", "status", "report_type", "course_id", "created_at", "started_at", "ended_at"]
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d-06:00$")


def _dedupe(values: list[str]) -> list[str]:
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def test_status_moves_from_created_to_running_to_complete(emu: CanvasEmulator, api: requests.Session) -> None:
    report = start(api, emu, 11, sections=[1])
    _, seen = poll_until(api, f"{reports_url(emu, 11)}/{report['id']}", finished)
    assert _dedupe([body["status"] for body in seen]) == ["created", "running", "complete"]


def test_start_answers_created_with_canvas_key_order_and_null_fields(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    report = start(api, emu, 12, sections=[1])
    assert list(report) == [*KEY_ORDER, "file_url"]
    assert report["status"] == "created"
    assert report["course_id"] == 12
    assert report["report_type"] == "course_pace_docx"
    assert (report["started_at"], report["ended_at"], report["file_url"]) == (None, None, None)
    assert ISO_WITH_OFFSET.match(report["created_at"])


def test_complete_report_ends_with_file_url_and_attachment_and_has_no_progress(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    report = start(api, emu, 13, sections=[1])
    body, seen = poll_until(api, f"{reports_url(emu, 13)}/{report['id']}", finished)
    assert list(body) == [*KEY_ORDER, "file_url", "attachment"]
    assert not any("progress" in read for read in seen)
    assert ISO_WITH_OFFSET.match(body["started_at"]) and ISO_WITH_OFFSET.match(body["ended_at"])
    assert body["file_url"] == body["attachment"]["url"]


def test_timestamps_stay_null_until_reached(emu: CanvasEmulator, api: requests.Session) -> None:
    report = start(api, emu, 14, sections=[1])
    _, seen = poll_until(api, f"{reports_url(emu, 14)}/{report['id']}", finished)
    for body in seen:
        assert (body["started_at"] is None) == (body["status"] == "created")
        assert (body["ended_at"] is None) == (body["status"] in ("created", "running"))
        assert ("attachment" in body) == (body["status"] == "complete")


def test_progress_is_not_monotonic_while_running(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0.6, progress=True)
    report = start(api, emu, 15, sections=[1])
    _, seen = poll_until(api, f"{reports_url(emu, 15)}/{report['id']}", finished, interval=0.02)
    running = [body["progress"] for body in seen if body["status"] == "running"]
    assert any(later < earlier for earlier, later in pairwise(running)), running


def test_progress_is_below_100_on_the_first_read_after_complete(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.default_behaviour = ReportBehaviour(created_seconds=0, hold=True, progress=True)
    report = start(api, emu, 16, sections=[1])
    emu.finish_report(report["id"])
    url = f"{reports_url(emu, 16)}/{report['id']}"
    first, second = api.get(url).json(), api.get(url).json()
    assert first["status"] == second["status"] == "complete"
    assert first["progress"] < 100
    assert second["progress"] == 100


def test_progress_key_comes_last_when_behaviour_enables_it(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0, progress=True)
    report = start(api, emu, 17, sections=[1])
    body, _ = poll_until(api, f"{reports_url(emu, 17)}/{report['id']}", finished)
    assert list(report) == [*KEY_ORDER, "file_url", "progress"]
    assert list(body) == [*KEY_ORDER, "file_url", "attachment", "progress"]
    assert report["progress"] == 0


def test_held_report_stays_running_until_finished(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.set_behaviour(18, ReportBehaviour(created_seconds=0, running_seconds=0, hold=True))
    report = start(api, emu, 18, sections=[1])
    url = f"{reports_url(emu, 18)}/{report['id']}"
    assert api.get(url).json()["status"] == "running"
    emu.finish_report(report["id"])
    assert api.get(url).json()["status"] == "complete"


def test_finish_report_can_end_a_held_report_in_error(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.default_behaviour = ReportBehaviour(created_seconds=0, hold=True)
    report = start(api, emu, 19, sections=[1])
    emu.finish_report(report["id"], outcome="error")
    body = api.get(f"{reports_url(emu, 19)}/{report['id']}").json()
    assert body["status"] == "error"
    assert body["file_url"] is None and "attachment" not in body


def test_error_outcome_ends_in_error_without_file(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0, outcome="error")
    report = start(api, emu, 20, sections=[1])
    body, _ = poll_until(api, f"{reports_url(emu, 20)}/{report['id']}", finished)
    assert body["status"] == "error"
    assert body["ended_at"] is not None and body["file_url"] is None


def test_reports_of_one_course_run_one_after_another(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0, hold=True)
    first = start(api, emu, 21, sections=[1])
    emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0)
    second = start(api, emu, 21, sections=[2])
    other_course = start(api, emu, 22, sections=[1])
    second_url = f"{reports_url(emu, 21)}/{second['id']}"
    assert api.get(second_url).json()["status"] == "created"
    assert api.get(f"{reports_url(emu, 22)}/{other_course['id']}").json()["status"] == "complete"
    emu.finish_report(first["id"])
    assert api.get(second_url).json()["status"] == "complete"


def test_each_post_creates_a_new_report_even_while_one_runs(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    first = start(api, emu, 23, sections=[1])
    second = start(api, emu, 23, sections=[1])
    assert first["id"] != second["id"]
    assert emu.post_count(23) == 2


def test_report_type_segment_is_ignored_when_reading_a_report(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    report = start(api, emu, 24, sections=[1])
    response = api.get(f"{reports_url(emu, 24, 'anything_else')}/{report['id']}")
    assert response.status_code == 200
    assert response.json()["id"] == report["id"]


def test_last_report_is_canvas_500_when_none_exists(emu: CanvasEmulator, api: requests.Session) -> None:
    first, second = api.get(reports_url(emu, 25)), api.get(reports_url(emu, 25))
    assert (first.status_code, second.status_code) == (500, 500)
    body = first.json()
    assert list(body) == ["errors", "error_report_id"]
    assert body["errors"] == [{"message": "An error occurred.", "error_code": "internal_server_error"}]
    assert second.json()["error_report_id"] == body["error_report_id"] + 1
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert emu.post_count() == 0 and emu.reports == {}


def test_last_report_is_empty_object_on_older_canvas(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.set_behaviour(25, ReportBehaviour(last_without_report="empty"))
    response = api.get(reports_url(emu, 25))
    assert (response.status_code, response.text) == (200, "{}")
    assert api.get(reports_url(emu, 26)).status_code == 500  # other courses keep the default


def test_last_report_is_the_callers_most_recent_of_that_type(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    start(api, emu, 26, sections=[1])
    newest = start(api, emu, 26, sections=[2])
    assert api.get(reports_url(emu, 26)).json()["id"] == newest["id"]
    other = api.get(reports_url(emu, 26), headers={"Authorization": f"Bearer {OTHER_TEACHER}"})
    assert other.status_code == 500
    assert api.get(reports_url(emu, 26, "other_type")).status_code == 500
