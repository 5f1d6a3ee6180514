"""Fixtures for the emulator's own tests (real HTTP on loopback, no mocks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import requests

from tests.emulator_helpers import FAST, TEACHER

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_canvas_reports.testing import CanvasEmulator


@pytest.fixture
def emu(canvas_emulator: CanvasEmulator) -> CanvasEmulator:
    """A fresh emulator (the plugin's ``canvas_emulator``: an admin, two teachers and a student)."""
    return canvas_emulator


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
