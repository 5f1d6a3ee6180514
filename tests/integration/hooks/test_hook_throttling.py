"""
Many calls on one token at once, against canvas-lms's throttle as the emulator plays it: every
request in flight holds 50 of the bucket's 600 units for its server time, so a burst is refused in
part (403 "Rate Limit Exceeded"); the hook backs off and every call still gets its answer.
"""

from __future__ import annotations

import asyncio

from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from tests.helpers import TOKEN

BURST = 16
#: Retries that outlast the requests in flight (the test connection's backoff is 10 ms).
PATIENT = {
    "max_connections": BURST,
    "retry_limit": 10,
    "retry_backoff_seconds": 0.5,
    "retry_backoff_max_seconds": 2,
}


def test_a_burst_of_threads_on_one_token_is_throttled_and_every_call_still_succeeds(emulator, capfd):
    emulator.set_throttle(request_seconds=2.0)  # long enough for the whole burst to be in flight at once
    hook = CanvasHook(settings_overrides=PATIENT)
    found = dict(hook.iter_sections_of_courses(range(1, BURST + 1), concurrency=BURST))
    assert {course: [s["id"] for s in sections] for course, sections in found.items()} == {
        course: [1] for course in range(1, BURST + 1)
    }
    assert emulator.throttled_count > 0  # 12 in flight fill the bucket: the rest were refused, then retried
    assert "Rate Limit Exceeded" in capfd.readouterr().out  # each refusal logged with its retry


async def test_a_burst_of_coroutines_sharing_the_loop_s_client_is_throttled_and_every_poll_succeeds(emulator):
    emulator.set_throttle(request_seconds=2.0)
    hook = CanvasHook(settings_overrides=PATIENT)
    found = await asyncio.gather(*(hook.alist_course_sections(course) for course in range(1, BURST + 1)))
    assert [[s["id"] for s in sections] for sections in found] == [[1]] * BURST
    assert emulator.throttled_count > 0


def test_max_connections_keeps_a_triggerer_s_burst_under_the_throttle(emulator):
    """Eight in flight at once hold 400 units: the same burst through the default gate is never refused."""
    emulator.set_throttle(request_seconds=0.5)

    async def burst() -> list:
        hook = CanvasHook()  # max_connections 8: the loop's client lets 8 requests through at a time
        return await asyncio.gather(*(hook.alist_course_sections(c) for c in range(1, BURST + 1)))

    assert len(asyncio.run(burst())) == BURST
    assert emulator.throttled_count == 0
    assert TOKEN in {r.headers["authorization"].removeprefix("Bearer ") for r in emulator.requests}
