"""
The two thin transports: ``requests`` for tasks, ``aiohttp`` for triggers.

They move bytes and nothing else; what to send and how to read the answer is in
:mod:`.calls` and :mod:`.responses`, and when to retry is :func:`retry_options`, shared by
both. Heavy HTTP libraries are imported here only, and this module only when a hook first calls.

Both take the cheap path first: one attempt, no retry machinery. Only a retryable failure builds
the ``tenacity`` loop, which counts that failure as its first attempt.
"""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
import time
import weakref
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import tenacity

from airflow_provider_canvas_reports import __version__, redact
from airflow_provider_canvas_reports.client import auth, calls
from airflow_provider_canvas_reports.client.responses import (
    RawResponse,
    asks_for_new_token,
    error_for,
    rate_limit_remaining,
    read_response,
)
from airflow_provider_canvas_reports.exceptions import CanvasError, CanvasTransportError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import aiohttp
    import requests

    from airflow_provider_canvas_reports._typing import Log
    from airflow_provider_canvas_reports.client.calls import CanvasRequest
    from airflow_provider_canvas_reports.client.settings import CanvasSettings, DeveloperKey

USER_AGENT = f"airflow-provider-canvas-reports/{__version__}"


def retry_options(settings: CanvasSettings, log: Log, idempotent: bool = True) -> dict[str, Any]:
    """
    tenacity arguments for one Canvas call: transient failures only, bounded in count and time.

    A request that is not idempotent (starting a report) is retried only when Canvas surely did
    not act on it (refused connection, throttling); otherwise the error goes to the caller, whose
    retry looks for the report before starting another.
    """

    def is_retryable(exc: BaseException) -> bool:
        return _retryable(exc, idempotent)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s; retrying in %.1f s (attempt %d of %d)",
            exc,
            state.upcoming_sleep,
            state.attempt_number + 1,
            settings.retry_limit,
        )

    backoff = tenacity.wait_exponential_jitter(
        initial=settings.retry_backoff_seconds,
        max=settings.retry_backoff_max_seconds,
        jitter=settings.retry_backoff_seconds,
    )

    def wait(state: tenacity.RetryCallState) -> float:
        """The backoff, but never shorter than the answer's ``Retry-After``."""
        exc = state.outcome.exception() if state.outcome else None
        return max(backoff(state), getattr(exc, "retry_after", None) or 0.0)

    return {
        "stop": tenacity.stop_after_attempt(settings.retry_limit)
        | tenacity.stop_before_delay(settings.retry_max_seconds),
        "wait": wait,
        "retry": tenacity.retry_if_exception(is_retryable),
        "before_sleep": before_sleep,
        "reraise": True,
    }


def _retryable(exc: BaseException, idempotent: bool) -> bool:
    return isinstance(exc, CanvasError) and exc.retryable and (idempotent or not exc.maybe_processed)


def _headers(settings: CanvasSettings) -> dict[str, str]:
    """Headers of every call; ``Authorization`` is set per request (:mod:`.auth` decides the token)."""
    return {"Accept": "application/json", "User-Agent": USER_AGENT}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _no_auth(prepared: Any) -> Any:
    """``requests`` auth for a call sent without a token (the token call itself)."""
    return prepared


def _check_not_refused_again(raw: RawResponse, request: CanvasRequest, key: DeveloperKey | None) -> None:
    """A developer key's brand-new token refused as well: say the key is the problem, not the password."""
    if key is not None and asks_for_new_token(raw.status, raw.headers):
        raise auth.refused_again(key, request.label, error_for(request, raw).canvas_message or "")


