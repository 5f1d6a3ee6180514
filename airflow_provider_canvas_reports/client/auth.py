"""
Which access token a Canvas call carries: the connection's personal token, or one made from its
OAuth2 developer key. Decided here once, for both transports.

A developer key's access token (``POST /login/oauth2/token``, ``grant_type=refresh_token``) is
kept **once per process** (a worker's task, or a whole triggerer: every trigger shares it) and
replaced shortly before Canvas's ``expires_in`` runs out. However many calls need a new one at
once, one call gets it: threads wait on a lock, coroutines of one event loop on one shared task.
When Canvas refuses a token anyway (401 with ``WWW-Authenticate``: expired early, revoked), the
transport asks :meth:`TokenSource.refresh_after` for another (again one call for all) and repeats
its request once.

A key or refresh token that Canvas refuses (401 ``invalid_client``; 400 ``invalid_request``
"refresh_token not found", or ``invalid_grant``) raises :class:`CanvasDeveloperKeyError` at once,
naming the extra to fix: no retry can mend it. Every access token is registered as a secret the
moment it is read.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.exceptions import (
    CanvasAuthError,
    CanvasBadRequestError,
    CanvasDeveloperKeyError,
    CanvasError,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow_provider_canvas_reports.client.settings import CanvasSettings, DeveloperKey

#: A new access token is fetched this long before the old one expires (at most a tenth of its life).
REFRESH_MARGIN_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An access token and the moment (``time.monotonic``) after which it is not used."""

    value: str
    renew_at: float

    @classmethod
    def received(cls, value: str, expires_in: float, now: float) -> AccessToken:
        return cls(value, now + expires_in - min(REFRESH_MARGIN_SECONDS, expires_in / 10))


