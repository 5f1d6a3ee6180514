"""
The two thin transports: ``requests`` for tasks, ``httpx`` for triggers.

They move bytes and nothing else; what to send and how to read the answer is in
:mod:`airflow_provider_canvas_reports.api`, and when to retry is :func:`retry_options`, shared by
both. Heavy HTTP libraries are imported here only, and this module only when a hook first calls.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import tenacity

from airflow_provider_canvas_reports import __version__
from airflow_provider_canvas_reports.api import (
    CanvasRequest,
    RawResponse,
    rate_limit_remaining,
    read_response,
)
from airflow_provider_canvas_reports.exceptions import CanvasError, CanvasTransportError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import httpx
    import requests

    from airflow_provider_canvas_reports._typing import Log
    from airflow_provider_canvas_reports.settings import CanvasSettings

USER_AGENT = f"airflow-provider-canvas-reports/{__version__}"


def retry_options(settings: CanvasSettings, log: Log, idempotent: bool = True) -> dict[str, Any]:
    """
    tenacity arguments for one Canvas call: transient failures only, bounded in count and time.

    A request that is not idempotent (starting a report) is retried only when Canvas surely did
    not act on it (refused connection, throttling); otherwise the error goes to the caller, whose
    retry looks for the report before starting another.
    """

    def is_retryable(exc: BaseException) -> bool:
        return isinstance(exc, CanvasError) and exc.retryable and (idempotent or not exc.maybe_processed)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s; retrying in %.1f s (attempt %d of %d)",
            exc,
            state.upcoming_sleep,
            state.attempt_number + 1,
            settings.retry_limit,
        )

    return {
        "stop": tenacity.stop_after_attempt(settings.retry_limit)
        | tenacity.stop_before_delay(settings.retry_max_seconds),
        "wait": tenacity.wait_exponential_jitter(
            initial=settings.retry_backoff_seconds,
            max=settings.retry_backoff_max_seconds,
            jitter=settings.retry_backoff_seconds,
        ),
        "retry": tenacity.retry_if_exception(is_retryable),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def _headers(settings: CanvasSettings) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {settings.token}",
        "Accept": "application/json",
        "User-Agent": USER_AGENT,
    }


def _transport_error(request: CanvasRequest, exc: Exception, never_sent: bool) -> CanvasTransportError:
    kind = "timed out" if "Timeout" in type(exc).__name__ else f"failed: {type(exc).__name__}"
    return CanvasTransportError(f"Canvas {request.label} {kind}", maybe_processed=not never_sent)


def _requests_never_sent(exc: Exception) -> bool:
    """Whether ``requests`` failed before the request left (no connection could be made)."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


class SyncTransport:
    """Sends :class:`CanvasRequest` s over one ``requests.Session`` (keep-alive, pooled)."""

    def __init__(self, settings: CanvasSettings, log: Log):
        import requests
        from requests.adapters import HTTPAdapter

        self.settings = settings
        self.log = log
        self.session: requests.Session = requests.Session()
        self.session.headers.update(_headers(settings))
        self.session.verify = settings.verify_ssl
        adapter = HTTPAdapter(pool_maxsize=settings.max_connections)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._requests = requests
        self._retry = {idempotent: retry_options(settings, log, idempotent) for idempotent in (True, False)}

    def send(self, request: CanvasRequest) -> RawResponse:
        try:
            response = self.session.request(
                request.method,
                self.settings.base_url + request.path,
                data=request.body or None,
                headers={"Content-Type": request.content_type} if request.content_type else None,
                timeout=(self.settings.connect_timeout, self.settings.timeout),
                allow_redirects=False,
            )
        except self._requests.RequestException as exc:
            raise _transport_error(request, exc, _requests_never_sent(exc)) from None
        return RawResponse(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )

    def call(self, request: CanvasRequest) -> Any:
        """Send ``request`` with retries and return what it reads from the answer."""
        for attempt in tenacity.Retrying(**self._retry[request.idempotent]):
            with attempt:
                raw = self.send(request)
                result = read_response(request, raw)
                if pause := self.settings.throttle_pause(rate_limit_remaining(raw.headers)):
                    self.log.info("Canvas rate limit is running low; pausing %.2f s", pause)
                    time.sleep(pause)
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.session.close()


