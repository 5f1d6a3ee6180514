"""
Fixtures of the system tests: one real Airflow installation for the session (scheduler with the
LocalExecutor, dag-processor, triggerer and api-server on SQLite) and the Canvas emulator as a
separate process, all on loopback; see :mod:`tests.system.cluster`.

Starting it takes about 35 s on two cores, and happens only when a system test runs. The system
tests run after all the others, and every process is stopped by pid right after the last of them
(or at the end of the session), also after a failure; when a system test failed, the processes'
and tasks' logs are copied to ``test-artifacts/system-logs/`` first.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.system.cluster import ARTIFACTS, AirflowSystem, start_system

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_canvas_reports.testing.client import EmulatorControl

_failed: list[str] = []
_running: list[tuple[AirflowSystem, Path]] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the system tests last (in their usual order), so the installation starts once and stops early."""
    items.sort(key=lambda item: item.get_closest_marker("system") is not None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    report = yield
    if report.failed:
        _failed.append(item.nodeid)
    return report


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the installation right after the last system test, not at the end of the session."""
    if nextitem is None or nextitem.get_closest_marker("system") is None:
        _shutdown()


def _keep_logs(home: Path) -> None:
    target = ARTIFACTS / "system-logs"
    for name in ("process-logs", "logs"):
        if (home / name).exists():
            shutil.copytree(home / name, target / name, dirs_exist_ok=True)


def _shutdown() -> None:
    while _running:
        system, home = _running.pop()
        system.stop_all()
        if _failed:
            _keep_logs(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_system() -> Iterator[AirflowSystem]:
    """The running installation; torn down (every process, by pid) after the last system test."""
    from airflow import __version__ as airflow_version

    if int(airflow_version.split(".")[0]) < 3:
        pytest.skip(
            f"the system tests drive Airflow 3 processes (api-server, dag-processor), not {airflow_version}"
        )
    shutil.rmtree(ARTIFACTS / "system-logs", ignore_errors=True)
    home = Path(tempfile.mkdtemp(prefix="canvas-system-"))
    try:
        system = start_system(home)
    except BaseException:
        _keep_logs(home)
        shutil.rmtree(home, ignore_errors=True)
        raise
    _running.append((system, home))
    try:
        yield system
    finally:
        _shutdown()


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
