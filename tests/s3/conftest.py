"""
A real S3-compatible server for the object-storage tests: ``moto`` in server mode on loopback,
started once per session and stopped by its pid, reached through the amazon provider's ``aws``
connection (``endpoint_url``) and Airflow's ``ObjectStoragePath``.
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

AWS_CONN_ID = "aws_moto"


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_listening(port: int, process: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not listen on 127.0.0.1:{port} within 30 s")


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _wait_until_listening(port, process, time.monotonic() + 30)
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
