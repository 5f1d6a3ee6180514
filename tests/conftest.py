"""
Shared fixtures: an isolated AIRFLOW_HOME on SQLite, the Canvas emulator on loopback (the
package's own pytest plugin, as users enable it), and a ``canvas_default`` connection pointing at it.

The environment is set before Airflow is imported, so every test (and every ``dag.test()``)
runs against a private metadata database and the DAG files in ``tests/dags``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

TESTS_DIR = Path(__file__).parent
_HOME = Path(tempfile.mkdtemp(prefix="canvas-provider-tests-"))
# dag.test() runs only DAGs from the DAGs folder: give it the test scenarios and the examples.
_DAGS = _HOME / "dags"
_DAGS.mkdir()
(_DAGS / "scenarios").symlink_to(TESTS_DIR / "dags")
(_DAGS / "examples").symlink_to(TESTS_DIR.parent / "airflow_provider_canvas_reports" / "example_dags")
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(_DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # gcsfs asks a bucket's layout over gRPC first (zonal buckets); a GCS emulator has no gRPC,
        # and the probe waits 60 s per bucket before falling back. Read before gcsfs is imported.
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
    }
)

from tests.servers import PostgresServer  # noqa: E402

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing import CanvasEmulator

pytest_plugins = ["airflow_provider_canvas_reports.testing.pytest_plugin"]


@pytest.fixture(scope="session", autouse=True)
def airflow_db() -> Iterator[Path]:
    """A migrated SQLite metadata database, made before any test can open the database."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ
    )
    _reuse_the_in_process_execution_api()
    yield _HOME
    shutil.rmtree(_HOME, ignore_errors=True)


def _reuse_the_in_process_execution_api() -> None:
    """Airflow 3.0 and 3.1's ``dag.test()`` build the in-process Execution API (a FastAPI app
    with Cadwyn's versioned routers) anew for every task it runs: about 1.2 s of CPU per task,
    which made the 3.1 line 2.5 times slower than the others for the same tests. Airflow 3.2
    caches it (apache/airflow#65235, ``functools.lru_cache(maxsize=1)`` on
    ``in_process_api_server``); the same cache here, so that line spends its time on our code."""
    try:
        from airflow.sdk.execution_time import supervisor
    except ImportError:  # Airflow 2: dag.test() runs tasks without an Execution API
        return
    if not hasattr(supervisor.in_process_api_server, "cache_clear"):
        supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(supervisor.in_process_api_server)


@pytest.fixture
def emulator(canvas_connection: CanvasEmulator) -> CanvasEmulator:
    """The session's emulator, reset, with ``canvas_default`` pointing at it (the plugin's
    ``canvas_connection``: the name every test here uses)."""
    return canvas_connection


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A private PostgreSQL cluster on loopback for the whole session (stopped by its pid)."""
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()
