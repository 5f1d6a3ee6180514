"""The TaskFlow how-to's DAG, run as a user runs it: a hook call in a task, a task reading the landed file."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timezone

from airflow_provider_canvas_reports.testing import ReportBehaviour
from airflow_provider_canvas_reports.testing.pace_plans import default_plan
from tests.dags import taskflow_course_pace
from tests.helpers import run_dag

LOGICAL_DATE = datetime(2026, 3, 2, tzinfo=timezone.utc)


def test_taskflow_dag_starts_one_report_and_reads_the_landed_paces(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_CANVAS_LANDING_ROOT", str(tmp_path))
    emulator.set_behaviour(101, ReportBehaviour(created_seconds=0, running_seconds=0))

    result = run_dag(taskflow_course_pace.dag, logical_date=LOGICAL_DATE)

    assert result.state == "success", result.task_states
    assert emulator.post_count(101) == 1  # the hook call in start_report made exactly one report
    landed = result.xcom("land")
    (path,) = (tmp_path / "2026-03-02" / "course_101").iterdir()
    assert path.name == landed["filename"] == "course_pace.zip"  # two sections: a zip
    assert hashlib.sha256(path.read_bytes()).hexdigest() == emulator.file_sha256(landed["report_id"])
    items = [item for module in default_plan(101).modules for item in module.items]
    graded = sum(item.points or 0 for item in items if item.kind in ("assignment", "quiz", "discussion"))
    summary = result.xcom("pace_summary")
    assert [(row["context"], row["items"], row["points"]) for row in summary] == [
        ("Section 1", len(items), graded),
        ("Section 2", len(items), graded),
    ]
    assert all(date.fromisoformat(row["end_date"]) for row in summary)
