"""CourseReportTrigger run in an event loop against the emulator."""

from __future__ import annotations

import asyncio
import importlib
import json
import time

import pytest
import requests

from airflow_provider_canvas_reports.client.transport import async_clients
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour, connection_json
from tests.helpers import TOKEN, collect, start_report, trigger_for


def test_serialize_round_trip_uses_primitives_only():
    trigger = trigger_for(301, 7, end_time=time.time() + 60, timeout=60.0)
    path, kwargs = trigger.serialize()
    assert json.loads(json.dumps(kwargs)) == kwargs
    module, _, name = path.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)


async def test_yields_exactly_one_success_event_without_file_url(emulator):
    emulator.set_behaviour(301, ReportBehaviour(running_seconds=0.3))
    report_id = start_report(301)
    events = await collect(trigger_for(301, report_id))
    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "success"
    assert payload["report"]["id"] == report_id
    assert "file_url" not in json.dumps(payload)
    assert "verifier" not in json.dumps(payload)


async def test_failed_report_is_a_failed_event(emulator):
    emulator.set_behaviour(302, ReportBehaviour(running_seconds=0.1, outcome="error"))
    events = await collect(trigger_for(302, start_report(302)))
    assert [e.payload["status"] for e in events] == ["failed"]
    assert "ended in 'error'" in events[0].payload["message"]


