"""``CanvasEmulator``: the Canvas API host, object storage and a files domain on loopback, in a thread."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import threading
import time
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.testing import api, control, storage
from airflow_provider_canvas_reports.testing.downloads import handle_files_domain
from airflow_provider_canvas_reports.testing.faults import serve_with_faults
from airflow_provider_canvas_reports.testing.http import HttpServer
from airflow_provider_canvas_reports.testing.state import EmulatorState

if TYPE_CHECKING:
    from types import TracebackType

    from airflow_provider_canvas_reports.testing.http import Request, Response
    from airflow_provider_canvas_reports.testing.reports import Attachment, Report


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
        super().__init__(tokens, record_requests=record_requests)
        self.host = host
        self._requested_ports = (port, storage_port, files_port)
        self.port = 0
        self.storage_port = 0
        self.files_port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[HttpServer] = []

    # ---------------------------------------------------------------------------- lifecycle
    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``: the Canvas API host."""
        return f"http://{self.host}:{self.port}"

    @property
    def storage_url(self) -> str:
        """``http://127.0.0.1:PORT2``: the object-storage host."""
        return f"http://{self.host}:{self.storage_port}"

    @property
    def files_url(self) -> str:
        """``http://127.0.0.1:PORT3``: the files domain (``file_url`` with ``file_host="files"``)."""
        return f"http://{self.host}:{self.files_port}"

    def urls(self) -> dict[str, str]:
        """``{"base_url", "storage_url", "files_url"}``."""
        return {"base_url": self.base_url, "storage_url": self.storage_url, "files_url": self.files_url}

    def file_origin(self, report: Report) -> str:
        """The origin the report's ``file_url`` points at."""
        return self.files_url if report.behaviour.file_host == "files" else self.base_url

    def start(self) -> CanvasEmulator:
        """Bind the three ports and serve from a daemon thread; returns self."""
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
        api_server = HttpServer(self._handle_api)
        storage_server = HttpServer(self._handle_storage)
        files_server = HttpServer(self._handle_files)
        self._servers = [api_server, storage_server, files_server]
        self.port = await api_server.start(self.host, self._requested_ports[0])
        self.storage_port = await storage_server.start(self.host, self._requested_ports[1])
        self.files_port = await files_server.start(self.host, self._requested_ports[2])

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
    async def _handle_api(self, request: Request) -> Response:
        if request.path.startswith(control.PREFIX):
            return control.handle(self, request)

        def action() -> Response:
            with self._lock:
                return api.handle(self, request)

        return await serve_with_faults(self, "api", request, action)

    async def _handle_storage(self, request: Request) -> Response:
        def action() -> Response:
            with self._lock:
                return storage.handle(self, request)

        return await serve_with_faults(self, "storage", request, action)

    async def _handle_files(self, request: Request) -> Response:
        def action() -> Response:
            with self._lock:
                return handle_files_domain(self, request, time.time())

        return await serve_with_faults(self, "files", request, action)

    def _sign(self, attachment: Attachment, now: float) -> str:
        """A fresh pre-signed storage URL for ``attachment``, valid for 300 s."""
        signature = secrets.token_hex(32)
        with self._lock:
            if len(self._signatures) > 50_000:  # forget expired signatures now and then
                self._signatures = {k: v for k, v in self._signatures.items() if v[1] >= now}
            self._signatures[signature] = (attachment.object_key, now + storage.SIGNED_URL_SECONDS)
        return storage.signed_url(self.storage_url, attachment.object_key, signature)


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
