"""A Canvas LMS emulator for tests: the Course Reports API, an object store and a files domain on loopback.

In-process::

    from airflow_provider_canvas_reports.testing import CanvasEmulator, Fault, ReportBehaviour

    with CanvasEmulator() as emu:          # emu.base_url, emu.storage_url, emu.files_url, emu.token
        emu.set_behaviour(42, ReportBehaviour(hold=True))
        emu.add_fault(Fault("503", count=2))

From another process: ``python -m airflow_provider_canvas_reports.testing --port 8765`` and
:class:`EmulatorControl`. Pytest fixtures: see :mod:`airflow_provider_canvas_reports.testing.pytest_plugin`.
Standard library only.
"""

from __future__ import annotations

from airflow_provider_canvas_reports.testing.client import EmulatorControl, connection_json, run_report
from airflow_provider_canvas_reports.testing.emulator import CanvasEmulator
from airflow_provider_canvas_reports.testing.models import (
    DEFAULT_TOKENS,
    FAULT_KINDS,
    Fault,
    RecordedRequest,
    ReportBehaviour,
)

__all__ = [
    "DEFAULT_TOKENS",
    "FAULT_KINDS",
    "CanvasEmulator",
    "EmulatorControl",
    "Fault",
    "RecordedRequest",
    "ReportBehaviour",
    "connection_json",
    "run_report",
]