class BearerAuth:
    """
    ``requests`` auth of the Canvas session: each request carries the token :mod:`.auth` decides,
    and a developer key's request that Canvas answers 401 with ``WWW-Authenticate`` is sent once
    more with a new token (a file download's first hop too: the downloader uses this session for
    the Canvas origin).

    :param tokens: the process's token source for the connection.
    :param fetch: gets a new access token from Canvas (the transport's token call).
    """

    def __init__(self, tokens: auth.TokenSource, fetch: Any, log: Log) -> None:
        self.tokens = tokens
        self.fetch = fetch
        self.log = log

    def __call__(self, prepared: Any) -> Any:
        prepared.headers.update(_bearer(self.tokens.token(self.fetch)))
        if self.tokens.refreshable:
            prepared.register_hook("response", self._renew_and_repeat)
        return prepared

    def _renew_and_repeat(self, response: Any, **send_options: Any) -> Any:
        sent = response.request
        if getattr(sent, "canvas_repeated", False) or not asks_for_new_token(
            response.status_code, response.headers
        ):
            return response
        self.log.info(
            "Canvas refused the access token (HTTP 401); getting a new one from the developer key and "
            "repeating %s %s",
            sent.method,
            url_without_query(sent.url),
        )
        refused = str(sent.headers.get("Authorization", "")).removeprefix("Bearer ")
        token = self.tokens.refresh_after(refused, self.fetch)
        response.content  # noqa: B018 - read the small body so the connection can be reused
        response.close()
        again = sent.copy()
        again.headers.update(_bearer(token))
        again.canvas_repeated = True
        repeated = response.connection.send(again, **send_options)
        repeated.history.append(response)
        repeated.request = again
        return repeated


# --- what went wrong on the wire -------------------------------------------------------------------


def url_without_query(url: str) -> str:
    """``scheme://host:port/path``: the query (a ``file_url`` verifier, a storage signature) is a secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes: ``__cause__``/``__context__``, urllib3's ``reason``, what requests wraps."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 12:
        current = todo.pop(0)
        if any(current is s for s in seen):
            continue
        seen.append(current)
        nested = [
            getattr(current, "reason", None),
            getattr(current, "os_error", None),
            getattr(current, "certificate_error", None),
            current.args[0] if current.args else None,
            current.__cause__,
            current.__context__,
        ]
        todo.extend(e for e in nested if isinstance(e, BaseException))
    return seen


#: TLS errors a server that speaks plain HTTP provokes.
_PLAIN_HTTP_HINTS = ("wrong version number", "record layer failure", "http request", "packet length too long")


def describe_failure(exc: BaseException, url: str, settings: CanvasSettings) -> tuple[str, bool]:
    """
    Why a request got no answer, in words a user can act on, and whether it surely never left.

    Reads through ``requests``/``urllib3`` and ``aiohttp`` wrappers to the cause: DNS, refused,
    TLS, connect timeout, read timeout, reset. ``url`` names the host; the message never carries
    a query string.
    """
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    where = f"{host}:{port}"
    chain = _chain(exc)
    names = {cls.__name__ for e in chain for cls in type(e).__mro__}
    texts = " | ".join(str(e) for e in chain).lower()

    if any(isinstance(e, socket.gaierror) for e in chain) or "NameResolutionError" in names:
        return f"could not resolve host {host} (DNS)", True
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(
        isinstance(e, OSError) and e.errno == errno.ECONNREFUSED for e in chain
    ):
        return f"connection refused by {where} (refused: is the host and port right?)", True
    if (
        any(isinstance(e, ssl.SSLCertVerificationError) for e in chain)
        or "certificate verify failed" in texts
    ):
        reason = next(
            (str(getattr(e, "verify_message", "") or e) for e in chain if isinstance(e, ssl.SSLError)), ""
        )
        return f"the TLS certificate of {where} is not trusted: {reason or 'verification failed'} (TLS)", True
    if any(isinstance(e, ssl.SSLError) for e in chain) or {"SSLError", "ClientSSLError"} & names:
        reason = next(
            (getattr(e, "reason", None) or str(e) for e in chain if isinstance(e, ssl.SSLError)), ""
        )
        hint = "; is it a plain http:// server?" if any(h in texts for h in _PLAIN_HTTP_HINTS) else ""
        return f"TLS handshake with {where} failed: {str(reason).lower() or 'error'} (TLS{hint})", True
    if "handshake" in texts and "timed out" in texts:
        return (
            f"TLS handshake with {where} timed out (TLS; is it a plain http:// server? then use http://)",
            True,
        )
    if {"ConnectTimeout", "ConnectTimeoutError", "ConnectionTimeoutError"} & names:
        limit = f"{settings.connect_timeout:g} s"
        if parts.scheme == "https":
            return (
                f"timed out after {limit} connecting to {where} and shaking hands over TLS (connect "
                "timeout or TLS; a plain http:// server never answers a TLS handshake)",
                True,
            )
        return f"timed out after {limit} connecting to {where} (connect timeout)", True
    if {"ClientConnectorError", "NewConnectionError"} & names:  # no connection: nothing was sent
        detail = next((str(e) for e in reversed(chain) if isinstance(e, OSError)), type(chain[-1]).__name__)
        return f"could not connect to {where}: {detail}", True
    if {"ReadTimeout", "ReadTimeoutError", "SocketTimeoutError", "ServerTimeoutError"} & names or any(
        isinstance(e, TimeoutError) for e in chain
    ):
        return f"timed out after {settings.timeout:g} s waiting for {where} to answer (read timeout)", False
    if any(isinstance(e, ConnectionResetError) for e in chain) or "reset by peer" in texts:
        return f"connection reset by {where}", False
    if {"RemoteDisconnected", "ServerDisconnectedError"} & names:
        return f"{where} closed the connection without answering", False
    if {"ChunkedEncodingError", "ProtocolError", "ClientPayloadError", "IncompleteRead"} & names:
        return f"the answer from {where} was cut short ({type(exc).__name__})", False
    detail = str(chain[-1]).strip()
    return f"{type(chain[-1]).__name__}{': ' + detail[:200] if detail else ''}", False


def transport_error(
    method: str, url: str, exc: BaseException, settings: CanvasSettings, prefix: str = "Canvas"
) -> CanvasTransportError:
    """``Canvas GET https://host/api/v1/... failed: could not resolve host host (DNS)``."""
    cause, never_sent = describe_failure(exc, url, settings)
    return CanvasTransportError(
        f"{prefix} {method} {url_without_query(url)} failed: {cause}", maybe_processed=not never_sent
    )


