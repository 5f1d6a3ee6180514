"""A load killed halfway by SIGKILL, under a real scheduler and LocalExecutor: the tables keep their rows."""

from __future__ import annotations

import os
import signal
import sqlite3
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from airflow_provider_canvas_reports.testing.csv_files import build_account_report_file
from tests.system.cluster import descendants, gone, process_title, wait_until

if TYPE_CHECKING:
    from pathlib import Path

    from tests.system.cluster import AirflowSystem

pytestmark = pytest.mark.system

DAG_ID = "canvas_system_account_load"
TABLES = ("canvas_provisioning_users", "canvas_provisioning_enrollments")


def write_report(path: Path, rows: int, seed: int) -> None:
    """A provisioning ZIP (users and enrollments) as the emulator makes it, written to ``path``."""
    when = datetime(2026, 3, 1, tzinfo=timezone.utc)
    report = build_account_report_file("provisioning_csv", ["users", "enrollments"], rows, seed, 60, when)
    with path.open("wb") as out:
        for chunk in report.content.iter_range():
            out.write(chunk)


def warehouse_rows(system: AirflowSystem) -> dict[str, list[tuple]]:
    """Every table's rows (opening the file rolls back a transaction a killed process left behind)."""
    with sqlite3.connect(system.warehouse) as db:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall() for table in TABLES}


def test_a_load_killed_halfway_leaves_the_previous_rows(system: AirflowSystem):
    """
    Load a small report; then start loading a big one of the same account and date, and SIGKILL
    the task process while its transaction is open (SQLite's rollback journal exists: the slice's
    rows are deleted and new ones are being inserted). The try fails, and the tables hold exactly
    the small report's rows.
    """
    small, big = system.landing_root / "provisioning-small.zip", system.landing_root / "provisioning-big.zip"
    write_report(small, rows=25, seed=1)
    write_report(big, rows=150_000, seed=2)
    first = system.trigger(DAG_ID, {"uri": str(small), "report_id": 1})
    assert system.watch(DAG_ID, first, timeout=120).state == "success"
    before = warehouse_rows(system)
    assert [len(rows) for rows in before.values()] == [25, 25]
    journal = system.warehouse.with_name(system.warehouse.name + "-journal")

    run_id = system.trigger(DAG_ID, {"uri": str(big), "report_id": 2})
    watch = system.watch(DAG_ID, run_id, timeout=120, until=lambda w: w.ti("load").get("state") == "running")
    ti_id = watch.ti("load")["id"]
    task = wait_until(
        lambda: [
            (pid, started)
            for pid, started in descendants(system.processes["scheduler"].pid).items()
            if process_title(pid) == f"airflow worker -- {ti_id}"
        ],
        timeout=60,
        what="the task process",
        interval=0.05,
    )
    wait_until(journal.exists, timeout=120, what="the load's transaction to start writing", interval=0.01)
    for pid, _ in task:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: all(gone(*p) for p in task), timeout=10, what="the task process to die")

    system.keep_watching(watch, timeout=120)

    assert watch.state == "failed", watch.describe()
    assert watch.ti("load")["state"] == "failed"
    assert "success" not in watch.seen["load"], watch.describe()
    assert warehouse_rows(system) == before
