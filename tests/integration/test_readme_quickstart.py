"""The README's quickstart, as a user copies it: it runs, and re-running a date replaces that date's file."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.dags import canvas_scenarios as scenarios
from tests.helpers import run_dag

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "tests" / "dags" / "quickstart.py"
LOGICAL_DATE = datetime(2026, 3, 2, tzinfo=timezone.utc)


def readme_quickstart() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Quickstart\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block, "the README's Quickstart section has no python block"
    return block.group(1)


def test_readme_quickstart_is_the_tested_dag_file_verbatim():
    assert readme_quickstart() == QUICKSTART.read_text()


def load_quickstart():
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag
    dagbag = DagBag(dag_folder=str(QUICKSTART))
    assert dagbag.import_errors == {}
    return dagbag.get_dag("canvas_course_pace")


@pytest.fixture
def landing(emulator, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("AIRFLOW_VAR_CANVAS_LANDING_ROOT", str(tmp_path))
    # Reports finish at once, so the sensor finds them complete on its first check.
    emulator.set_behaviour(101, ReportBehaviour(created_seconds=0, running_seconds=0))
    return tmp_path / "2026-03-02" / "course_101"


def landed_file(folder: Path) -> Path:
    (only,) = list(folder.iterdir())  # one file: no temporary part left beside it
    return only


def test_quickstart_lands_the_report_under_its_date(emulator, landing):
    result = run_dag(load_quickstart(), logical_date=LOGICAL_DATE)

    assert result.state == "success", result.task_states
    landed = result.xcom("land")
    path = landed_file(landing)
    assert path.name == landed["filename"] == "course_pace.zip"  # two sections: a zip
    assert hashlib.sha256(path.read_bytes()).hexdigest() == emulator.file_sha256(landed["report_id"])
    assert emulator.post_count(101) == 1
    (post,) = [r for r in emulator.requests if r.method == "POST"]
    assert post.path == "/api/v1/courses/101/reports/course_pace_docx"
    assert len([r for r in emulator.requests if r.server == "storage"]) == 1


def test_rerunning_the_same_date_replaces_that_dates_file(emulator, landing):
    dag = load_quickstart()
    first = run_dag(dag, logical_date=LOGICAL_DATE)
    assert first.state == "success", first.task_states
    first_report = first.xcom("land")["report_id"]

    second = run_dag(dag, logical_date=LOGICAL_DATE)

    assert second.state == "success", second.task_states
    second_report = second.xcom("land")["report_id"]
    assert second_report != first_report  # the re-run asked Canvas for a fresh report...
    assert emulator.post_count(101) == 2
    assert len([r for r in emulator.requests if r.server == "storage"]) == 2
    path = landed_file(landing)  # ...and its file took the place of the first one
    assert hashlib.sha256(path.read_bytes()).hexdigest() == emulator.file_sha256(second_report)
    assert second.xcom("land")["sha256"] == emulator.file_sha256(second_report)


def test_a_download_over_an_existing_file_replaces_it_whole(emulator, tmp_path):
    emulator.set_behaviour(238, ReportBehaviour(created_seconds=0, running_seconds=0))
    hook = CanvasHook()
    report = hook.start_course_report(238, "course_pace_docx", {"section_ids": [1]})
    target = (
        tmp_path / hook.get_course_report(238, "course_pace_docx", report["id"])["attachment"]["display_name"]
    )
    target.write_bytes(b"what an earlier run wrote")

    result = run_dag(
        scenarios.download_only,
        run_conf={"course_id": 238, "report_id": report["id"], "destination": f"{tmp_path}/"},
    )

    assert result.state == "success", result.task_states
    assert hashlib.sha256(target.read_bytes()).hexdigest() == emulator.file_sha256(report["id"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]  # no temporary part left
