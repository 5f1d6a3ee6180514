"""
AccountReportToSqlOperator on SQLite and on a real PostgreSQL server, with report files the
emulator made and served over HTTP (and, for bad input, files written here).
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone

import pytest

from airflow_provider_canvas_reports.exceptions import (
    CanvasInvalidInputError,
    CanvasReportFileError,
    CanvasWarehouseConnectionError,
    CanvasWarehouseError,
)
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.operators.account_report import (
    SLICE_COLUMNS,
    AccountReportToSqlOperator,
)
from airflow_provider_canvas_reports.operators.course_pace import CoursePaceToSqlOperator
from airflow_provider_canvas_reports.sql_load import column_names, create_table_sql
from airflow_provider_canvas_reports.testing import ReportBehaviour, run_report
from airflow_provider_canvas_reports.testing.csv_files import HEADERS, csv_rows
from tests.dags import canvas_account_load
from tests.helpers import run_dag

DAY = datetime(2026, 3, 1, tzinfo=timezone.utc)
NEXT_DAY = datetime(2026, 3, 2, tzinfo=timezone.utc)
CONN = "account_warehouse"
PROVISIONING = {"users": True, "courses": True, "enrollments": True}
TABLES = ["canvas_provisioning_users", "canvas_provisioning_courses", "canvas_provisioning_enrollments"]


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, tmp_path, monkeypatch):
    """The ``account_warehouse`` connection: a fresh SQLite file, or a fresh database on the test server."""
    if request.param == "sqlite":
        uri = json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")})
    else:
        server = request.getfixturevalue("postgres_server")
        name = f"acct_{request.node.name.split('[')[0][-40:]}".lower()
        server.create_database(name)
        uri = server.airflow_connection_uri(name)
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", uri)
    return request.param


def records(sql: str) -> list[tuple]:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    return [tuple(row) for row in DbApiHook.get_hook(CONN).get_records(sql)]


def table_rows(table: str) -> list[tuple]:
    """Every row, sorted (row order in a table is the database's business)."""
    return sorted(records(f"SELECT * FROM {table}"), key=repr)


def expected(part: str, rows: int, seed: int, account_id: object, report_id: int, day=DAY) -> list[tuple]:
    return sorted(
        (
            (str(account_id), report_id, day.isoformat(), *row)
            for row in csv_rows(part, rows, seed, account_id)
        ),
        key=repr,
    )


def landed(emulator, tmp_path, account_id, report_type="provisioning_csv", parameters=None, **behaviour):
    """A report the emulator made, downloaded over HTTP as the download task does; its XCom."""
    emulator.set_account_behaviour(
        account_id, ReportBehaviour(created_seconds=0, running_seconds=0, **behaviour)
    )
    path = f"accounts/{account_id}/reports/{report_type}"
    report = run_report(
        emulator.base_url, emulator.token, path, PROVISIONING if parameters is None else parameters
    )
    assert report["status"] == "complete", report
    target = tmp_path / f"report-{report['id']}-{report['attachment']['display_name']}"
    with target.open("wb") as out:
        CanvasHook().download_report_file(report, out)
    return {
        "uri": str(target),
        "account_id": account_id,
        "report_type": report_type,
        "report_id": report["id"],
    }


def load(uri, day=DAY, **kwargs):
    operator = AccountReportToSqlOperator(task_id="load", uri=uri, conn_id=CONN, **kwargs)
    return operator, operator.execute({"logical_date": day})


def zip_of(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


# ------------------------------------------------------------------------------ the whole path
def test_start_wait_land_load_stores_the_emulator_s_rows_byte_for_byte(emulator, warehouse, tmp_path):
    """Commas, quotes and line breaks in fields, non-ASCII names and empty fields come back as made."""
    account = canvas_account_load.ACCOUNT_ID
    emulator.set_account_behaviour(account, ReportBehaviour(rows=40, seed=3))
    result = run_dag(
        canvas_account_load.dag,
        logical_date=DAY,
        run_conf={"destination": f"{tmp_path}/landing/", "conn_id": CONN},
    )
    assert result.state == "success", result.task_states
    report_id = result.xcom("start")
    loaded = result.xcom("load")
    parts = ["users", "courses", "sections", "enrollments"]
    assert loaded == {
        "tables": {f"canvas_provisioning_{part}": 40 for part in parts},
        "rows": 160,
        "skipped": [],
    }
    for part in parts:
        assert table_rows(f"canvas_provisioning_{part}") == expected(part, 40, 3, account, report_id)
    columns = [name.lower() for name in _columns("canvas_provisioning_users")]
    assert columns == [name for name, _ in SLICE_COLUMNS] + HEADERS["users"]


def _columns(table: str) -> list[str]:
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    conn = DbApiHook.get_hook(CONN).get_conn()
    try:
        cursor = conn.cursor()
        cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        return [column[0] for column in cursor.description]
    finally:
        conn.close()


def test_a_plain_csv_report_loads_into_its_report_type_s_table_with_snake_case_columns(
    emulator, warehouse, tmp_path
):
    uri = landed(emulator, tmp_path, 22, "grade_export_csv", {}, rows=25, seed=4)
    _, counts = load(uri)
    assert counts == {"tables": {"canvas_grade_export": 25}, "rows": 25, "skipped": []}
    assert table_rows("canvas_grade_export") == expected("grade_export_csv", 25, 4, 22, uri["report_id"])
    assert _columns("canvas_grade_export")[3:6] == ["student_name", "student_id", "student_sis"]


def test_the_same_date_twice_leaves_the_same_rows_and_other_dates_and_accounts_alone(
    emulator, warehouse, tmp_path
):
    first = landed(emulator, tmp_path, 23, rows=12, seed=1)
    other_account = landed(emulator, tmp_path, 24, rows=5, seed=2)
    load(first)
    load(first, day=NEXT_DAY)
    load(other_account)
    before = {table: table_rows(table) for table in TABLES}

    again = landed(emulator, tmp_path, 23, rows=9, seed=7)  # the next report of the same day
    load(again)
    load(again)

    users = table_rows("canvas_provisioning_users")
    assert [row for row in users if row[0] == "23" and row[2] == DAY.isoformat()] == expected(
        "users", 9, 7, 23, again["report_id"]
    )
    untouched = [row for row in users if not (row[0] == "23" and row[2] == DAY.isoformat())]
    assert untouched == [
        r for r in before["canvas_provisioning_users"] if not (r[0] == "23" and r[2] == DAY.isoformat())
    ]
    assert len([r for r in users if r[2] == NEXT_DAY.isoformat()]) == 12
    assert len([r for r in users if r[0] == "24"]) == 5


# ------------------------------------------------------------------------------ bad input
def _good_zip() -> bytes:
    return zip_of(
        [
            ("users.csv", b'canvas_user_id,name\n1,Zo\xc3\xab\n2,"O\'Brien, Pat"\n'),
            ("enrollments.csv", b"canvas_user_id,role\n1,student\n2,teacher\n"),
        ]
    )


BAD = {
    "a ragged row in the second member": (
        zip_of(
            [("users.csv", b"canvas_user_id,name\n7,x\n"), ("enrollments.csv", b"canvas_user_id,role\n7\n")]
        ),
        r"bad\.zip!enrollments\.csv line 2: 1 fields where the header has 2",
    ),
    "bytes that are not UTF-8": (
        zip_of(
            [
                ("users.csv", b"canvas_user_id,name\n7,caf\xe9\n"),
                ("enrollments.csv", b"canvas_user_id,role\n"),
            ]
        ),
        r"bad\.zip!users\.csv line 2: not UTF-8",
    ),
    "broken quoting": (
        zip_of(
            [("users.csv", b'canvas_user_id,name\n7,"x"y\n'), ("enrollments.csv", b"canvas_user_id,role\n")]
        ),
        r"bad\.zip!users\.csv line 2: not valid CSV",
    ),
    "a truncated ZIP": (_good_zip()[:-30], r"bad\.zip: .*ZIP"),
    "a ZIP without any CSV": (zip_of([("notes.txt", b"x")]), r"without any \.csv member"),
    "an empty file": (b"", "empty"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_fails_clearly_and_leaves_the_previous_rows(case, warehouse, tmp_path):
    good = tmp_path / "good.zip"
    good.write_bytes(_good_zip())
    key = {"account_id": 31, "report_type": "provisioning_csv"}
    load({"uri": str(good), "report_id": 1, **key})
    tables = ["canvas_provisioning_users", "canvas_provisioning_enrollments"]
    before = {table: table_rows(table) for table in tables}
    data, message = BAD[case]
    bad = tmp_path / "bad.zip"
    bad.write_bytes(data)

    with pytest.raises(CanvasReportFileError, match=message) as raised:
        load({"uri": str(bad), "report_id": 2, **key})

    assert isinstance(raised.value, ValueError)  # and a fail-fast error: no retry can fix the file
    assert {table: table_rows(table) for table in tables} == before


def test_a_header_only_csv_empties_its_slice(warehouse, tmp_path):
    path = tmp_path / "grades.csv"
    path.write_bytes(b"student name,score\nZo\xc3\xab,1\nLi,2\n")
    key = {"account_id": 32, "report_type": "grade_export_csv"}
    load({"uri": str(path), "report_id": 1, **key})
    load({"uri": str(path), "report_id": 1, **key}, day=NEXT_DAY)
    path.write_bytes(b"\xef\xbb\xbfstudent name,score\n")  # with a byte order mark: the same header

    _, counts = load({"uri": str(path), "report_id": 2, **key})

    assert counts["tables"] == {"canvas_grade_export": 0}
    assert [row[2] for row in table_rows("canvas_grade_export")] == [NEXT_DAY.isoformat()] * 2


def test_a_new_column_is_added_and_a_column_the_file_lacks_stays_null(warehouse, tmp_path):
    path = tmp_path / "users.csv"
    path.write_bytes(b"canvas_user_id,login_id,short_name\n1,a@x.edu,A\n")
    key = {"account_id": 33, "report_type": "sis_export_csv"}
    load({"uri": str(path), "report_id": 1, **key}, tables={"sis_export_csv": "users"})
    path.write_bytes(b"canvas_user_id,login_id,Pronouns\n2,b@x.edu,they/them\n")

    load({"uri": str(path), "report_id": 2, **key}, day=NEXT_DAY, tables={"sis_export_csv": "users"})

    assert _columns("users")[3:] == ["canvas_user_id", "login_id", "short_name", "pronouns"]
    assert table_rows("users") == [
        ("33", 1, DAY.isoformat(), "1", "a@x.edu", "A", None),
        ("33", 2, NEXT_DAY.isoformat(), "2", "b@x.edu", None, "they/them"),
    ]


def test_repeated_and_odd_header_names_each_get_a_column(warehouse, tmp_path):
    header = ["Student Name", "student-name", "group", "1st score", "Zoë's %"]
    path = tmp_path / "odd.csv"
    path.write_bytes((",".join(header) + "\na,b,c,d,e\n").encode())
    load({"uri": str(path), "report_id": 1, "account_id": 34, "report_type": "custom_csv"})
    assert _columns("canvas_custom")[3:] == column_names(header)
    assert column_names(header) == ["student_name", "student_name_2", "group_", "column_1st_score", "zoe_s"]
    assert table_rows("canvas_custom") == [("34", 1, DAY.isoformat(), "a", "b", "c", "d", "e")]


def test_a_database_error_halfway_leaves_every_table_as_it_was(warehouse, tmp_path):
    """The second table refuses the new report's rows after the first table was already replaced."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    columns = [*SLICE_COLUMNS, ("canvas_user_id", "TEXT"), ("role", "TEXT")]
    ddl = create_table_sql("canvas_provisioning_enrollments", columns).removesuffix(")")
    DbApiHook.get_hook(CONN).run(ddl + ", CHECK (_report_id < 100))")
    good = tmp_path / "good.zip"
    good.write_bytes(_good_zip())
    key = {"account_id": 35, "report_type": "provisioning_csv"}
    load({"uri": str(good), "report_id": 1, **key})
    before = {t: table_rows(t) for t in ("canvas_provisioning_users", "canvas_provisioning_enrollments")}

    with pytest.raises(CanvasWarehouseError, match="no table was changed") as raised:
        load({"uri": str(good), "report_id": 500, **key})

    assert not isinstance(raised.value, ValueError)  # retryable: the database may do better next time
    assert {t: table_rows(t) for t in before} == before


# ------------------------------------------------------------------------------ names and paths
def test_tables_renames_members_by_name_or_stem(warehouse, emulator, tmp_path):
    uri = landed(emulator, tmp_path, 36, rows=3)
    _, counts = load(uri, tables={"users.csv": "people", "courses": "classes"})
    assert counts["tables"] == {"people": 3, "classes": 3, "canvas_provisioning_enrollments": 3}


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ({"user.csv": "people"}, r"tables names 'user\.csv', not in"),
        ({"users.csv": "same", "courses.csv": "same"}, "would both load into same"),
        ({"users.csv": "people; DROP TABLE x"}, "plain SQL identifier"),
    ],
)
def test_bad_table_names_are_refused_before_the_warehouse_is_touched(
    warehouse, emulator, tmp_path, tables, message
):
    uri = landed(emulator, tmp_path, 37, rows=3)
    operator = AccountReportToSqlOperator(task_id="load", uri=uri, conn_id=CONN, tables="{{ params.t }}")
    operator.tables = tables  # as rendered from a template
    with pytest.raises(CanvasInvalidInputError, match=message):
        operator.execute({"logical_date": DAY})
    assert records("SELECT 1") and not _tables_exist()


def _tables_exist() -> bool:
    try:
        records("SELECT 1 FROM canvas_provisioning_users")
    except Exception:
        return False
    return True


@pytest.mark.parametrize("tables", [{"users.csv": "bad name"}, ["users"], {"": "x"}])
def test_bad_tables_are_refused_when_the_dag_is_defined(tables):
    with pytest.raises(CanvasInvalidInputError):
        AccountReportToSqlOperator(task_id="load", uri="/x.zip", tables=tables)


def test_a_missing_warehouse_fails_at_once_with_the_line_that_adds_it(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_CANVAS_WAREHOUSE", raising=False)
    path = tmp_path / "grades.csv"
    path.write_bytes(b"a,b\n1,2\n")
    account = AccountReportToSqlOperator(
        task_id="load",
        uri={"uri": str(path), "account_id": 1, "report_type": "grade_export_csv", "report_id": 1},
    )
    pace = CoursePaceToSqlOperator(task_id="pace", uri=str(path), course_id=1, report_id=1)
    for operator in (account, pace):
        assert operator.conn_id == "canvas_warehouse"
        with pytest.raises(CanvasWarehouseConnectionError, match="airflow connections add canvas_warehouse"):
            operator.execute({"logical_date": DAY})


def test_postgres_streams_through_copy_and_can_be_told_to_insert(
    emulator, postgres_server, tmp_path, monkeypatch, capfd
):
    postgres_server.create_database("acct_copy_or_insert")
    uri = postgres_server.airflow_connection_uri("acct_copy_or_insert")
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN.upper()}", uri)
    landed_report = landed(emulator, tmp_path, 38, rows=30, seed=8)
    capfd.readouterr()
    load(landed_report)
    logged = capfd.readouterr()
    assert "through COPY" in logged.out + logged.err
    copied = {table: table_rows(table) for table in TABLES}

    load(landed_report, copy=False, batch_size=7)

    logged = capfd.readouterr()
    assert "through executemany, 7 rows a batch" in logged.out + logged.err
    assert "through COPY" not in logged.out + logged.err
    assert {table: table_rows(table) for table in TABLES} == copied
    assert copied["canvas_provisioning_users"] == expected("users", 30, 8, 38, landed_report["report_id"])


def test_lineage_names_the_file_in_and_each_table_out(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{CONN.upper()}", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "w.db")})
    )
    uri = landed(emulator, tmp_path, 39, rows=2)
    operator, _ = load(uri)
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("file", uri["uri"])]
    assert sorted(d.name for d in lineage.outputs) == sorted(TABLES)