# --- sync ----------------------------------------------------------------------------------------


class SyncTransport:
    """Sends :class:`CanvasRequest` s over one ``requests.Session`` (keep-alive, pooled)."""

    def __init__(self, settings: CanvasSettings, log: Log):
        import requests
        from requests.adapters import HTTPAdapter

        redact.install_log_filters()
        self.settings = settings
        self.log = log
        self.session: requests.Session = requests.Session()
        self.session.headers.update(_headers(settings))
        self.session.auth = BearerAuth(auth.token_source(settings), self._fetch_token, log)
        self.session.verify = settings.verify_ssl
        adapter = HTTPAdapter(pool_maxsize=settings.max_connections)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._requests = requests
        self._timeout = (settings.connect_timeout, settings.timeout)

    def send(self, request: CanvasRequest) -> RawResponse:
        url = self.settings.base_url + request.path
        try:
            response = self.session.request(
                request.method,
                url,
                data=request.body or None,
                headers={"Content-Type": request.content_type} if request.content_type else None,
                timeout=self._timeout,
                allow_redirects=False,
                auth=None if request.authorized else _no_auth,
            )
        except self._requests.RequestException as exc:
            raise transport_error(request.method, url, exc, self.settings) from None
        return RawResponse(
            response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.content
        )

    def _fetch_token(self) -> tuple[str, float]:
        """One token call: it is made for a call whose own retries cover a failure of it."""
        assert self.settings.developer_key is not None
        token: tuple[str, float] = self._once(calls.get_access_token(self.settings.developer_key))
        return token

    def _once(self, request: CanvasRequest) -> Any:
        raw = self.send(request)
        if request.authorized:
            _check_not_refused_again(raw, request, self.settings.developer_key)
        result = read_response(request, raw)
        if pause := self.settings.throttle_pause(rate_limit_remaining(raw.headers)):
            self.log.info("Canvas rate limit is running low; pausing %.2f s", pause)
            time.sleep(pause)
        return result

    def call(self, request: CanvasRequest) -> Any:
        """Send ``request`` with retries and return what it reads from the answer."""
        try:
            return self._once(request)
        except CanvasError as exc:
            if not _retryable(exc, request.idempotent):
                raise
            first: list[BaseException] = [exc]
        for attempt in tenacity.Retrying(**retry_options(self.settings, self.log, request.idempotent)):
            with attempt:
                if first:  # the failure already seen is attempt 1
                    raise first.pop()
                return self._once(request)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        self.session.close()


