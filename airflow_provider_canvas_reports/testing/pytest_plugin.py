"""Pytest fixtures for the Canvas emulator.

Enable with ``pytest_plugins = ["airflow_provider_canvas_reports.testing.pytest_plugin"]`` in your
root ``conftest.py``. Fixtures:

``canvas_emulator``
    A fresh emulator per test (default token ``emulator-token``, a teacher), stopped afterwards.
``canvas_emulator_session``
    One emulator for the whole session. Use it through ``canvas_emulator_shared`` unless you
    really want state to leak between tests.
``canvas_emulator_shared``
    The session emulator after a full :meth:`CanvasEmulator.reset` (no reports, faults, records,
    behaviour overrides or throttle state): cheap, and isolated as long as tests run serially.
``canvas_connection``
    ``canvas_emulator_shared`` with Airflow's ``canvas_default`` connection pointing at it (as the
    admin ``emulator-token``, with fast retries) for the test: hooks, operators and ``dag.test()``
    runs reach it with no other set-up.

Every emulator knows the users of :data:`~.models.DEFAULT_TOKENS`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from airflow_provider_canvas_reports.testing.client import connection_json
from airflow_provider_canvas_reports.testing.emulator import CanvasEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def canvas_emulator() -> Iterator[CanvasEmulator]:
    """A started emulator for one test."""
    with CanvasEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def canvas_emulator_session() -> Iterator[CanvasEmulator]:
    """A started emulator shared by the whole session."""
    with CanvasEmulator() as emulator:
        yield emulator


@pytest.fixture
def canvas_emulator_shared(canvas_emulator_session: CanvasEmulator) -> CanvasEmulator:
    """The session emulator, reset to a clean state for this test."""
    canvas_emulator_session.reset()
    return canvas_emulator_session


@pytest.fixture
def canvas_connection(
    canvas_emulator_shared: CanvasEmulator, monkeypatch: pytest.MonkeyPatch
) -> CanvasEmulator:
    """The shared emulator, reset, with ``canvas_default`` pointing at it for this test."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_CANVAS_DEFAULT",
        connection_json(canvas_emulator_shared.base_url, canvas_emulator_shared.token),
    )
    return canvas_emulator_shared
