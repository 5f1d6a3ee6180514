"""The emulator throttles as canvas-lms does: each request in flight holds 50 units of the token's
bucket (high-water mark 600), so a dozen at once fill it while the same requests one after another
never do."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
import requests

from airflow_provider_canvas_reports.testing import CanvasEmulator, EmulatorControl

TOKEN = "throttle-token"


@pytest.fixture
def emu() -> Iterator[CanvasEmulator]:
    with CanvasEmulator(tokens={TOKEN: "admin"}) as emulator:
        emulator.set_throttle(request_seconds=0.1, leak_rate=0.0)
        yield emulator


async def concurrent_statuses(emu: CanvasEmulator, count: int) -> list[int]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    limits = httpx.Limits(max_connections=count)
    async with httpx.AsyncClient(base_url=emu.base_url, headers=headers, limits=limits, timeout=30) as client:
        started = asyncio.Event()

        async def one() -> int:
            await started.wait()
            return (await client.get("/api/v1/users/self")).status_code

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        started.set()
        return sorted(await asyncio.gather(*tasks))


async def test_fifteen_requests_in_flight_at_once_fill_the_bucket(emu):
    emu.set_throttle(request_seconds=3.0)  # long enough for all fifteen to arrive on a busy machine
    statuses = await concurrent_statuses(emu, 15)
    # Each admitted request holds 50 while it runs: the twelfth finds 11 * 50 + 50 = 600.
    assert statuses.count(200) == 11 and statuses.count(403) == 4, statuses
    assert emu.throttled_count == 4


def test_the_same_requests_one_after_another_pass(emu):
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TOKEN}"
        statuses = [session.get(f"{emu.base_url}/api/v1/users/self").status_code for _ in range(15)]
    assert set(statuses) == {200}
    assert emu.throttled_count == 0


def test_throttle_settings_over_the_control_api(emu):
    control = EmulatorControl(emu.base_url)
    control.set_throttle(request_cost=5.0, request_seconds=0.0)
    answer = requests.get(f"{emu.base_url}/api/v1/users/self", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.headers["X-Request-Cost"] == "5.0"
    assert float(answer.headers["X-Rate-Limit-Remaining"]) == 595.0
    with pytest.raises(Exception, match="400"):
        control.set_throttle(request_cots=1.0)