class TokenSource:
    """
    The personal access token of a connection: always the same, nothing to refresh.

    ``fetch`` arguments get ``(access_token, expires_in)`` from Canvas: the caller's transport
    sending :func:`~.calls.get_access_token` (with its retries for what is transient).
    """

    refreshable = False

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self, fetch: Callable[[], tuple[str, float]]) -> str:
        """The token to send now."""
        return self._token

    async def atoken(self, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        """The token to send now (async)."""
        return self._token

    def refresh_after(self, refused: str, fetch: Callable[[], tuple[str, float]]) -> str:
        """A personal token cannot be replaced: the same one."""
        return self._token

    async def arefresh_after(self, refused: str, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        """A personal token cannot be replaced: the same one."""
        return self._token


class DeveloperKeyTokens(TokenSource):
    """
    Access tokens of one developer key (and refresh token) for one Canvas, shared by the process.

    :param key: the developer key and its refresh token.
    :param clock: ``time.monotonic`` (a test may pass its own).
    """

    refreshable = True

    def __init__(self, key: DeveloperKey, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__("")
        self.key = key
        self._clock = clock
        self._current: AccessToken | None = None
        self._lock = threading.Lock()
        self._in_flight: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[str]] = (
            weakref.WeakKeyDictionary()
        )

    def _usable(self, refused: str | None = None) -> str | None:
        current = self._current
        if current is None or current.value == refused or self._clock() >= current.renew_at:
            return None
        return current.value

    def _keep(self, value: str, expires_in: float) -> str:
        self._current = AccessToken.received(value, expires_in, self._clock())
        return value

    def token(self, fetch: Callable[[], tuple[str, float]]) -> str:
        return self._usable() or self._refresh(None, fetch)

    def refresh_after(self, refused: str, fetch: Callable[[], tuple[str, float]]) -> str:
        return self._refresh(refused, fetch)

    def _refresh(self, refused: str | None, fetch: Callable[[], tuple[str, float]]) -> str:
        with self._lock:  # one fetch; the threads that waited use what it got
            usable = self._usable(refused)
            if usable is not None:
                return usable
            return self._keep(*explained(self.key, fetch))

    async def atoken(self, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        return self._usable() or await self._arefresh(None, fetch)

    async def arefresh_after(self, refused: str, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        return await self._arefresh(refused, fetch)

    async def _arefresh(self, refused: str | None, fetch: Callable[[], Awaitable[tuple[str, float]]]) -> str:
        loop = asyncio.get_running_loop()
        pending = self._in_flight.get(loop)
        if pending is None:
            usable = self._usable(refused)
            if usable is not None:
                return usable

            async def get() -> str:
                try:
                    return self._keep(*await aexplained(self.key, fetch))
                finally:
                    self._in_flight.pop(loop, None)

            pending = self._in_flight[loop] = loop.create_task(get())
        # Shielded: a caller cancelled while it waits does not cancel the fetch the others await.
        return await asyncio.shield(pending)

    def _after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's may have been held) and no tasks in flight."""
        self._lock = threading.Lock()
        self._in_flight = weakref.WeakKeyDictionary()


_sources: dict[tuple[str, ...], DeveloperKeyTokens] = {}
_sources_lock = threading.Lock()


def token_source(settings: CanvasSettings) -> TokenSource:
    """The process's token source for the connection ``settings`` describe (one per developer key)."""
    key = settings.developer_key
    if key is None:
        return TokenSource(settings.token)
    with _sources_lock:
        found = _sources.get(settings.credentials_key)
        if found is None:
            found = _sources[settings.credentials_key] = DeveloperKeyTokens(key)
        return found


def _after_fork_in_child() -> None:
    global _sources_lock
    _sources_lock = threading.Lock()
    for source in _sources.values():
        source._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def explained(key: DeveloperKey, fetch: Callable[[], tuple[str, float]]) -> tuple[str, float]:
    """
    ``fetch()``, with Canvas's refusal of the key or its refresh token said in words to act on. Any
    other failure (Canvas away, throttled) goes to the call that needed the token, to be retried as
    that call: its own request was never sent, so even a report start may be sent again.
    """
    try:
        return fetch()
    except (CanvasAuthError, CanvasBadRequestError) as exc:
        raise refused(key, exc) from None
    except CanvasError as exc:
        exc.maybe_processed = False
        raise


async def aexplained(
    key: DeveloperKey, fetch: Callable[[], Awaitable[tuple[str, float]]]
) -> tuple[str, float]:
    """Async :func:`explained`."""
    try:
        return await fetch()
    except (CanvasAuthError, CanvasBadRequestError) as exc:
        raise refused(key, exc) from None
    except CanvasError as exc:
        exc.maybe_processed = False
        raise


def refused(key: DeveloperKey, exc: CanvasError) -> CanvasDeveloperKeyError:
    """What Canvas's refusal at the token endpoint means, and which connection extra to fix."""
    said = exc.canvas_message or "(no reason given)"
    where = f"developer key {key.client_id}"
    if exc.status_code == 401 or "invalid_client" in said:
        fix = (
            f"Canvas refused the {where} (HTTP {exc.status_code}: {said}). Check the connection extras "
            "client_id and client_secret against Admin > Developer Keys (the key must be on)"
        )
    elif "refresh_token" in said or "invalid_grant" in said or "invalid_request" in said:
        fix = (
            f"Canvas refused the refresh token of {where} (HTTP {exc.status_code}: {said}). It was "
            "deleted, or was made for another key: get a new refresh token (see the developer keys "
            "how-to) and put it in the connection extra refresh_token"
        )
    else:
        fix = f"Getting an access token from {where} failed (HTTP {exc.status_code}: {said})"
    return CanvasDeveloperKeyError(fix, status_code=exc.status_code, canvas_message=exc.canvas_message)


def refused_again(key: DeveloperKey, label: str, canvas_message: str) -> CanvasDeveloperKeyError:
    """An access token made from the key a moment ago was refused too: the key or its user is off."""
    return CanvasDeveloperKeyError(
        f"Canvas {label} failed with HTTP 401: {canvas_message}. Canvas refused an access token just "
        f"made from developer key {key.client_id}: check that the key is on (Admin > Developer Keys) "
        "and that the user who authorised it is still active",
        status_code=401,
        canvas_message=canvas_message,
    )
