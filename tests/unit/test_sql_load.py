"""What the loaders share, without a database: names of tables and columns, the missing connection."""

from __future__ import annotations

import pytest

from airflow_provider_canvas_reports.exceptions import (
    CanvasInvalidInputError,
    CanvasWarehouseConnectionError,
)
from airflow_provider_canvas_reports.sql_load import (
    column_names,
    csv_fields,
    identifier,
    validated_table,
    warehouse_hook,
)


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("student name", "student_name"),
        ("content-type", "content_type"),
        ("override score", "override_score"),
        ("canvas_user_id", "canvas_user_id"),
        ("lastAccessAt", "last_access_at"),
        ("User ID", "user_id"),
        ("  Zoë's  grade (%) ", "zoe_s_grade"),
        ("1st term", "column_1st_term"),
        ("group", "group_"),
        ("user", "user_"),
        ("_private", "private"),
        ("???", "column_7"),
        ("x" * 80, "x" * 63),
    ],
)
def test_a_header_becomes_a_snake_case_identifier(header, name):
    assert identifier(header, "column_7") == name
    assert validated_table(name, "column") == name


def test_repeated_header_names_get_a_suffix_and_keep_their_order():
    header = ["score", "Score", "student name", "student-name", "score_2", ""]
    assert column_names(header) == [
        "score",
        "score_2",
        "student_name",
        "student_name_2",
        "score_2_2",
        "column_6",
    ]


def test_lead_fields_are_quoted_where_csv_needs_it():
    assert csv_fields(["sis_account_id:A,B", 7, 'say "hi"']) == b'"sis_account_id:A,B",7,"say ""hi""",'


@pytest.mark.parametrize("name", ["users; DROP TABLE x", "1users", "a.b.c", "", None, "t" * 64])
def test_a_table_name_that_needs_quoting_is_refused(name):
    with pytest.raises(CanvasInvalidInputError, match="plain SQL identifier"):
        validated_table(name, "table")


def test_a_missing_warehouse_connection_says_how_to_add_one(monkeypatch, tmp_path):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    monkeypatch.delenv("AIRFLOW_CONN_NO_SUCH_WAREHOUSE", raising=False)
    with pytest.raises(CanvasWarehouseConnectionError) as raised:
        warehouse_hook("no_such_warehouse")
    message = str(raised.value)
    database = tmp_path / "no_such_warehouse.db"
    assert f"airflow connections add no_such_warehouse --conn-type sqlite --conn-host {database}" in message
    assert "--conn-type postgres" in message and "apache-airflow-providers-postgres" in message


def test_a_connection_without_a_hook_says_which_provider_to_install(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ODD_WAREHOUSE", '{"conn_type": "no_such_database"}')
    with pytest.raises(CanvasWarehouseConnectionError, match="install the provider of its type"):
        warehouse_hook("odd_warehouse")
