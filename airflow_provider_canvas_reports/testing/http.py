"""A minimal HTTP/1.1 server on asyncio streams: keep-alive, Content-Length bodies, streamed files.

Not a general web server: no chunked request bodies, no pipelining guarantees beyond in-order
processing, no TLS. One coroutine per connection; no threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
import struct
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
WRITE_HIGH_WATER = 4 * 1024 * 1024
_connection_ids = itertools.count(1)


@dataclass
class Connection:
    """One accepted TCP connection; ``counted`` is free for the application to mark."""

    id: int
    counted: bool = False


@dataclass
class Request:
    """A parsed request. ``headers`` has lower-case names; repeated headers are joined with ``", "``."""

    method: str
    path: str
    query: str
    version: str
    headers: dict[str, str]
    body: bytes
    connection: Connection

    @property
    def connection_id(self) -> int:
        """Id of the TCP connection the request came on."""
        return self.connection.id


class Body(Protocol):
    """A streamed response body: anything with a ``size`` and an ``iter_range(start, end)``."""

    size: int

    def iter_range(self, start: int = 0, end: int | None = None) -> Iterator[memoryview]:
        """Yield the bytes in ``[start, end)``."""


@dataclass
class Response:
    """What to send back.

    ``body`` is bytes or a :class:`Body`-like object (streamed from ``body_start`` to ``body_end``).
    ``abort``: reset the connection instead of answering. ``truncate_at``: send the full headers but
    only this many body bytes, then close. ``pause``: ``(offset, seconds)``, stop after ``offset``
    body bytes for that long, then send the rest. ``close``: close the connection after answering.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | Body = b""
    body_start: int = 0
    body_end: int | None = None
    abort: bool = False
    truncate_at: int | None = None
    pause: tuple[int, float] | None = None
    close: bool = False

    @property
    def content_length(self) -> int:
        """Length of the body (or of the selected range)."""
        if isinstance(self.body, bytes):
            return len(self.body)
        end = self.body.size if self.body_end is None else self.body_end
        return end - self.body_start


if TYPE_CHECKING:
    Handler = Callable[[Request], Awaitable[Response]]


class _DateCache:
    """The ``Date`` header value, formatted at most once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._value = ""

    def get(self) -> str:
        now = int(time.time())
        if now != self._second:
            self._second, self._value = now, formatdate(now, usegmt=True)
        return self._value


_dates = _DateCache()


class HttpServer:
    """One listening socket serving ``handler``."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> int:
        """Bind and start accepting; return the bound port."""
        self.server = await asyncio.start_server(
            self._serve, host, port, limit=MAX_HEAD, backlog=4096, reuse_address=True
        )
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        """Stop listening and drop every open connection."""
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(next(_connection_ids))
        self._writers.add(writer)
        writer.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while await self._serve_one(reader, writer, connection):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _serve_one(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: Connection
    ) -> bool:
        """Read one request and answer it; return whether to keep the connection open."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        except asyncio.LimitOverrunError:
            await _write(writer, Response(431, body=b"request header too large"), False, "HTTP/1.1")
            return False
        request, error = _parse_head(head, connection)
        if request is None:
            await _write(writer, Response(400, body=error.encode()), False, "HTTP/1.1")
            return False
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            await _write(
                writer, Response(501, body=b"chunked request bodies are not supported"), False, "HTTP/1.1"
            )
            return False
        try:
            length = int(request.headers.get("content-length", "0") or "0")
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            await _write(writer, Response(400, body=b"bad Content-Length"), False, request.version)
            return False
        if length and request.headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if length:
            request.body = await reader.readexactly(length)
        response = await self.handler(request)
        if response.abort:
            _reset(writer)
            return False
        keep_alive = _wants_keep_alive(request) and not response.close and response.truncate_at is None
        await _write(writer, response, keep_alive, request.version, head_only=request.method == "HEAD")
        return keep_alive


def _parse_head(head: bytes, connection: Connection) -> tuple[Request | None, str]:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return None, "malformed request line"
    method, target, version = parts
    if "://" in target:  # absolute-form: keep the path
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    path, _, query = target.partition("?")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            return None, "malformed header"
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return Request(method.upper(), path, query, version, headers, b"", connection), ""


def _wants_keep_alive(request: Request) -> bool:
    connection = request.headers.get("connection", "").lower()
    if request.version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


def _reset(writer: asyncio.StreamWriter) -> None:
    """Abort so that the peer sees a reset (RST), not an orderly close."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _write(
    writer: asyncio.StreamWriter, response: Response, keep_alive: bool, version: str, head_only: bool = False
) -> None:
    length = response.content_length
    try:
        reason = HTTPStatus(response.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {response.status} {reason}", f"Date: {_dates.get()}", f"Content-Length: {length}"]
    lines.extend(f"{name}: {value}" for name, value in response.headers)
    if not keep_alive:
        lines.append("Connection: close")
    elif version == "HTTP/1.0":
        lines.append("Connection: keep-alive")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    limit = length if response.truncate_at is None else max(0, min(response.truncate_at, length))
    if head_only:
        writer.write(head)
    elif isinstance(response.body, bytes) and response.pause is None:
        writer.write(head + response.body[:limit])
    else:
        writer.write(head)
        cut, seconds = response.pause or (limit, 0.0)
        cut = max(0, min(cut, limit))
        await _write_body(writer, response, 0, cut)
        if cut < limit:
            await asyncio.sleep(seconds)
            await _write_body(writer, response, cut, limit)
    await writer.drain()
    if response.truncate_at is not None:
        writer.close()


async def _write_body(writer: asyncio.StreamWriter, response: Response, start: int, end: int) -> None:
    """Send body bytes ``[start, end)`` (relative to ``body_start``), waiting while the buffer is full."""
    if isinstance(response.body, bytes):
        writer.write(response.body[start:end])
    else:
        first = response.body_start + start
        for view in response.body.iter_range(first, response.body_start + end):
            writer.write(view)
            await writer.drain()
    await writer.drain()
