"""The example DAGs parse cleanly and run end to end against the emulator."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import pytest

from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.helpers import run_dag

EXAMPLE_DAGS = Path(__file__).parent.parent / "airflow_provider_canvas_reports" / "example_dags"


def load_dagbag():
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(EXAMPLE_DAGS))


def test_example_dags_parse_without_import_errors():
    dagbag = load_dagbag()
    assert dagbag.import_errors == {}
    assert {"canvas_course_report_to_warehouse", "canvas_course_report_on_demand"} <= set(dagbag.dag_ids)


@pytest.fixture
def example_env(emulator, tmp_path, monkeypatch):
    """A landing root, an SQLite warehouse and two courses for the example DAGs."""
    monkeypatch.setenv("AIRFLOW_VAR_CANVAS_LANDING_ROOT", str(tmp_path / "landing"))
    monkeypatch.setenv(
        "AIRFLOW_VAR_CANVAS_COURSES",
        json.dumps([{"course_id": 501, "section_ids": [1]}, {"course_id": 502, "section_ids": [1, 2, 3]}]),
    )
    warehouse = tmp_path / "warehouse.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CANVAS_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    for course_id in (501, 502, 503):
        emulator.set_behaviour(course_id, ReportBehaviour(running_seconds=1.0))
    return tmp_path, warehouse


def manifest(warehouse: Path) -> list[tuple]:
    with sqlite3.connect(warehouse) as db:
        return db.execute(
            "SELECT logical_date, course_id, report_id, filename, size, sha256 FROM canvas_report_manifest "
            "ORDER BY course_id, filename"
        ).fetchall()


def test_warehouse_dag_lands_files_and_records_a_manifest_idempotently(example_env, emulator):
    tmp_path, warehouse = example_env
    dagbag = load_dagbag()
    dag = dagbag.get_dag("canvas_course_report_to_warehouse")
    logical_date = datetime(2026, 3, 1, tzinfo=timezone.utc)

    first = run_dag(dag, logical_date=logical_date)
    assert first.state == "success", first.task_states
    rows = manifest(warehouse)
    course_501 = [r for r in rows if r[1] == "501"]
    course_502 = [r for r in rows if r[1] == "502"]
    assert len(course_501) == 1 and course_501[0][3].endswith(".docx")
    assert len(course_502) == 3 and all(r[3].startswith("course_pace/") for r in course_502)
    folder = tmp_path / "landing" / "2026-03-01"
    landed_zip = folder / "course_502" / "course_pace.zip"
    with zipfile.ZipFile(landed_zip) as archive:
        assert sorted(archive.namelist()) == sorted(r[3].split("/", 1)[1] for r in course_502)
    for row in course_502:
        assert (folder / "course_502" / row[3]).stat().st_size == row[4]
    assert emulator.post_count(501) == emulator.post_count(502) == 1

    second = run_dag(dag, logical_date=logical_date)
    assert second.state == "success", second.task_states
    again = manifest(warehouse)
    assert len(again) == len(rows) == 4
    assert {r[1:] for r in again} != {r[1:] for r in rows}  # replaced by the new run's reports
    assert {r[0] for r in again} == {"2026-03-01"}


@pytest.mark.usefixtures("example_env")
def test_on_demand_dag_runs_from_trigger_form_params(emulator):
    dag = load_dagbag().get_dag("canvas_course_report_on_demand")
    result = run_dag(dag, run_conf={"course_id": 503, "section_ids": [4, 5], "enrollment_ids": []})
    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    assert landed["filename"] == "course_pace.zip"
    path = Path(url2pathname(urlsplit(landed["uri"]).path))
    assert path.is_file()
    assert path.parent.parent.name == "course_503"
    assert emulator.post_count(503) == 1


@pytest.mark.usefixtures("example_env")
def test_on_demand_dag_rejects_a_bad_course_id_before_running(emulator):
    from airflow.providers.common.compat.sdk import ParamValidationError

    dag = load_dagbag().get_dag("canvas_course_report_on_demand")
    with pytest.raises(ParamValidationError):
        dag.test(run_conf={"course_id": "12/../3"})
    assert emulator.requests == []
