"""
Streaming a report's file from Canvas to a file object: flat memory, verified, retried.

``file_url`` answers with a 302 to object storage (or with the bytes). Redirects are followed by
hand so that ``Authorization`` goes only to the Canvas origin the connection names (same scheme,
host and port), on the first hop as on every later one: a ``file_url`` on a separate files
domain, object storage, or plain ``http://`` on the Canvas host never sees the token. Neither the
verifier nor the storage signature ever appears in a log line or an error.

The body is read straight from the socket into a small ring of reused buffers, written from them,
and hashed from them on a worker thread: no per-chunk allocation or copy, and sha256 overlaps the
network and the disk instead of adding to them (A/B in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import tenacity

from airflow_provider_canvas_reports import redact
from airflow_provider_canvas_reports.client.calls import CanvasRequest
from airflow_provider_canvas_reports.client.responses import RawResponse, error_for, short_text
from airflow_provider_canvas_reports.client.transport import (
    USER_AGENT,
    describe_failure,
    retry_options,
    transport_error,
    url_without_query,
)
from airflow_provider_canvas_reports.exceptions import (
    CanvasDownloadError,
    CanvasError,
    CanvasStorageRefusedError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from concurrent.futures import Future

    import requests

    from airflow_provider_canvas_reports._typing import Log
    from airflow_provider_canvas_reports.client.settings import CanvasSettings

#: Bytes read from the socket, then written and hashed, per step: small enough to stay in a core's
#: L2 cache between the three, large enough to keep system calls few.
CHUNK_SIZE = 256 * 1024
#: Buffers in the ring: reading and writing run this many chunks ahead of hashing at most.
RING_SIZE = 4
MAX_REDIRECTS = 5
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class DownloadResult:
    """What landed: byte count, sha256 (hex) and the storage's content type."""

    size: int
    sha256: str
    content_type: str | None


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` with the scheme's default port filled in: what must match to get the token."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    default = {"https": 443, "http": 80}.get(scheme)
    return scheme, (parts.hostname or "").lower(), parts.port or default


def human_size(size: float) -> str:
    """``512 bytes``, ``19.5 KiB``, ``3.2 MiB``, ``1.0 GiB``."""
    if size < 1024:
        return f"{int(size)} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        size /= 1024
        if size < 1024 or unit == "GiB":
            break
    return f"{size:.1f} {unit}"


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
        rate = human_size(done / max(now - self.started, 1e-6))
        if self.total:
            self.log.info(
                "Downloaded %s of %s (%.1f%%), %s/s",
                human_size(done),
                human_size(self.total),
                100.0 * done / self.total,
                rate,
            )
        else:
            self.log.info("Downloaded %s, %s/s", human_size(done), rate)


class _Sink:
    """
    The destination file plus its running sha256, able to restart from zero.

    Bytes are written inline and hashed in order on one worker thread (hashlib releases the GIL),
    from a ring of :data:`RING_SIZE` buffers: a buffer is refilled only once its hash is done, so
    hashing never holds more than the ring in memory. Use as a context manager (stops the thread).
    """

    def __init__(self, fileobj: BinaryIO):
        from concurrent.futures import ThreadPoolExecutor

        self.fileobj = fileobj
        self.sha = hashlib.sha256()
        self.size = 0
        self._ring = [memoryview(bytearray(CHUNK_SIZE)) for _ in range(RING_SIZE)]
        self._hashing: list[Future[None] | None] = [None] * RING_SIZE
        self._slot = 0
        self._hasher = ThreadPoolExecutor(1, thread_name_prefix="canvas-report-sha256")

    def __enter__(self) -> _Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._hasher.shutdown(wait=True)

    def _wait(self, slot: int) -> None:
        pending, self._hashing[slot] = self._hashing[slot], None
        if pending is not None:
            pending.result()

    def next_buffer(self) -> memoryview:
        """The buffer the next chunk may be read into (its previous contents are hashed)."""
        self._wait(self._slot)
        return self._ring[self._slot]

    def write(self, chunk: bytes | memoryview) -> None:
        """Write ``chunk`` (bytes, or a view of :meth:`next_buffer`) and queue it for hashing."""
        slot = self._slot
        self._wait(slot)
        self.fileobj.write(chunk)
        self._hashing[slot] = self._hasher.submit(self.sha.update, chunk)
        self.size += len(chunk)
        self._slot = (slot + 1) % RING_SIZE

    def sha256(self) -> str:
        for slot in range(RING_SIZE):
            self._wait(slot)
        return self.sha.hexdigest()

    def restart(self) -> None:
        self.sha256()  # let queued hashing finish before its hash object is replaced
        self.fileobj.seek(0)
        self.fileobj.truncate()
        self.sha = hashlib.sha256()
        self.size = 0


def _direct_reader(response: requests.Response) -> Any:
    """
    The ``http.client`` response under ``requests``/``urllib3`` when the body can be read as is
    (no content coding), so that ``readinto`` fills our buffer straight from the socket; else None.
    """
    import http.client

    coding = response.headers.get("content-encoding", "identity").strip().lower()
    fp = getattr(response.raw, "_fp", None)
    if coding in ("", "identity") and isinstance(fp, http.client.HTTPResponse):
        return fp
    return None


def _chunks(response: requests.Response, sink: _Sink) -> Iterator[memoryview | bytes]:
    """The body in chunks: views of the sink's buffers read straight from the socket, or library chunks."""
    reader = _direct_reader(response)
    if reader is None:
        yield from response.iter_content(CHUNK_SIZE)
        return
    while True:
        buffer = sink.next_buffer()
        count = reader.readinto(buffer)
        if not count:
            return
        yield buffer[:count]


class ReportFileDownloader:
    """
    Downloads one report file with the hook's settings.

    :param canvas_session: the hook's authorised session (used for the Canvas origin only).
    :param settings: the Canvas URL, timeouts and retry policy.
    """

    def __init__(
        self,
        canvas_session: requests.Session,
        settings: CanvasSettings,
        log: Log,
    ):
        import requests

        redact.install_log_filters()
        self.canvas_session = canvas_session
        self.settings = settings
        self.log = log
        self.storage_session = requests.Session()  # no Authorization, ever
        self.storage_session.headers["User-Agent"] = USER_AGENT
        self.storage_session.verify = settings.verify_ssl
        self.canvas_origin = origin(settings.base_url)
        self._requests = requests
        self._read_errors: tuple[type[BaseException], ...] = (
            OSError,
            requests.RequestException,
            *_http_errors(),
        )

    def session_for(self, url: str) -> requests.Session:
        """The authorised session for the Canvas origin; the token-free one for any other."""
        return self.canvas_session if origin(url) == self.canvas_origin else self.storage_session

    def download(
        self,
        file_url: str,
        fileobj: BinaryIO,
        expected_size: int | None,
        on_progress: Callable[[int], None] | None = None,
        refresh: Callable[[], str] | None = None,
    ) -> DownloadResult:
        """
        Stream ``file_url`` into ``fileobj`` (seekable), retrying cut transfers; verify the size.

        :param refresh: returns a fresh ``file_url`` (the report read again), called before the
            retry that follows a storage's refusal of its signed URL.
        """
        content_type = None
        url = file_url
        refused = False
        with _Sink(fileobj) as sink:
            for attempt in tenacity.Retrying(**retry_options(self.settings, self.log)):
                with attempt:
                    if refused and refresh is not None:
                        url = refresh()
                        self.log.info("Read the report again for a fresh file_url")
                    try:
                        content_type = self._transfer(url, sink, expected_size, on_progress)
                    except CanvasStorageRefusedError:
                        refused = True
                        raise
            return DownloadResult(sink.size, sink.sha256(), content_type)

    def _transfer(
        self,
        file_url: str,
        sink: _Sink,
        expected: int | None,
        on_progress: Callable[[int], None] | None,
    ) -> str | None:
        resume_from = sink.size if sink.size and (expected is None or sink.size < expected) else 0
        response, url = self._open(file_url, resume_from)
        if response.status_code == 206 and _range_start(response.headers.get("content-range")) != resume_from:
            self.log.warning(
                "Asked for the file from byte %d, the storage answered Content-Range %r; "
                "restarting the download from the beginning",
                resume_from,
                response.headers.get("content-range"),
            )
            response.close()
            resume_from = 0
            sink.restart()
            response, url = self._open(file_url, 0)
            if response.status_code == 206 and _range_start(response.headers.get("content-range")) != 0:
                response.close()
                raise CanvasDownloadError(
                    f"{url_without_query(url)} answered a part of the file to a request for all of it"
                )
        if resume_from and response.status_code == 206:
            self.log.info("Resuming the download at byte %d", resume_from)
        elif sink.size:
            self.log.info("Restarting the download from the beginning")
            sink.restart()
        with response:
            body_length = _body_length(response)
            received = 0
            try:
                for chunk in _chunks(response, sink):
                    sink.write(chunk)
                    received += len(chunk)
                    if on_progress:
                        on_progress(sink.size)
            except self._read_errors as exc:
                cause, _ = describe_failure(exc, url, self.settings)
                raise CanvasDownloadError(
                    f"Download of the report file broke off after {sink.size} bytes: {cause}"
                ) from None
        if body_length is not None and received != body_length:
            raise CanvasDownloadError(
                f"Download of the report file broke off after {sink.size} bytes: the answer from "
                f"{url_without_query(url)} ended {body_length - received} bytes short"
            )
        if expected is not None and sink.size != expected:
            raise CanvasDownloadError(
                f"Download of the report file got {sink.size} bytes where Canvas promised {expected}"
            )
        return response.headers.get("content-type")

    def _open(self, file_url: str, resume_from: int) -> tuple[requests.Response, str]:
        """GET ``file_url`` following redirects (the token only to the Canvas origin): answer and URL."""
        url = file_url
        headers = {"Range": f"bytes={resume_from}-"} if resume_from else {}
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = self.session_for(url).get(
                    url,
                    headers=headers,
                    stream=True,
                    allow_redirects=False,
                    timeout=(self.settings.connect_timeout, self.settings.timeout),
                )
            except self._requests.RequestException as exc:
                raise transport_error("GET", url, exc, self.settings, prefix="Report file") from None
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                response.close()
                continue
            if response.status_code in (200, 206):
                return response, url
            body = response.raw.read(4096, decode_content=True)
            response.close()
            if response.status_code in (401, 403) and origin(url) != self.canvas_origin:
                raise CanvasStorageRefusedError(
                    f"The object storage Canvas redirected to ({origin(url)[1]}) refused the signed URL "
                    f"with HTTP {response.status_code} ({_storage_reason(body)}): it may have expired. "
                    "Not a problem with the Canvas token; the report is read again for a fresh file_url",
                    status_code=response.status_code,
                )
            raise self._error(url, response, body)
        raise CanvasDownloadError(f"GET {url_without_query(file_url)}: more than {MAX_REDIRECTS} redirects")

    @staticmethod
    def _error(url: str, response: Any, body: bytes) -> CanvasError:
        request = CanvasRequest("GET", url_without_query(url))
        raw = RawResponse(response.status_code, {k.lower(): v for k, v in response.headers.items()}, body)
        return error_for(request, raw)


def _storage_reason(body: bytes) -> str:
    """An object store's error code (``SignatureDoesNotMatch``, ``AccessDenied``...), else a short text."""
    text = body[:2000].decode("utf-8", "replace")
    code = re.search(r"<Code>([^<]{1,100})</Code>", text)
    if code:
        return code.group(1)
    return short_text(body, 200) or "no details"


def _range_start(content_range: str | None) -> int | None:
    """The first byte of ``Content-Range: bytes START-END/TOTAL``, or None if it is not one."""
    match = _CONTENT_RANGE.match(content_range or "")
    return int(match.group(1)) if match else None


def _body_length(response: requests.Response) -> int | None:
    """The body's length as ``Content-Length`` declares it (None when chunked, coded or absent)."""
    if response.headers.get("content-encoding", "identity").strip().lower() not in ("", "identity"):
        return None
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _http_errors() -> tuple[type[Exception], ...]:
    import http.client

    import urllib3.exceptions

    return (http.client.HTTPException, urllib3.exceptions.HTTPError)
