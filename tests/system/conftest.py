"""
Fixtures of the system tests: one real Airflow installation for the session (scheduler with the
LocalExecutor, dag-processor, triggerer and api-server on SQLite) and the Canvas emulator as a
separate process, all on loopback; see :mod:`tests.system.cluster`. The ``cluster`` tests get a
second installation instead: PostgreSQL, Redis, a Celery worker and two triggerers
(:mod:`tests.system.distributed`).

Starting one takes about 35 s (SQLite) or 20 s (the cluster) on two cores, and happens only
when such a test runs. The system tests run after all the others and the cluster tests last; each
installation is stopped by pid right after the last test that uses it (or at the end of the
session), also after a failure; when a test failed, the processes' and tasks' logs are copied to
``test-artifacts/system-logs/`` (or ``cluster-logs/``) first.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.system.cluster import ARTIFACTS, AirflowSystem, start_system
from tests.system.distributed import CeleryCluster, start_cluster

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_canvas_reports.testing.client import EmulatorControl

_failed: list[str] = []
_running: list[tuple[AirflowSystem, Path, str]] = []


def _kind(item: pytest.Item | None) -> str | None:
    """``"system"``, ``"cluster"`` or None: which installation a test uses."""
    for marker in ("cluster", "system"):
        if item is not None and item.get_closest_marker(marker) is not None:
            return marker
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the system tests last and the cluster tests after them (each in their usual order), so
    each installation starts once and stops as soon as its tests are done."""
    order = {None: 0, "system": 1, "cluster": 2}
    items.sort(key=lambda item: order[_kind(item)])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.failed:
        _failed.append(item.nodeid)
    return report


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop an installation right after the last test that uses it, not at the end of the session."""
    if _kind(nextitem) != _kind(item):
        _shutdown()


def _keep_logs(home: Path, kind: str) -> None:
    target = ARTIFACTS / f"{kind}-logs"
    for name in ("process-logs", "logs"):
        if (home / name).exists():
            shutil.copytree(home / name, target / name, dirs_exist_ok=True)


def _shutdown() -> None:
    while _running:
        system, home, kind = _running.pop()
        system.stop_all()
        if _failed:
            _keep_logs(home, kind)
        shutil.rmtree(home, ignore_errors=True)


def _require_airflow_3() -> None:
    """The system tests drive Airflow 3 processes; ``make test-compat`` (Airflow 2.11) ignores them."""
    from airflow import __version__ as airflow_version

    if int(airflow_version.split(".")[0]) < 3:
        pytest.fail(
            f"the system tests drive Airflow 3 processes (api-server, dag-processor), not {airflow_version}; "
            "run them with `make test`",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def airflow_system() -> Iterator[AirflowSystem]:
    """The running installation; torn down (every process, by pid) after the last system test."""
    _require_airflow_3()
    shutil.rmtree(ARTIFACTS / "system-logs", ignore_errors=True)
    home = Path(tempfile.mkdtemp(prefix="canvas-system-"))
    try:
        system = start_system(home)
    except BaseException:
        _keep_logs(home, "system")
        shutil.rmtree(home, ignore_errors=True)
        raise
    _running.append((system, home, "system"))
    try:
        yield system
    finally:
        _shutdown()


@pytest.fixture(scope="session")
def celery_cluster() -> Iterator[CeleryCluster]:
    """The running cluster; torn down (every process and server, by pid) after the last cluster test."""
    _require_airflow_3()
    shutil.rmtree(ARTIFACTS / "cluster-logs", ignore_errors=True)
    home = Path(tempfile.mkdtemp(prefix="canvas-cluster-"))
    try:
        cluster = start_cluster(home)
    except BaseException:
        _keep_logs(home, "cluster")
        shutil.rmtree(home, ignore_errors=True)
        raise
    _running.append((cluster, home, "cluster"))
    try:
        yield cluster
    finally:
        _shutdown()


@pytest.fixture
def cluster(celery_cluster: CeleryCluster) -> CeleryCluster:
    """The cluster, checked alive (a test that crashed a process must have replaced it)."""
    assert _running, "the cluster was stopped after the cluster tests; run them together, last"
    for process in celery_cluster.processes.values():
        assert process.alive(), (
            f"{process.name} (pid {process.pid}) is not running:\n{process.log_text()[-3000:]}"
        )
    assert len(celery_cluster.triggerer_jobs) == 2, celery_cluster.triggerer_jobs
    return celery_cluster


@pytest.fixture
def cluster_emulator(cluster: CeleryCluster) -> EmulatorControl:
    """The cluster's emulator process, fully reset."""
    control = cluster.emulator
    control.reset()
    return control


@pytest.fixture
def system(airflow_system: AirflowSystem) -> AirflowSystem:
    """The installation, checked alive (a test that crashed a process must have restarted it)."""
    assert _running, "the installation was stopped after the system tests; run them together, last"
    for process in airflow_system.processes.values():
        assert process.alive(), (
            f"{process.name} (pid {process.pid}) is not running:\n{process.log_text()[-3000:]}"
        )
    return airflow_system


@pytest.fixture
def emulator(system: AirflowSystem) -> EmulatorControl:
    """The emulator process, fully reset: no reports, faults, behaviour overrides or records."""
    control = system.emulator
    control.reset()
    return control
