"""CoursePaceToSqlOperator in a DAG run by dag.test(), on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from airflow_provider_canvas_reports.operators.course_pace import (
    ITEM_COLUMNS,
    CoursePaceToSqlOperator,
    create_table_sql,
)
from airflow_provider_canvas_reports.testing.pace_plans import (
    CoursePlan,
    PlannedSection,
    PlannedStudent,
    default_plan,
)
from tests.helpers import run_dag
from tests.pace_helpers import docx_bytes, expected_items, report_bytes, stored_zip

DAY = datetime(2026, 3, 1, tzinfo=timezone.utc)
NEXT_DAY = datetime(2026, 3, 2, tzinfo=timezone.utc)
ITEMS = "canvas_course_pace_items"
PLANS = "canvas_course_paces"
ITEM_FIELDS = "course_id, report_id, logical_date, source_name, context_type, context_name, "
ITEM_FIELDS += "module_position, module, item_position, title, points, duration_days, due_date, published"
PLAN_FIELDS = "course_id, report_id, logical_date, source_name, course_name, context_type, context_name, "
PLAN_FIELDS += "students, on_pace, start_date, end_date, item_count, blackout_dates, skipped_days"

PLAN = replace(
    default_plan(0),
    course_name="Biología 101",
    sections=(PlannedSection(1, "Period 1/2", students=24), PlannedSection(2, "Period 3", students=19)),
    students=(PlannedStudent(7, "Zoë O'Brien", on_pace=False),),
)


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, tmp_path, monkeypatch):
    """The ``pace_warehouse`` connection: a fresh SQLite file, or a fresh database on the test server."""
    if request.param == "sqlite":
        uri = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")})
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"pace_{request.node.name.split('[')[0][-40:]}".lower()
        server.create_database(name)
        uri = server.airflow_connection_uri(name)
    monkeypatch.setenv("AIRFLOW_CONN_PACE_WAREHOUSE", uri)
    return request.param


def records(sql: str) -> list[tuple]:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    return [tuple(_plain(v) for v in row) for row in DbApiHook.get_hook("pace_warehouse").get_records(sql)]


def _plain(value):
    """SQLite hands back text and 0/1 where PostgreSQL hands back dates and booleans."""
    return value.isoformat() if isinstance(value, date) else value


def item_rows(course_id="501"):
    return records(
        f"SELECT {ITEM_FIELDS} FROM {ITEMS} WHERE course_id = '{course_id}' "
        "ORDER BY logical_date, source_name, module_position, item_position"
    )


def plan_rows(course_id="501"):
    return records(
        f"SELECT {PLAN_FIELDS} FROM {PLANS} WHERE course_id = '{course_id}' "
        "ORDER BY logical_date, source_name"
    )


def load(
    tmp_path, data: bytes, *, logical_date=DAY, course_id=501, report_id=9001, uri_of=Path.as_uri, **conf
):
    """Land ``data`` as a file and run the load DAG on it (``uri_of`` makes the file's URI)."""
    path = tmp_path / f"{report_id}-course_pace.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    dag = _dag()
    run_conf = {
        "uri": uri_of(path),
        "course_id": course_id,
        "report_id": report_id,
        "conn_id": "pace_warehouse",
        **conf,
    }
    return run_dag(dag, logical_date=logical_date, run_conf=run_conf)


def _dag():
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag
    # Not ``tests.conftest``: importing it under that name would run it again and make a second
    # AIRFLOW_HOME for the rest of the session.
    dags = Path(__file__).resolve().parents[2] / "dags"
    return DagBag(dag_folder=str(dags / "canvas_pace_load.py")).get_dag("canvas_pace_load")


def expected_item_rows(plan: CoursePlan, documents, *, course_id="501", report_id=9001, when=DAY):
    rows = []
    for source_name, context_type, context_name in documents:
        for item in expected_items(plan):
            rows.append(
                (
                    course_id,
                    report_id,
                    when.isoformat(),
                    source_name,
                    context_type,
                    context_name,
                    item.module_position,
                    item.module,
                    item.position,
                    item.title,
                    item.points,
                    item.duration_days,
                    item.due_date.isoformat(),
                    item.published,
                )
            )
    return sorted(rows, key=lambda r: (r[2], r[3], r[6], r[8]))


DOCUMENTS = [
    ("Period 1/2_Section_Pace.docx", "section", "Period 1/2"),
    ("Period 3_Section_Pace.docx", "section", "Period 3"),
    ("Zoë O'Brien's_Pace.docx", "student", "Zoë O'Brien"),
]


def test_rows_equal_the_plan_that_made_the_report(warehouse, tmp_path):
    result = load(tmp_path, report_bytes(PLAN, sections=[1, 2], students=[7]))

    assert result.state == "success", result.task_states
    assert result.xcom("load") == {"documents": 3, "items": 36, "items_table": ITEMS, "plan_table": PLANS}
    assert [_bools(r, 13) for r in item_rows()] == expected_item_rows(PLAN, DOCUMENTS)
    blackouts = json.dumps([{"title": "Spring Break", "start": "2025-02-17", "end": "2025-02-21"}])
    dates = ("2025-01-13", PLAN.resolved_end_date.isoformat())
    tail = (12, blackouts, "Sat/Sun")
    head = ("501", 9001, DAY.isoformat())
    assert [_bools(r, 8) for r in plan_rows()] == [
        (*head, DOCUMENTS[0][0], "Biología 101", "section", "Period 1/2", 24, None, *dates, *tail),
        (*head, DOCUMENTS[1][0], "Biología 101", "section", "Period 3", 19, None, *dates, *tail),
        (*head, DOCUMENTS[2][0], "Biología 101", "student", "Zoë O'Brien", None, False, *dates, *tail),
    ]


def _bools(row: tuple, index: int) -> tuple:
    value = row[index]
    return (*row[:index], None if value is None else bool(value), *row[index + 1 :])


@pytest.mark.parametrize(
    "uri_of",
    [Path.as_uri, lambda path: f"file://{path}", str],
    ids=["percent-encoded", "as-ObjectStoragePath-writes-it", "plain-path"],
)
def test_a_file_in_a_folder_with_spaces_loads_whichever_way_its_uri_is_written(tmp_path, monkeypatch, uri_of):
    uri = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")})
    monkeypatch.setenv("AIRFLOW_CONN_PACE_WAREHOUSE", uri)
    folder = tmp_path / "Canvas Reports #1 (Zoë)"
    result = load(folder, report_bytes(PLAN, sections=[1, 2], students=[7]), uri_of=uri_of)

    assert result.state == "success", result.task_states
    assert result.xcom("load")["items"] == 36
    assert len(item_rows()) == 36


def test_running_the_same_date_twice_leaves_the_same_rows_and_other_slices_alone(warehouse, tmp_path):
    data = report_bytes(PLAN, sections=[1, 2], students=[7])
    assert load(tmp_path, data).state == "success"
    assert load(tmp_path, data, logical_date=NEXT_DAY).state == "success"
    assert load(tmp_path, data, course_id=502).state == "success"
    first_items, first_plans = item_rows(), plan_rows()
    assert len(first_items) == 72 and len(first_plans) == 6

    again = load(tmp_path, data)
    assert again.state == "success", again.task_states
    assert item_rows() == first_items and plan_rows() == first_plans
    assert len(item_rows("502")) == 36

    smaller = replace(PLAN, modules=PLAN.modules[:1])
    assert load(tmp_path, report_bytes(smaller, sections=[1]), report_id=9002).state == "success"
    today = [r for r in item_rows() if r[2] == DAY.isoformat()]
    assert {r[1] for r in today} == {9002} and len(today) == 3
    assert [r for r in item_rows() if r[2] == NEXT_DAY.isoformat()] == [
        r for r in first_items if r[2] == NEXT_DAY.isoformat()
    ]


def test_an_unreadable_document_halfway_leaves_the_previous_rows(warehouse, tmp_path):
    data = report_bytes(PLAN, sections=[1, 2], students=[7])
    assert load(tmp_path, data).state == "success"
    before_items, before_plans = item_rows(), plan_rows()

    from airflow_provider_canvas_reports.testing.files import pace_document

    good = [
        (f"S{i}_Section_Pace.docx", docx_bytes(pace_document(PLAN, PlannedSection(i, f"S{i}"))))
        for i in range(3)
    ]
    broken = stored_zip([*good, ("Broken_Section_Pace.docx", b"PK\x03\x04 not really a docx")])
    failed = load(tmp_path, broken, report_id=9003)

    assert failed.state == "failed" and failed.task_states["load"] == "failed"
    assert item_rows() == before_items and plan_rows() == before_plans


def test_a_database_error_halfway_leaves_the_previous_rows(warehouse, tmp_path):
    """The warehouse refuses the third document's rows, after the first two were inserted."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    check = create_table_sql(ITEMS, ITEM_COLUMNS).removesuffix(")") + ", CHECK (context_name <> 'Poison'))"
    DbApiHook.get_hook("pace_warehouse").run(check)
    data = report_bytes(PLAN, sections=[1, 2], students=[7])
    assert load(tmp_path, data).state == "success"
    before_items, before_plans = item_rows(), plan_rows()

    poisoned = replace(PLAN, students=(PlannedStudent(7, "Poison"),))
    failed = load(tmp_path, report_bytes(poisoned, sections=[1, 2], students=[7]), report_id=9004)

    assert failed.task_states["load"] == "failed"
    assert item_rows() == before_items and plan_rows() == before_plans


def test_a_templated_bad_table_name_fails_before_touching_the_warehouse(warehouse, tmp_path):
    data = report_bytes(PLAN, sections=[1])
    result = load(tmp_path, data, items_table="items; DROP TABLE x")

    assert result.task_states["load"] == "failed"
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    hook = DbApiHook.get_hook("pace_warehouse")
    if warehouse == "sqlite":
        tables = hook.get_records("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        tables = hook.get_records("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert tables == []


@pytest.mark.parametrize("name", ["", "1table", "a.b.c", "items;drop", "x" * 64, "sp ace", "ümlaut"])
def test_a_bad_table_name_is_refused_when_the_dag_is_defined(name):
    with pytest.raises(ValueError, match="plain SQL identifier"):
        CoursePaceToSqlOperator(
            task_id="load", uri="/tmp/x.zip", course_id=1, report_id=1, conn_id="c", items_table=name
        )


def test_a_report_in_object_storage_loads_like_a_local_one(tmp_path, monkeypatch):
    """Any ObjectStoragePath URI works; fsspec's in-memory filesystem stands in for s3:// here."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath
    from fsspec.implementations.memory import MemoryFileSystem

    try:
        from airflow.sdk.io.store import attach
    except ImportError:  # Airflow 2
        from airflow.io.store import attach
    attach(protocol="memory", alias="memory", fs=MemoryFileSystem())
    monkeypatch.setenv(
        "AIRFLOW_CONN_PACE_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "w.db")})
    )
    landed = ObjectStoragePath("memory://landing/course_501/course_pace.zip")
    landed.parent.mkdir(parents=True, exist_ok=True)
    landed.write_bytes(report_bytes(PLAN, sections=[1, 2], students=[7]))

    result = run_dag(
        _dag(),
        logical_date=DAY,
        run_conf={"uri": str(landed), "course_id": 501, "report_id": 9001, "conn_id": "pace_warehouse"},
    )

    assert result.state == "success", result.task_states
    assert [_bools(r, 13) for r in item_rows()] == expected_item_rows(PLAN, DOCUMENTS)
