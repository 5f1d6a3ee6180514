"""``CanvasEmulator``: the Canvas API host, object storage and a files domain on loopback, in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.testing import api, control, downloads, storage
from airflow_provider_canvas_reports.testing.faults import serve_with_faults
from airflow_provider_canvas_reports.testing.http import HttpServer
from airflow_provider_canvas_reports.testing.state import EmulatorState

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from airflow_provider_canvas_reports.testing.http import Request, Response
    from airflow_provider_canvas_reports.testing.interface import ServerState

    Handler = Callable[[ServerState, Request], Response]


def check_loopback(host: str) -> None:
    """Refuse to listen anywhere but loopback."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the Canvas emulator only listens on loopback, not {host!r}")


class CanvasEmulator(EmulatorState):
    """A fake Canvas LMS (Course Reports API), its object store and files domain, over real HTTP on 127.0.0.1.

    >>> with CanvasEmulator(tokens={"t": "teacher"}) as emu:   # doctest: +SKIP
    ...     requests.get(f"{emu.base_url}/api/v1/users/self", headers={"Authorization": "Bearer t"})

    ``tokens`` maps tokens to roles (``teacher``, ``ta``, ``designer``, ``admin`` may read reports;
    anything else, e.g. ``student``, may not). ``port``/``storage_port``/``files_port`` 0 pick free ports.
    ``record_requests=False`` keeps only counters (for benchmarks).

    Three servers share one event loop on a daemon thread: ``api`` (:mod:`.api`, plus the control
    API of :mod:`.control`), ``storage`` (:mod:`.storage`) and ``files`` (:mod:`.downloads`).
    """

    def __init__(
        self,
        tokens: dict[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        storage_port: int = 0,
        files_port: int = 0,
        record_requests: bool = True,
    ) -> None:
        check_loopback(host)
        super().__init__(tokens, host=host, record_requests=record_requests)
        self._requested_ports = (port, storage_port, files_port)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[HttpServer] = []

    # ---------------------------------------------------------------------------- lifecycle
    def start(self) -> CanvasEmulator:
        """
        Bind the three ports and serve from a daemon thread; returns self. Started again after
        :meth:`stop`, it binds the ports it had, with its state (reports, tokens, courses) intact:
        an outage clients see as refused connections, then Canvas back where it was.
        """
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._bind())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                _drain_loop(loop)

        self._loop = loop
        self._thread = threading.Thread(target=run, name="canvas-emulator", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._loop, self._thread = None, None
            raise failure[0]
        return self

    async def _bind(self) -> None:
        async def answer_api(request: Request) -> Response:
            """Admit (throttle), take the request's server time, answer: each step under the lock."""
            with self._lock:
                refused = api.admit(self, request)
            if refused is not None:
                return refused
            if self.request_seconds > 0:  # the up-front cost stays in the bucket meanwhile
                await asyncio.sleep(self.request_seconds)
            with self._lock:
                return api.answer(self, request)

        async def api_or_control(request: Request) -> Response:
            if request.path.startswith(control.PREFIX):  # never recorded, throttled or faulted
                return control.handle(self, request)
            return await serve_with_faults(self, "api", request, lambda: answer_api(request))

        api_server = HttpServer(api_or_control)
        storage_server = HttpServer(self._server("storage", storage.handle))
        files_server = HttpServer(self._server("files", downloads.handle))
        self._servers = [api_server, storage_server, files_server]
        # Started again after a stop: the same ports (Canvas back where clients expect it).
        api_port, storage_port, files_port = (
            (self.port, self.storage_port, self.files_port) if self.port else self._requested_ports
        )
        self.port = await api_server.start(self.host, api_port)
        self.storage_port = await storage_server.start(self.host, storage_port)
        self.files_port = await files_server.start(self.host, files_port)

    def stop(self) -> None:
        """Close the servers and every connection, and end the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def close() -> None:
            for server in self._servers:
                await server.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop, self._thread, self._servers = None, None, []

    @property
    def running(self) -> bool:
        """Whether the servers are up."""
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> CanvasEmulator:
        return self if self.running else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ handlers
    def _server(self, name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Serve ``handler`` as server ``name``: recorded, faulted, under the state's lock."""

        async def serve(request: Request) -> Response:
            def action() -> Response:
                with self._lock:
                    return handler(self, request)

            return await serve_with_faults(self, name, request, action)

        return serve


def _drain_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on the loop and close it."""
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()


__all__ = ["CanvasEmulator", "check_loopback"]
