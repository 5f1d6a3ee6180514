"""
A developer key's access token is got once per process and shared: threads wait on one fetch,
coroutines of an event loop await one fetch, and it is renewed shortly before it expires. The
fetch here is a counting function standing in for the token call (its HTTP side is tested against
the emulator in tests/integration/hooks).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from airflow_provider_canvas_reports.client.auth import DeveloperKeyTokens, TokenSource, refused
from airflow_provider_canvas_reports.client.settings import DeveloperKey
from airflow_provider_canvas_reports.exceptions import (
    CanvasAuthError,
    CanvasBadRequestError,
    CanvasDeveloperKeyError,
)

KEY = DeveloperKey("170000000000042", "the-client-secret", "1~the-refresh-token")
NOT_FOUND = "invalid_request: refresh_token not found"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Minter:
    """Hands out ``token-1``, ``token-2``, ...; ``gate`` holds each fetch until the test opens it."""

    def __init__(self, expires_in: float = 3600.0, gate: threading.Event | None = None) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.gate = gate

    def __call__(self) -> tuple[str, float]:
        if self.gate is not None:
            assert self.gate.wait(10)
        self.calls += 1
        return f"token-{self.calls}", self.expires_in

    async def afetch(self) -> tuple[str, float]:
        await asyncio.sleep(0.05)  # long enough for every other caller to arrive and wait
        return self()


def test_a_personal_token_is_always_the_same_and_never_refreshed():
    source = TokenSource("personal")
    assert (source.refreshable, source.token(Minter()), source.refresh_after("personal", Minter())) == (
        False,
        "personal",
        "personal",
    )


def test_fifty_threads_that_need_a_token_at_once_cause_one_fetch():
    gate = threading.Event()
    minter = Minter(gate=gate)
    source = DeveloperKeyTokens(KEY)
    with ThreadPoolExecutor(50) as pool:
        futures = [pool.submit(source.token, minter) for _ in range(50)]
        gate.set()
        tokens = {future.result() for future in futures}
    assert (tokens, minter.calls) == ({"token-1"}, 1)


def test_a_token_is_renewed_shortly_before_it_expires_and_not_before():
    clock, minter = Clock(), Minter(expires_in=3600)
    source = DeveloperKeyTokens(KEY, clock=clock)
    assert source.token(minter) == "token-1"
    clock.now += 3600 - 61
    assert source.token(minter) == "token-1"
    clock.now += 2  # within the last minute
    assert (source.token(minter), minter.calls) == ("token-2", 2)


def test_a_short_lived_token_is_renewed_in_the_last_tenth_of_its_life():
    clock, minter = Clock(), Minter(expires_in=10)
    source = DeveloperKeyTokens(KEY, clock=clock)
    source.token(minter)
    clock.now += 8.9
    assert source.token(minter) == "token-1"
    clock.now += 0.2
    assert source.token(minter) == "token-2"


def test_fifty_threads_refused_with_the_same_token_cause_one_fetch():
    minter = Minter()
    source = DeveloperKeyTokens(KEY)
    refused_token = source.token(minter)
    gate = threading.Event()
    minter.gate = gate
    with ThreadPoolExecutor(50) as pool:
        futures = [pool.submit(source.refresh_after, refused_token, minter) for _ in range(50)]
        gate.set()
        assert {future.result() for future in futures} == {"token-2"}
    assert minter.calls == 2


async def test_fifty_coroutines_of_one_loop_await_one_fetch():
    minter = Minter()
    source = DeveloperKeyTokens(KEY)
    tokens = await asyncio.gather(*(source.atoken(minter.afetch) for _ in range(50)))
    assert (set(tokens), minter.calls) == ({"token-1"}, 1)
    renewed = await asyncio.gather(*(source.arefresh_after("token-1", minter.afetch) for _ in range(50)))
    assert (set(renewed), minter.calls) == ({"token-2"}, 2)


async def test_a_waiter_cancelled_does_not_cancel_the_fetch_the_others_await():
    minter = Minter()
    source = DeveloperKeyTokens(KEY)
    first = asyncio.create_task(source.atoken(minter.afetch))
    second = asyncio.create_task(source.atoken(minter.afetch))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == "token-1"
    with pytest.raises(asyncio.CancelledError):
        await first
    assert minter.calls == 1


async def test_a_failed_fetch_fails_every_waiter_and_the_next_call_tries_again():
    calls = 0

    async def failing() -> tuple[str, float]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        raise CanvasBadRequestError(
            "x", status_code=400, canvas_message="invalid_request: refresh_token not found"
        )

    source = DeveloperKeyTokens(KEY)
    results = await asyncio.gather(*(source.atoken(failing) for _ in range(5)), return_exceptions=True)
    assert calls == 1 and all(isinstance(r, CanvasDeveloperKeyError) for r in results)
    with pytest.raises(CanvasDeveloperKeyError):
        await source.atoken(failing)
    assert calls == 2


@pytest.mark.parametrize(
    ("error", "names"),
    [
        (
            CanvasAuthError("x", status_code=401, canvas_message="invalid_client: invalid client"),
            "client_secret",
        ),
        (
            CanvasBadRequestError(
                "x", status_code=400, canvas_message="invalid_request: refresh_token not found"
            ),
            "refresh_token",
        ),
        (CanvasBadRequestError("x", status_code=400, canvas_message="invalid_grant"), "refresh_token"),
    ],
)
def test_a_refused_key_or_grant_names_the_extra_to_fix_and_no_secret(error, names):
    message = str(refused(KEY, error))
    assert names in message and KEY.client_id in message
    assert KEY.client_secret not in message and KEY.refresh_token not in message
