"""
Streaming a report's file from Canvas to a file object: flat memory, verified, retried.

``file_url`` answers with a 302 to object storage (or with the bytes). The redirect is followed
by hand so that ``Authorization`` never goes to the storage host, whose signed URLs reject it.
Neither the verifier nor the storage signature ever appears in a log line or an error.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import tenacity

from airflow_provider_canvas_reports.api import CanvasRequest, RawResponse, error_for
from airflow_provider_canvas_reports.exceptions import CanvasDownloadError, CanvasError, CanvasTransportError
from airflow_provider_canvas_reports.transports import USER_AGENT, retry_options

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

    from airflow_provider_canvas_reports._typing import Log
    from airflow_provider_canvas_reports.settings import CanvasSettings

CHUNK_SIZE = 1 << 20
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class DownloadResult:
    """What landed: byte count, sha256 (hex) and the storage's content type."""

    size: int
    sha256: str
    content_type: str | None


def _without_query(url: str) -> str:
    """``https://host/path``: the query (verifier, storage signature) is a credential."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _label(url: str) -> str:
    return f"GET {_without_query(url)}"


class ProgressLog:
    """Logs bytes, total, percent and rate at most every ``interval`` seconds."""

    def __init__(self, log: Log, total: int | None, interval: float = 10.0):
        self.log = log
        self.total = total
        self.interval = interval
        self.started = self.last = time.monotonic()

    def __call__(self, done: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - self.last < self.interval:
            return
        self.last = now
        rate = done / max(now - self.started, 1e-6) / 2**20
        if self.total:
            self.log.info(
                "Downloaded %.1f of %.1f MiB (%.1f%%), %.1f MiB/s",
                done / 2**20,
                self.total / 2**20,
                100.0 * done / self.total,
                rate,
            )
        else:
            self.log.info("Downloaded %.1f MiB, %.1f MiB/s", done / 2**20, rate)


class _Sink:
    """
    The destination file plus its running sha256, able to restart from zero.

    Hashing stays inline: a worker-thread hasher measured slower here (page faults and context
    switches outweighed the overlap), see benchmarks/RESULTS.md.
    """

    def __init__(self, fileobj: BinaryIO):
        self.fileobj = fileobj
        self.sha = hashlib.sha256()
        self.size = 0

    def restart(self) -> None:
        self.fileobj.seek(0)
        self.fileobj.truncate()
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.fileobj.write(chunk)
        self.sha.update(chunk)
        self.size += len(chunk)


class ReportFileDownloader:
    """
    Downloads one report file with the hook's settings.

    :param canvas_session: the hook's authorised session (used for the Canvas host only).
    :param settings: timeouts and retry policy.
    """

    def __init__(
        self,
        canvas_session: requests.Session,
        settings: CanvasSettings,
        log: Log,
    ):
        import requests

        self.canvas_session = canvas_session
        self.settings = settings
        self.log = log
        self.storage_session = requests.Session()  # no Authorization, ever
        self.storage_session.headers["User-Agent"] = USER_AGENT
        self.storage_session.verify = settings.verify_ssl
        self._requests = requests

    def download(
        self,
        file_url: str,
        fileobj: BinaryIO,
        expected_size: int | None,
        on_progress: Callable[[int], None] | None = None,
    ) -> DownloadResult:
        """Stream ``file_url`` into ``fileobj`` (seekable), retrying cut transfers; verify the size."""
        sink = _Sink(fileobj)
        content_type = None
        for attempt in tenacity.Retrying(**retry_options(self.settings, self.log)):
            with attempt:
                content_type = self._transfer(file_url, sink, expected_size, on_progress)
        return DownloadResult(sink.size, sink.sha.hexdigest(), content_type)

    def _transfer(
        self, file_url: str, sink: _Sink, expected: int | None, on_progress: Callable[[int], None] | None
    ) -> str | None:
        resume_from = sink.size if sink.size and (expected is None or sink.size < expected) else 0
        response = self._open(file_url, resume_from)
        with response:
            if resume_from and response.status_code == 206:
                self.log.info("Resuming the download at byte %d", resume_from)
            elif sink.size:
                self.log.info("Restarting the download from the beginning")
                sink.restart()
            try:
                for chunk in response.iter_content(CHUNK_SIZE):
                    sink.write(chunk)
                    if on_progress:
                        on_progress(sink.size)
            except self._requests.RequestException as exc:
                raise CanvasDownloadError(
                    f"Download of the report file broke off after {sink.size} bytes: {type(exc).__name__}"
                ) from None
        if expected is not None and sink.size != expected:
            raise CanvasDownloadError(
                f"Download of the report file got {sink.size} bytes where Canvas promised {expected}"
            )
        return response.headers.get("content-type")

    def _open(self, file_url: str, resume_from: int) -> requests.Response:
        """GET ``file_url``; follow redirects without ``Authorization``; return the streaming answer."""
        url, session = file_url, self.canvas_session
        headers = {"Range": f"bytes={resume_from}-"} if resume_from else {}
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = session.get(
                    url,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                    timeout=(self.settings.connect_timeout, self.settings.timeout),
                )
            except self._requests.RequestException as exc:
                raise CanvasTransportError(f"{_label(url)} failed: {type(exc).__name__}") from None
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                response.close()
                if urlsplit(url).netloc != urlsplit(self.settings.base_url).netloc:
                    session = self.storage_session
                continue
            if response.status_code in (200, 206):
                return response
            body = response.raw.read(4096, decode_content=True)
            response.close()
            raise self._error(url, response, body)
        raise CanvasDownloadError(f"{_label(file_url)}: more than {MAX_REDIRECTS} redirects")

    @staticmethod
    def _error(url: str, response: Any, body: bytes) -> CanvasError:
        request = CanvasRequest("GET", _without_query(url))
        raw = RawResponse(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body)
        return error_for(request, raw)
