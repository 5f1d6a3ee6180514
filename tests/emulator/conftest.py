"""Fixtures for the emulator's own tests (real HTTP on loopback, no mocks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from airflow_provider_canvas_reports.testing import CanvasEmulator
from airflow_provider_canvas_reports.testing.pytest_plugin import (  # noqa: F401  (fixtures under test)
    canvas_emulator,
    canvas_emulator_session,
    canvas_emulator_shared,
)
from tests.emulator.helpers import FAST, OTHER_TEACHER, STUDENT, TEACHER

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def emu() -> Iterator[CanvasEmulator]:
    """An emulator with two teachers and a student."""
    with CanvasEmulator(
        tokens={TEACHER: "teacher", OTHER_TEACHER: "teacher", STUDENT: "student"}
    ) as emulator:
        yield emulator


@pytest.fixture
def fast_emu(emu: CanvasEmulator) -> CanvasEmulator:
    """The same emulator, with reports that complete as soon as they are read."""
    emu.default_behaviour = FAST
    return emu


@pytest.fixture
def api(emu: CanvasEmulator) -> Iterator[requests.Session]:
    """A keep-alive session authenticated as the first teacher."""
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {TEACHER}"
        yield session
