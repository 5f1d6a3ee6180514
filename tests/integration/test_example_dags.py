"""The example DAGs parse cleanly and run end to end against the emulator."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from airflow_provider_canvas_reports.destinations import local_path
from airflow_provider_canvas_reports.testing import ReportBehaviour
from airflow_provider_canvas_reports.testing.pace_plans import PlannedSection, default_plan
from tests.helpers import load_dagbag, run_dag


def test_example_dags_parse_without_import_errors():
    dagbag = load_dagbag()
    assert dagbag.import_errors == {}
    assert {
        "canvas_course_report_to_warehouse",
        "canvas_course_report_on_demand",
        "canvas_account_reports_nightly",
    } <= set(dagbag.dag_ids)


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


def pace_rows(warehouse: Path) -> tuple[list[tuple], list[tuple]]:
    with sqlite3.connect(warehouse) as db:
        plans = db.execute(
            "SELECT logical_date, course_id, report_id, source_name, context_type, context_name, item_count "
            "FROM canvas_course_paces ORDER BY course_id, source_name"
        ).fetchall()
        items = db.execute(
            "SELECT logical_date, course_id, report_id, source_name, module_position, item_position, title, "
            "points, due_date FROM canvas_course_pace_items "
            "ORDER BY course_id, source_name, module_position, item_position"
        ).fetchall()
    return plans, items


def test_warehouse_dag_loads_pace_rows_of_the_courses_plans_idempotently(example_env, emulator):
    tmp_path, warehouse = example_env
    plan = replace(
        default_plan(502),
        sections=(PlannedSection(1, "Period 1"), PlannedSection(2, "Period 2"), PlannedSection(3, "Zoë's")),
    )
    emulator.set_course_plan(502, plan)
    dagbag = load_dagbag()
    dag = dagbag.get_dag("canvas_course_report_to_warehouse")
    logical_date = datetime(2026, 3, 1, tzinfo=timezone.utc)

    first = run_dag(dag, logical_date=logical_date)
    assert first.state == "success", first.task_states
    plans, items = pace_rows(warehouse)
    report_ids = {str(r.course_id): r.id for r in emulator.reports.values() if r.course_id in (501, 502)}
    assert [(p[1], p[2], p[3], p[5]) for p in plans] == [
        ("501", report_ids["501"], "Section 1_Section_Pace.docx", "Section 1"),
        ("502", report_ids["502"], "Period 1_Section_Pace.docx", "Period 1"),
        ("502", report_ids["502"], "Period 2_Section_Pace.docx", "Period 2"),
        ("502", report_ids["502"], "Zoë's_Section_Pace.docx", "Zoë's"),
    ]
    assert {p[0] for p in plans} == {logical_date.isoformat()}
    titles = [s.item.title for s in plan.schedule()]
    for source in ("Period 1_Section_Pace.docx", "Zoë's_Section_Pace.docx"):
        rows = [r for r in items if r[1] == "502" and r[3] == source]
        assert [r[6] for r in rows] == titles
        assert [r[8] for r in rows] == [s.due_date.isoformat() for s in plan.schedule()]
    assert len(items) == 4 * 12
    landed = tmp_path / "landing" / "2026-03-01"
    assert (landed / "course_502" / "course_pace.zip").is_file()
    assert len(list((landed / "course_501").glob("*.docx"))) == 1
    assert emulator.post_count(501) == emulator.post_count(502) == 1

    second = run_dag(dag, logical_date=logical_date)
    assert second.state == "success", second.task_states
    plans_again, items_again = pace_rows(warehouse)
    assert len(plans_again) == 4 and len(items_again) == len(items)
    assert [r[3:] for r in items_again] == [r[3:] for r in items]
    assert {p[2] for p in plans_again}.isdisjoint({p[2] for p in plans})  # replaced by the new reports


@pytest.mark.usefixtures("example_env")
def test_on_demand_dag_runs_from_trigger_form_params(emulator):
    dag = load_dagbag().get_dag("canvas_course_report_on_demand")
    result = run_dag(dag, run_conf={"course_id": 503, "section_ids": [4, 5], "enrollment_ids": []})
    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    assert landed["filename"] == "course_pace.zip"
    path = Path(local_path(landed["uri"]))
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


def test_the_nightly_account_export_lands_and_loads_the_emulator_s_zip_for_the_term(
    emulator, tmp_path, monkeypatch
):
    import zipfile

    from airflow_provider_canvas_reports.testing.csv_files import csv_rows

    monkeypatch.setenv("AIRFLOW_VAR_CANVAS_LANDING_ROOT", str(tmp_path / "landing"))
    monkeypatch.setenv("AIRFLOW_VAR_CANVAS_ENROLLMENT_TERM_ID", "12")
    warehouse = tmp_path / "warehouse.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CANVAS_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    # The sensor's first check sees it running and defers; the trigger's first read sees it done
    # (not a minute later, the example's poll interval).
    emulator.set_account_behaviour(None, ReportBehaviour(rows=15, seed=2, hold=True, reads_to_finish=2))
    dag = load_dagbag().get_dag("canvas_account_reports_nightly")
    logical_date = datetime(2026, 3, 2, tzinfo=timezone.utc)
    result = run_dag(dag, logical_date=logical_date)
    assert result.state == "success", result.task_states
    landed = result.xcom("land_provisioning")
    path = Path(local_path(landed["uri"]))
    assert path.parent == tmp_path / "landing" / "provisioning" / "2026-03-02"
    assert path.read_bytes() == emulator.file_bytes(landed["report_id"])
    assert sorted(zipfile.ZipFile(path).namelist()) == ["courses.csv", "enrollments.csv", "users.csv"]
    (post,) = [r for r in emulator.requests if r.method == "POST"]
    assert json.loads(post.body)["parameters"]["enrollment_term_id"] == 12
    assert emulator.account_post_count() == 1
    assert result.xcom("load_provisioning")["tables"] == {
        "canvas_provisioning_users": 15,
        "canvas_provisioning_courses": 15,
        "canvas_provisioning_enrollments": 15,
    }
    with sqlite3.connect(warehouse) as db:
        users = db.execute("SELECT * FROM canvas_provisioning_users ORDER BY rowid").fetchall()
    key = ("self", landed["report_id"], logical_date.isoformat())
    assert users == [(*key, *row) for row in csv_rows("users", 15, 2, landed["account_id"])]
