"""
Object stores for the landing tests: a GCS server (fake-gcs-server) and Azure Blob (Azurite), each
started once per session on loopback and stopped by its pid, reached through ordinary Airflow
connections (``gcs_landing``: google_cloud_platform; ``azure_landing``: wasb).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from tests.store_servers import AZURE_CONN_ID, GCS_CONN_ID, AzuriteServer, GcsServer


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