# --- async ---------------------------------------------------------------------------------------


class PooledClient:
    """
    A shared ``aiohttp.ClientSession``, its gate, and how many callers lease it.

    The gate admits at most ``max_connections`` requests into the session at once, so thousands of
    triggers wait on a cheap semaphore instead of in the connection pool's queue.
    """

    __slots__ = ("gate", "leases", "proxy", "proxy_auth", "session", "settings", "timeout", "tokens")

    def __init__(self, settings: CanvasSettings) -> None:
        import aiohttp

        self.settings = settings
        #: The process's token source for the connection: one developer key token for every trigger.
        self.tokens = auth.token_source(settings)
        self.gate = asyncio.Semaphore(settings.max_connections)
        self.leases = 0
        self.proxy, self.proxy_auth = _env_proxy(settings.base_url)
        self.timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=settings.connect_timeout, sock_read=settings.timeout
        )
        self.session: aiohttp.ClientSession = aiohttp.ClientSession(
            headers=_headers(settings),
            connector=aiohttp.TCPConnector(
                limit=settings.max_connections, ssl=_ssl_option(settings.verify_ssl)
            ),
            timeout=self.timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )

    async def aclose(self) -> None:
        await self.session.close()


def _ssl_option(verify: bool | str) -> bool | ssl.SSLContext:
    """aiohttp's ``ssl=``: verify with the system store (``True``), not at all, or with a CA bundle."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return bool(verify)


def _env_proxy(base_url: str) -> tuple[Any, Any]:
    """
    The proxy (and its credentials) that ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` name for Canvas,
    looked up once as aiohttp's ``trust_env`` would look it up on every request (a thread hop each).
    """
    from aiohttp.helpers import get_env_proxy_for_url
    from yarl import URL

    try:
        return get_env_proxy_for_url(URL(base_url))
    except LookupError:
        return None, None


class AsyncTransport:
    """
    Sends :class:`CanvasRequest` s over the loop's shared, gated ``aiohttp.ClientSession``.

    A light view (the pooled client and a logger): one per caller costs a few dozen bytes.
    """

    __slots__ = ("log", "pooled", "settings")

    def __init__(self, pooled: PooledClient, settings: CanvasSettings, log: Log):
        self.pooled = pooled
        self.settings = settings
        self.log = log

    async def send(self, request: CanvasRequest, token: str | None = None) -> RawResponse:
        import aiohttp

        pooled = self.pooled
        url = pooled.settings.base_url + request.path
        headers = _bearer(token) if token is not None else {}
        if request.content_type:
            headers["Content-Type"] = request.content_type
        try:
            async with (
                pooled.gate,
                pooled.session.request(
                    request.method,
                    url,
                    data=request.body or None,
                    headers=headers or None,
                    allow_redirects=False,
                    proxy=pooled.proxy,
                    proxy_auth=pooled.proxy_auth,
                ) as response,
            ):
                return RawResponse(response.status, response.headers, await response.read())
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise transport_error(request.method, url, exc, pooled.settings) from None

    async def _fetch_token(self) -> tuple[str, float]:
        """One token call: it is made for a call whose own retries cover a failure of it."""
        assert self.settings.developer_key is not None
        token: tuple[str, float] = await self._once(calls.get_access_token(self.settings.developer_key))
        return token

    async def _send_authorized(self, request: CanvasRequest) -> RawResponse:
        """Send with the current token; on a 401 asking for a new one, get one (once for all) and repeat."""
        tokens = self.pooled.tokens
        token = await tokens.atoken(self._fetch_token)
        raw = await self.send(request, token)
        if tokens.refreshable and asks_for_new_token(raw.status, raw.headers):
            self.log.info(
                "Canvas refused the access token (HTTP 401); getting a new one from the developer key "
                "and repeating %s",
                request.label,
            )
            raw = await self.send(request, await tokens.arefresh_after(token, self._fetch_token))
            _check_not_refused_again(raw, request, self.settings.developer_key)
        return raw

    async def _once(self, request: CanvasRequest) -> Any:
        raw = await (self._send_authorized(request) if request.authorized else self.send(request))
        result = read_response(request, raw)
        if pause := self.settings.throttle_pause(rate_limit_remaining(raw.headers)):
            self.log.info("Canvas rate limit is running low; pausing %.2f s", pause)
            await asyncio.sleep(pause)
        return result

    async def call(self, request: CanvasRequest) -> Any:
        """Send ``request`` with retries and return what it reads from the answer."""
        try:
            return await self._once(request)
        except CanvasError as exc:
            if not _retryable(exc, request.idempotent):
                raise
            first: list[BaseException] = [exc]
        options = retry_options(self.settings, self.log, request.idempotent)
        async for attempt in tenacity.AsyncRetrying(**options):
            with attempt:
                if first:  # the failure already seen is attempt 1
                    raise first.pop()
                return await self._once(request)
        raise AssertionError("unreachable")  # pragma: no cover


class LeasedCall:
    """
    One request sent again and again over a lease on the loop's shared client: what a long wait
    (a trigger) holds, and nothing more (three slots).
    """

    __slots__ = ("_pooled", "_request", "_transport")

    def __init__(self, pooled: PooledClient, request: CanvasRequest, log: Log) -> None:
        self._pooled = pooled
        self._request = request
        self._transport = AsyncTransport(pooled, pooled.settings, log)

    @classmethod
    def open(cls, settings: CanvasSettings, request: CanvasRequest, log: Log) -> LeasedCall:
        """Take a lease on the running loop's client for ``settings``; pair with :meth:`close`."""
        return cls(async_clients.acquire(settings), request, log)

    async def read(self) -> Any:
        """Send the request (with retries) and return what it reads."""
        return await self._transport.call(self._request)

    async def close(self) -> None:
        """End the lease (the last one closes the client, shielded from cancellation)."""
        await async_clients.release(self._pooled)


class _AsyncClientPool:
    """
    One ``aiohttp.ClientSession`` per event loop and per Canvas settings, shared by every caller.

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

    def acquire(self, settings: CanvasSettings) -> PooledClient:
        """Take a lease on the running loop's client for ``settings``; pair with :meth:`release`."""
        clients = self._clients.setdefault(asyncio.get_running_loop(), {})
        pooled = clients.get(settings.pool_key)
        if pooled is None:
            pooled = clients[settings.pool_key] = PooledClient(settings)
        pooled.leases += 1
        return pooled

    async def release(self, pooled: PooledClient) -> None:
        """End a lease; the last one closes the client (shielded, so cancellation cannot skip it)."""
        pooled.leases -= 1
        if pooled.leases:
            return
        clients = self._clients.get(asyncio.get_running_loop(), {})
        key = pooled.settings.pool_key
        if clients.get(key) is pooled:
            del clients[key]
        await asyncio.shield(pooled.aclose())

    @asynccontextmanager
    async def lease(self, settings: CanvasSettings) -> AsyncIterator[PooledClient]:
        pooled = self.acquire(settings)
        try:
            yield pooled
        finally:
            await self.release(pooled)


async_clients = _AsyncClientPool()
