"""
What ``CanvasListCoursesOperator`` costs at institution scale, and what Airflow's XCom backend does
with its list: 20,000 courses of one term, one section each, from the emulator (in this process).

    .venv/bin/python -m benchmarks.discovery_xcom [--courses 20000]

Runs with ``dag.test()`` on a private SQLite metadata database and prints:

1. the listing alone (no sections): requests, wall time, the XCom's JSON size, and the task's
   success through Airflow's XCom backend (the size of the stored row);
2. with ``with_sections=True``: one more request per course (4 at once), wall time, XCom size;
3. the same list feeding a mapped task, with ``[core] max_map_length`` at its default (1024): what
   Airflow does with it (the list task fails; the message says so).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: benchmarks/discovery_xcom.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import machine_info

#: The three DAGs measured (dag.test() runs DAGs from the DAGs folder only).
DAG_FILE = """
import datetime
from airflow.providers.common.compat.sdk import DAG, task
from airflow_provider_canvas_reports.operators.discovery import CanvasListCoursesOperator

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
for dag_id, with_sections, mapped in (
    ("bench_listing", False, False),
    ("bench_with_sections", True, False),
    ("bench_mapped", False, True),
):
    with DAG(dag_id, schedule=None, start_date=START) as dag:
        listed = CanvasListCoursesOperator(
            task_id="list_courses", account_id=1, enrollment_term_id=9, with_sections=with_sections
        )
        if mapped:
            @task
            def one(course: dict) -> int:
                return int(course["course_id"])

            one.expand(course=listed.output)
    globals()[dag_id] = dag
"""


def _prepare_airflow() -> Path:
    home = Path(tempfile.mkdtemp(prefix="canvas-bench-discovery-"))
    (home / "dags").mkdir()
    (home / "dags" / "bench_discovery.py").write_text(DAG_FILE)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        }
    )
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
    return home


def _xcom_row_bytes(dag_id: str, run_id: str) -> int | None:
    from airflow.utils.session import create_session
    from sqlalchemy import text

    with create_session() as session:
        query = "SELECT length(value) FROM xcom WHERE dag_id = :d AND run_id = :r AND task_id = :t"
        row = session.execute(text(query), {"d": dag_id, "r": run_id, "t": "list_courses"}).first()
    return None if row is None else int(row[0])


def run(courses: int) -> dict[str, object]:
    home = _prepare_airflow()
    from airflow.dag_processing.dagbag import DagBag

    from airflow_provider_canvas_reports.testing import CanvasEmulator

    dagbag = DagBag(dag_folder=str(home / "dags"))
    assert not dagbag.import_errors, dagbag.import_errors

    results: dict[str, object] = {"courses": courses, "machine": machine_info(), "airflow_home": str(home)}
    with CanvasEmulator(tokens={"bench-admin-token": "admin"}, record_requests=False) as emulator:
        emulator.request_cost = 0.0  # the throttle does not fill: this measures the listing
        emulator.add_term_courses(courses, first_id=100_001, enrollment_term_id=9)
        os.environ["AIRFLOW_CONN_CANVAS_DEFAULT"] = json.dumps(
            {"conn_type": "canvas", "host": emulator.base_url, "password": "bench-admin-token"}
        )
        for label, dag_id in (
            ("listing", "bench_listing"),
            ("with_sections", "bench_with_sections"),
            ("mapped, max_map_length 1024", "bench_mapped"),
        ):
            dag = dagbag.get_dag(dag_id)
            before = emulator.request_counts["api"]
            began = time.monotonic()
            dag_run = dag.test()
            took = time.monotonic() - began
            state = str(getattr(dag_run.state, "value", dag_run.state))
            from airflow.models.taskinstance import TaskInstance
            from airflow.utils.session import create_session

            with create_session() as session:
                ti = (
                    session.query(TaskInstance)
                    .filter(TaskInstance.dag_id == dag.dag_id, TaskInstance.task_id == "list_courses")
                    .one()
                )
                list_state = str(getattr(ti.state, "value", ti.state))
            results[label] = {
                "run": state,
                "list task": list_state,
                "requests": emulator.request_counts["api"] - before,
                "seconds": round(took, 1),
                "xcom row bytes": _xcom_row_bytes(dag.dag_id, dag_run.run_id),
            }
            print(f"{label}: {results[label]}", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--courses", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.courses), indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