async def test_report_without_sections_ends_in_error_event(emulator):
    emulator.set_behaviour(303, ReportBehaviour(running_seconds=0.1))
    # The hook refuses such a start; a report made elsewhere (e.g. in Canvas's UI) can still be one.
    response = requests.post(
        f"{emulator.base_url}/api/v1/courses/303/reports/course_pace_docx",
        json={"parameters": {}},
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    report_id = response.json()["id"]
    events = await collect(trigger_for(303, report_id))
    assert [e.payload["status"] for e in events] == ["failed"]


async def test_timeout_event_reports_the_running_report(emulator):
    emulator.set_behaviour(304, ReportBehaviour(hold=True))
    report_id = start_report(304)
    events = await collect(trigger_for(304, report_id, end_time=time.time() + 0.3, timeout=0.3))
    assert [e.payload["status"] for e in events] == ["timeout"]
    assert "running" in events[0].payload["message"]
    assert events[0].payload["report"]["id"] == report_id


async def test_persistent_api_failure_is_an_error_event(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(emulator.base_url, "bad-token"))
    events = await collect(trigger_for(305, 1))
    assert [e.payload["status"] for e in events] == ["error"]
    assert "Invalid access token" in events[0].payload["message"]
    assert "bad-token" not in events[0].payload["message"]


async def test_transient_errors_during_polling_are_ridden_out(emulator):
    emulator.set_behaviour(306, ReportBehaviour(running_seconds=0.4))
    report_id = start_report(306)
    for kind in ("503", "throttle", "reset", "500", "throttle_429"):  # five in a row; six attempts allowed
        emulator.add_fault(Fault(kind=kind, count=1, method="GET"))
    events = await collect(trigger_for(306, report_id))
    assert [e.payload["status"] for e in events] == ["success"]


async def test_cancellation_releases_the_shared_client(emulator):
    emulator.set_behaviour(307, ReportBehaviour(hold=True))
    report_id = start_report(307)
    task = asyncio.create_task(collect(trigger_for(307, report_id)))
    deadline = time.monotonic() + 5
    while len(emulator.requests) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert async_clients.leased() == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert async_clients.leased() == 0


async def test_many_triggers_share_a_few_pooled_connections(emulator):
    course_ids = range(400, 440)
    for course_id in course_ids:
        emulator.set_behaviour(course_id, ReportBehaviour(hold=True))
    report_ids = {course_id: start_report(course_id) for course_id in course_ids}
    emulator.reset_records()
    hook_params = {"settings_overrides": {"max_connections": 4}}
    triggers = [trigger_for(c, r, hook_params=hook_params) for c, r in report_ids.items()]
    waiting = asyncio.gather(*(collect(t) for t in triggers))

    def polls() -> list:
        return [r for r in emulator.requests if r.method == "GET"]

    # Held reports keep every trigger polling however long the 40 starts took; release them after
    # each trigger has had a few polls on average.
    deadline = time.monotonic() + 10
    while len(polls()) < 3 * len(triggers) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for report_id in report_ids.values():
        emulator.finish_report(report_id)
    results = await asyncio.wait_for(waiting, timeout=10)
    assert all([e.payload["status"] for e in events] == ["success"] for events in results)
    assert len(polls()) >= 3 * len(triggers)
    assert len({r.connection_id for r in polls()}) <= 4


@pytest.mark.parametrize("poll_interval", [0.05, 1.0, 20.0, 300.0])
async def test_poll_wake_ups_land_on_the_loops_grid_within_half_a_step(poll_interval):
    from airflow_provider_canvas_reports.triggers import wake_grid

    loop = asyncio.get_running_loop()
    step = wake_grid.grid_step(poll_interval)
    assert step == min(0.1, poll_interval / 10)
    for delay in (0.0, 0.013, 0.12, 0.26):
        before = loop.time()
        waiting = wake_grid.sleep(delay, poll_interval)
        after = loop.time()
        [point] = wake_grid.pending_points()
        assert abs(point / step - round(point / step)) < 1e-6
        assert before + delay - step / 2 - 1e-9 <= point <= after + delay + step / 2 + 1e-9
        await waiting
        assert loop.time() >= point - 1e-6  # never early
        assert wake_grid.pending_points() == []


async def test_sleepers_due_at_one_grid_point_share_one_timer_and_a_cancelled_one_wakes_no_other():
    from airflow_provider_canvas_reports.triggers import wake_grid

    loop = asyncio.get_running_loop()
    assert wake_grid.pending_points() == []
    # 200 sleepers due within 1 ms of each other, on a 0.1 s grid: one point, unless the 1 ms
    # straddles a point's midway mark, in which case two.
    start = loop.time()
    sleepers = [asyncio.ensure_future(wake_grid.sleep(0.5 - (loop.time() - start), 20.0)) for _ in range(200)]
    assert 1 <= len(wake_grid.pending_points()) <= 2
    sleepers[7].cancel()
    await asyncio.wait(sleepers)
    assert sleepers[7].cancelled()
    assert [s.result() for i, s in enumerate(sleepers) if i != 7] == [None] * 199
    assert wake_grid.pending_points() == []


async def test_waiting_triggers_hold_no_hook_no_retry_state_and_share_one_session(emulator):
    import gc

    import aiohttp
    import tenacity
    from tenacity.retry import retry_base
    from tenacity.stop import stop_base
    from tenacity.wait import wait_base

    retry_types = (tenacity.BaseRetrying, tenacity.RetryCallState, stop_base, wait_base, retry_base)

    def census() -> dict[str, int]:
        gc.collect()
        # type(), not isinstance(): some lazy proxies import a module when asked for __class__.
        kinds = [type(o) for o in gc.get_objects()]
        sessions = [o for o in gc.get_objects() if type(o) is aiohttp.ClientSession]
        return {
            "hooks": sum(issubclass(kind, CanvasHook) for kind in kinds),
            "retry state": sum(issubclass(kind, retry_types) for kind in kinds),
            "open sessions": sum(not session.closed for session in sessions),
        }

    course_ids = range(450, 470)
    for course_id in course_ids:
        emulator.set_behaviour(course_id, ReportBehaviour(hold=True, created_seconds=0))
    report_ids = {course_id: start_report(course_id) for course_id in course_ids}
    emulator.reset_records()
    before = census()
    waiting = asyncio.gather(*(collect(trigger_for(c, r, poll_interval=0.2)) for c, r in report_ids.items()))
    deadline = time.monotonic() + 10
    while len(emulator.requests) < 2 * len(report_ids) and time.monotonic() < deadline:
        await asyncio.sleep(0.02)

    assert async_clients.leased() == len(report_ids)
    # Counted against what was there before: other tests' libraries (s3fs, ...) may hold sessions.
    expected = {**before, "open sessions": before["open sessions"] + 1}
    assert census() == expected

    for report_id in report_ids.values():
        emulator.finish_report(report_id)
    results = await asyncio.wait_for(waiting, timeout=10)
    assert all([e.payload["status"] for e in events] == ["success"] for events in results)
    assert async_clients.leased() == 0
