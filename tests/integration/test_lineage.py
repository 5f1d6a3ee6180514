"""
OpenLineage: what a real ``dag.test()`` run emits for the operators (with the openlineage provider
installed), dataset naming per the OpenLineage spec, and the provider without OpenLineage at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from airflow_provider_canvas_reports.lineage import canvas_report_name, file_name
from airflow_provider_canvas_reports.targets import AccountReport, CourseReport
from tests.helpers import download_conf, finished_report

ROOT = Path(__file__).resolve().parents[2]


def run_child(dag: str, run_conf: dict, *args: str) -> dict:
    """``python -m tests.ol_run``: one DAG run in a fresh process; its JSON report."""
    with tempfile.TemporaryDirectory(prefix="ol-run-") as folder:
        result = Path(folder) / "result.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.ol_run",
                dag,
                json.dumps(run_conf),
                "--result",
                str(result),
                *args,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0 and result.exists(), done.stderr[-3000:]
        return json.loads(result.read_text())


def task_events(path: Path, event_type: str = "COMPLETE") -> dict[str, dict]:
    """The task-level events of one type, by task id (the DAG's own events have no ``.`` in the name)."""
    events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {
        e["job"]["name"].split(".", 1)[1]: e
        for e in events
        if e["eventType"] == event_type and "." in e["job"]["name"]
    }


def names(datasets: list[dict]) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in datasets]


def test_start_and_download_emit_the_report_as_input_and_the_landed_file_as_output(emulator, tmp_path):
    events = tmp_path / "openlineage.jsonl"
    canvas = f"http://{urlsplit(emulator.base_url).netloc}"

    run = run_child(
        "tests.dags.canvas_data_stack:start_and_land",
        {"course_id": 261, "destination": f"{tmp_path}/landing/"},
        "--events",
        str(events),
    )

    assert run["state"] == "success", run
    complete = task_events(events)
    report = (canvas, "/courses/261/reports/course_pace_docx")
    assert names(complete["start"]["inputs"]) == [report]
    assert complete["start"]["outputs"] == []
    assert names(complete["download"]["inputs"]) == [report]
    landed = run["xcom"]["download"]
    assert names(complete["download"]["outputs"]) == [("file", f"{tmp_path}/landing/course_pace.zip")]
    statistics = complete["download"]["outputs"][0]["outputFacets"]["outputStatistics"]
    assert (statistics["size"], statistics["fileCount"]) == (landed["size"], 1)


def test_the_provider_imports_and_runs_without_openlineage(emulator, tmp_path):
    report = finished_report(emulator, 262, sections=(1, 2))

    run = run_child(
        "tests.dags.canvas_data_stack:retried",
        download_conf(262, report, f"{tmp_path}/"),
        "--without-openlineage",
    )

    assert run["state"] == "success", run
    assert run["xcom"]["download"]["sha256"] == emulator.file_sha256(report["id"])
    assert run["openlineage_imported"] == []
    assert run["operator_lineage"] == "None"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/data/canvas/course_pace.zip", ("file", "/data/canvas/course_pace.zip")),
        ("file:///data/canvas/Section%201.docx", ("file", "/data/canvas/Section 1.docx")),
        ("file:///data/canvas/Section 1.docx", ("file", "/data/canvas/Section 1.docx")),
        (
            "s3://landing/canvas/2024-01-01/course_pace.zip",
            ("s3://landing", "canvas/2024-01-01/course_pace.zip"),
        ),
        ("s3://aws_moto@landing/canvas/x.zip", ("s3://landing", "canvas/x.zip")),
        ("gs://bucket/canvas/x.zip", ("gs://bucket", "canvas/x.zip")),
        ("gcs://bucket/canvas/x.zip", ("gs://bucket", "canvas/x.zip")),
        ("gs://gcp_landing@bucket/canvas/x.zip", ("gs://bucket", "canvas/x.zip")),
        (
            "abfss://landing@acct.dfs.core.windows.net/canvas/Section%201.docx",
            ("abfss://landing@acct.dfs.core.windows.net", "canvas/Section 1.docx"),
        ),
        ("hdfs://namenode:8020/canvas/x.zip", ("hdfs://namenode:8020", "/canvas/x.zip")),
    ],
)
def test_landed_files_are_named_per_the_openlineage_spec(uri, expected):
    assert file_name(uri) == expected


