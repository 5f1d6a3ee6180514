"""
Fixtures for the integration tests: a loopback port that refuses connections, and the object
stores reports land in, each started once per session on loopback and stopped by its pid:

- S3: ``moto`` in server mode, reached through the amazon provider's ``aws`` connection
  (``endpoint_url``) and Airflow's ``ObjectStoragePath``;
- GCS: fake-gcs-server, through the ``gcs_landing`` connection (google_cloud_platform);
- Azure Blob: Azurite, through the ``azure_landing`` connection (wasb).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.servers import free_port
from tests.store_servers import AWS_CONN_ID, AZURE_CONN_ID, GCS_CONN_ID, AzuriteServer, GcsServer


@dataclass
class S3Server:
    endpoint_url: str
    pid: int

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )


def _start_moto() -> tuple[subprocess.Popen[bytes], int]:
    """moto_server on a free port, listening. Another process (another CI line runs beside this
    one) may take the port before moto binds it: moto then exits at once, and a new port is tried."""
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            except OSError:
                time.sleep(0.05)
                continue
            if process.poll() is None:
                return process, port
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            raise RuntimeError(f"moto_server did not listen on 127.0.0.1:{port} within 30 s")
    raise RuntimeError(f"moto_server exited three times (last: {process.returncode})")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    process, port = _start_moto()
    try:
        yield S3Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
def s3(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The server, and an ``aws_moto`` connection to it (amazon provider, ``endpoint_url``)."""
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}",
        json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": s3_server.endpoint_url, "region_name": "us-east-1"},
            }
        ),
    )
    return s3_server


@pytest.fixture
def bucket(s3: S3Server) -> str:
    """A new empty bucket on the server."""
    name = f"canvas-landing-{uuid.uuid4().hex[:10]}"
    s3.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nothing else takes it) but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[GcsServer]:
    with GcsServer() as server:
        yield server


@pytest.fixture
def gcs(gcs_server: GcsServer, monkeypatch: pytest.MonkeyPatch) -> GcsServer:
    """The server, and the ``gcs_landing`` connection to it."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{GCS_CONN_ID.upper()}", json.dumps(gcs_server.connection()))
    return gcs_server


@pytest.fixture
def gcs_bucket(gcs: GcsServer) -> str:
    """A new empty bucket."""
    import gcsfs

    name = f"canvas-landing-{uuid.uuid4().hex[:10]}"
    gcsfs.GCSFileSystem(endpoint_url=gcs.url, token="anon", project="canvas-landing-tests").mkdir(name)
    return name


@pytest.fixture(scope="session")
def azurite_server() -> Iterator[AzuriteServer]:
    with AzuriteServer() as server:
        yield server


@pytest.fixture
def azurite(azurite_server: AzuriteServer, monkeypatch: pytest.MonkeyPatch) -> AzuriteServer:
    """The server, and the ``azure_landing`` connection to it."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{AZURE_CONN_ID.upper()}", json.dumps(azurite_server.connection()))
    return azurite_server


@pytest.fixture
def container(azurite: AzuriteServer) -> str:
    """A new empty container."""
    name = f"canvas-landing-{uuid.uuid4().hex[:10]}"
    azurite.service().create_container(name)
    return name
