"""Canvas's leaky-bucket throttle: headers on every response, and the 403 once the bucket is full."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import requests

from tests.emulator_helpers import OTHER_TEACHER, TEACHER, self_url

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing import CanvasEmulator


def test_every_api_response_carries_cost_and_remaining(emu: CanvasEmulator, api: requests.Session) -> None:
    for response in (api.get(self_url(emu)), api.get(f"{emu.base_url}/api/v1/nothing")):
        assert response.headers["X-Request-Cost"] == "1.0"
        remaining = float(response.headers["X-Rate-Limit-Remaining"])
        assert 598.0 <= remaining <= 600.0  # 599, plus what leaked while the request ran


def test_request_cost_is_settable_and_fills_the_bucket(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.request_cost = 50.0
    emu.leak_rate = 0.0
    remaining = [float(api.get(self_url(emu)).headers["X-Rate-Limit-Remaining"]) for _ in range(3)]
    assert remaining == [550.0, 500.0, 450.0]


def test_full_bucket_answers_plain_text_403_without_retry_after(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.set_rate_limit_remaining(TEACHER, 0)
    response = api.get(self_url(emu))
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "403 Forbidden (Rate Limit Exceeded)\n"
    assert "Retry-After" not in response.headers
    assert "X-Request-Cost" not in response.headers


def test_throttle_is_per_token(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.set_rate_limit_remaining(TEACHER, -5)
    assert api.get(self_url(emu)).status_code == 403
    other = requests.get(self_url(emu), headers={"Authorization": f"Bearer {OTHER_TEACHER}"})
    assert other.status_code == 200


def test_bucket_leaks_so_a_client_that_waits_gets_through(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.leak_rate = 100.0
    emu.set_rate_limit_remaining(TEACHER, -10)
    assert api.get(self_url(emu)).status_code == 403
    deadline = time.monotonic() + 3
    while api.get(self_url(emu)).status_code == 403:
        assert time.monotonic() < deadline, "bucket never leaked"
        time.sleep(0.02)


def test_low_remaining_is_reported_so_clients_can_slow_down(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.set_rate_limit_remaining(TEACHER, 60.5)
    response = api.get(self_url(emu))
    assert response.status_code == 200
    assert float(response.headers["X-Rate-Limit-Remaining"]) < 65.0


def test_a_request_is_refused_once_its_up_front_cost_would_fill_the_bucket(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    """Canvas adds 50 up front and refuses a request that then finds the bucket at 600."""
    emu.leak_rate = 0.0
    emu.set_rate_limit_remaining(TEACHER, 50.5)
    assert api.get(self_url(emu)).status_code == 200  # 549.5 + 50 < 600
    emu.set_rate_limit_remaining(TEACHER, 50.0)
    response = api.get(self_url(emu))
    assert response.status_code == 403  # 550 + 50 = 600: full
    assert response.headers["X-Rate-Limit-Remaining"] == "50.0"  # the up-front cost is given back
    assert emu.throttled_count == 1