def test_canvas_reports_are_named_by_host_course_and_type():
    assert canvas_report_name("https://school.instructure.com", CourseReport.of(101, "course_pace_docx")) == (
        "https://school.instructure.com",
        "/courses/101/reports/course_pace_docx",
    )
    assert canvas_report_name(
        "https://school.instructure.com", CourseReport.of("sis_course_id:MATH 101", "course_pace_docx")
    ) == (
        "https://school.instructure.com",
        "/courses/sis_course_id:MATH%20101/reports/course_pace_docx",
    )
    assert canvas_report_name("https://school.instructure.com", AccountReport.of(1, "provisioning_csv")) == (
        "https://school.instructure.com",
        "/accounts/1/reports/provisioning_csv",
    )


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse(request, tmp_path, monkeypatch) -> dict:
    """A ``stack_warehouse`` connection: a SQLite file, or a fresh database on the PostgreSQL test server."""
    if request.param == "sqlite":
        path = tmp_path / "warehouse.db"
        monkeypatch.setenv(
            "AIRFLOW_CONN_STACK_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(path)})
        )
        return {"namespace": f"sqlite://{path}", "prefix": ""}
    server = request.getfixturevalue("postgres_server")
    server.create_database("stack_lineage")
    monkeypatch.setenv("AIRFLOW_CONN_STACK_WAREHOUSE", server.airflow_connection_uri("stack_lineage"))
    return {"namespace": f"postgres://{server.host}:{server.port}", "prefix": "stack_lineage.public."}


def test_the_pace_load_emits_the_file_as_input_and_the_tables_as_outputs(emulator, tmp_path, warehouse):
    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    report = finished_report(emulator, 263, sections=(1, 2))
    landed = tmp_path / "course_pace.zip"
    with open(landed, "wb") as handle:
        CanvasHook().download_report_file(report, handle)
    events = tmp_path / "openlineage.jsonl"

    run = run_child(
        "tests.dags.canvas_pace_load:dag",
        {"uri": landed.as_uri(), "course_id": 263, "report_id": report["id"], "conn_id": "stack_warehouse"},
        "--events",
        str(events),
    )

    assert run["state"] == "success", run
    assert run["xcom"]["load"]["items"] > 0
    load = task_events(events)["load"]
    assert names(load["inputs"]) == [("file", str(landed))]
    prefix = warehouse["prefix"]
    assert names(load["outputs"]) == [
        (warehouse["namespace"], f"{prefix}canvas_course_pace_items"),
        (warehouse["namespace"], f"{prefix}canvas_course_paces"),
    ]


def test_the_lineage_methods_make_no_request(monkeypatch):
    """The connection points at a closed port: any request from a lineage method would fail."""
    from airflow_provider_canvas_reports.operators.course_report import (
        DownloadCourseReportOperator,
        StartCourseReportOperator,
    )
    from airflow_provider_canvas_reports.testing import connection_json

    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json("http://127.0.0.1:9", retry_limit=1))
    start = StartCourseReportOperator(task_id="start", course_id=101, parameters={"section_ids": [1]})
    download = DownloadCourseReportOperator(task_id="download", course_id=101, report_id=7, destination="/x/")
    target = CourseReport.of(101, "course_pace_docx", 7)
    download._landed = ("http://127.0.0.1:9", target, "s3://landing/canvas/x.zip", 42)

    started, landed = (op.get_openlineage_facets_on_complete(None) for op in (start, download))

    report = ("http://127.0.0.1:9", "/courses/101/reports/course_pace_docx")
    assert [(d.namespace, d.name) for d in started.inputs] == [report]
    assert [(d.namespace, d.name) for d in landed.inputs] == [report]
    assert [(d.namespace, d.name) for d in landed.outputs] == [("s3://landing", "canvas/x.zip")]
    assert landed.outputs[0].outputFacets["outputStatistics"].size == 42