@dataclass
class PooledClient:
    """
    A shared ``httpx.AsyncClient``, its gate, and how many callers lease it.

    The gate admits at most ``max_connections`` requests into httpx at once: httpcore's pool does
    work proportional to queued requests times connections on every request start and finish, so
    thousands of triggers queueing inside it stall the event loop. Waiting on a semaphore is cheap.
    """

    client: httpx.AsyncClient
    gate: asyncio.Semaphore
    leases: int = 0


class AsyncTransport:
    """Sends :class:`CanvasRequest` s over a shared, gated ``httpx.AsyncClient``."""

    def __init__(self, pooled: PooledClient, settings: CanvasSettings, log: Log):
        import httpx

        self.pooled = pooled
        self.settings = settings
        self.log = log
        self._httpx = httpx
        self._retry = {idempotent: retry_options(settings, log, idempotent) for idempotent in (True, False)}

    async def send(self, request: CanvasRequest) -> RawResponse:
        try:
            async with self.pooled.gate:
                response = await self.pooled.client.request(
                    request.method,
                    request.path,
                    content=request.body or None,
                    headers={"Content-Type": request.content_type} if request.content_type else None,
                )
        except self._httpx.HTTPError as exc:
            never_sent = isinstance(
                exc, (self._httpx.ConnectError, self._httpx.ConnectTimeout, self._httpx.PoolTimeout)
            )
            raise _transport_error(request, exc, never_sent) from None
        return RawResponse(response.status_code, response.headers, response.content)

    async def call(self, request: CanvasRequest) -> Any:
        """Send ``request`` with retries and return what it reads from the answer."""
        async for attempt in tenacity.AsyncRetrying(**self._retry[request.idempotent]):
            with attempt:
                raw = await self.send(request)
                result = read_response(request, raw)
                if pause := self.settings.throttle_pause(rate_limit_remaining(raw.headers)):
                    self.log.info("Canvas rate limit is running low; pausing %.2f s", pause)
                    await asyncio.sleep(pause)
                return result
        raise AssertionError("unreachable")  # pragma: no cover


class _AsyncClientPool:
    """
    One ``httpx.AsyncClient`` per event loop and per Canvas settings, shared by every caller.

    Callers lease it; the last lease to end closes it, so many triggers in one triggerer poll over
    a handful of kept-alive connections, and a cancelled trigger still releases what it held.
    """

    def __init__(self) -> None:
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, PooledClient]] = (
            weakref.WeakKeyDictionary()
        )

    def leased(self) -> int:
        """How many leases are open on this event loop (for tests and diagnostics)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return 0
        return sum(pooled.leases for pooled in self._clients.get(loop, {}).values())

    @asynccontextmanager
    async def lease(self, settings: CanvasSettings) -> AsyncIterator[PooledClient]:
        loop = asyncio.get_running_loop()
        clients = self._clients.setdefault(loop, {})
        pooled = clients.get(settings.pool_key)
        if pooled is None:
            pooled = clients[settings.pool_key] = PooledClient(
                _new_async_client(settings), asyncio.Semaphore(settings.max_connections)
            )
        pooled.leases += 1
        try:
            yield pooled
        finally:
            pooled.leases -= 1
            if pooled.leases == 0 and clients.get(settings.pool_key) is pooled:
                del clients[settings.pool_key]
                await asyncio.shield(pooled.client.aclose())


def _new_async_client(settings: CanvasSettings) -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(
        base_url=settings.base_url,
        headers=_headers(settings),
        timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout, pool=None),
        limits=httpx.Limits(
            max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
        ),
        verify=settings.verify_ssl,
        follow_redirects=False,
    )


async_clients = _AsyncClientPool()
