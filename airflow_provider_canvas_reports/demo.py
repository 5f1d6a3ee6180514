"""
The provider end to end with nothing to set up: the bundled Canvas emulator, local files, SQLite.

``python -m airflow_provider_canvas_reports.demo [--workdir .demo] [--dags-folder DIR]`` (what
``make demo`` runs; it needs the ``examples`` extra) makes a private ``AIRFLOW_HOME`` under the
work folder (replaced on every run), starts the emulator on loopback, points ``canvas_default`` at
it, makes one hook round trip, runs the example DAGs ``canvas_course_report_to_warehouse`` and
``canvas_account_reports_nightly`` with ``dag.test()``, prints the files that landed and a few of
the rows each loaded into SQLite (course paces; provisioning users, courses and enrollments), and
stops the emulator. It exits 1, naming the real error first, when Airflow cannot read connections.
The docs' Get started page shows its output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

COURSES = [{"course_id": 101, "section_ids": [1]}, {"course_id": 102, "section_ids": [1, 2, 3]}]
#: The example DAGs shipped in the package.
EXAMPLE_DAGS = Path(__file__).parent / "example_dags"


def _configure(workdir: Path, dags_folder: Path) -> dict[str, Path]:
    if workdir.exists():
        shutil.rmtree(workdir)
    paths = {
        "home": workdir / "airflow",
        "landing": workdir / "landing",
        "warehouse": workdir / "warehouse.db",
    }
    paths["home"].mkdir(parents=True)
    os.environ.update(
        {
            "AIRFLOW_HOME": str(paths["home"]),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{paths['home'] / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW_VAR_CANVAS_LANDING_ROOT": str(paths["landing"]),
            "AIRFLOW_VAR_CANVAS_COURSES": json.dumps(COURSES),
            "AIRFLOW_CONN_CANVAS_WAREHOUSE": json.dumps(
                {"conn_type": "sqlite", "host": str(paths["warehouse"])}
            ),
        }
    )
    return paths


def _say(text: str) -> None:
    print(f"==> {text}", flush=True)


#: What a known break reads like, and what fixes it.
_KNOWN_BREAKS = {
    "is_encrypted": (
        "Airflow 2.11 and 3.1 cannot use cryptography 51 or newer (its Rust MultiFernet refuses the "
        "attribute Airflow sets). Install Airflow with its constraints file, or pin 'cryptography<51'."
    ),
}


def check_airflow_connections() -> str | None:
    """
    Whether this Airflow can store and read a connection (its Fernet encryption works): None, or
    the real error in words, with the fix when it is a known break. Airflow's own lookup hides such
    an error behind "The conn_id ... isn't defined", so the demo asks first.
    """
    try:
        from airflow.models.connection import Connection

        probe = Connection(conn_id="canvas_probe", conn_type="canvas", host="https://x", password="probe")
        assert probe.password == "probe"
    except Exception as exc:
        import importlib.metadata

        versions = ", ".join(
            f"{name} {importlib.metadata.version(name)}" for name in ("apache-airflow", "cryptography")
        )
        hint = next((fix for key, fix in _KNOWN_BREAKS.items() if key in str(exc)), "")
        return f"Airflow cannot store or read connections here ({versions}): {type(exc).__name__}: {exc}" + (
            f"\n    {hint}" if hint else ""
        )
    return None


def _hook_round_trip() -> None:
    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    hook = CanvasHook()
    ok, message = hook.test_connection()
    _say(f"test_connection: {ok}, {message}")
    report = hook.start_course_report(100, "course_pace_docx", {"section_ids": [7]})
    _say(f"started report {report['id']} for course 100: {report['status']}")
    while report["status"] not in ("complete", "error"):
        time.sleep(0.5)
        report = hook.get_course_report(100, "course_pace_docx", report["id"])
        _say(f"  report {report['id']}: {report['status']}")
    attachment = report.get("attachment") or {}
    _say(
        f"report {report['id']} {report['status']}: "
        f"{attachment.get('display_name')} ({attachment.get('size')} bytes)"
    )


def _run_dag(dags_folder: Path, dag_id: str) -> str:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    dagbag = DagBag(dag_folder=str(dags_folder))
    if dagbag.import_errors:
        raise SystemExit(f"example DAGs failed to import: {dagbag.import_errors}")
    dag = dagbag.get_dag(dag_id)
    logical_date = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

    run = dag.test(logical_date=logical_date) if AIRFLOW_V_3_0_PLUS else dag.test(execution_date=logical_date)
    return str(getattr(run.state, "value", run.state))


def _print_landed(landing: Path, warehouse: Path) -> None:
    _say(f"files landed under {landing}:")
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"    {path.relative_to(landing)}  {path.stat().st_size:>9} bytes  sha256 {digest[:16]}…")
    with sqlite3.connect(warehouse) as db:
        plans = db.execute(
            "SELECT course_id, report_id, source_name, context_type, students, start_date, end_date, "
            "item_count, skipped_days FROM canvas_course_paces ORDER BY course_id, source_name"
        ).fetchall()
        items = db.execute(
            "SELECT course_id, context_name, module, title, points, duration_days, due_date, published "
            "FROM canvas_course_pace_items "
            "ORDER BY course_id, source_name, module_position, item_position LIMIT 8"
        ).fetchall()
        total = db.execute("SELECT COUNT(*) FROM canvas_course_pace_items").fetchone()[0]
    _say(f"pace documents in {warehouse} (table canvas_course_paces):")
    print("    course | report | document | context | students | start | end | items | skipped")
    for row in plans:
        print("    " + " | ".join(str(v) for v in row))
    _say(f"first pace items of {total} (table canvas_course_pace_items):")
    print("    course | context | module | title | points | days | due | published")
    for row in items:
        print("    " + " | ".join(str(v) for v in row))


#: What the demo shows of each provisioning table: a few columns of its first rows.
PROVISIONING_COLUMNS = {
    "canvas_provisioning_users": "canvas_user_id, login_id, full_name, sortable_name, status",
    "canvas_provisioning_courses": "canvas_course_id, short_name, long_name, status, start_date",
    "canvas_provisioning_enrollments": "canvas_course_id, canvas_user_id, role, status, base_role_type",
}


def _print_provisioning(warehouse: Path) -> None:
    with sqlite3.connect(warehouse) as db:
        for table, columns in PROVISIONING_COLUMNS.items():
            total = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            rows = db.execute(f"SELECT _account_id, _logical_date, {columns} FROM {table} LIMIT 4").fetchall()
            _say(f"first rows of {total} in {table}:")
            print(f"    account | logical date | {columns.replace(', ', ' | ')}")
            for row in rows:
                print("    " + " | ".join(repr(v) if "\n" in str(v) else str(v) for v in row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dags-folder", type=Path, default=EXAMPLE_DAGS, help="the example DAGs (default: the packaged ones)"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(".demo"), help="scratch folder, replaced on every run"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    paths = _configure(args.workdir.absolute(), args.dags_folder.absolute())

    _say("migrating the Airflow metadata database (SQLite)")
    migrated = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True
    )
    broken = check_airflow_connections()
    if broken or migrated.returncode:
        # The real cause first: everything after it would only fail in its shadow.
        print(f"==> ERROR: {broken or 'airflow db migrate failed'}", file=sys.stderr, flush=True)
        if migrated.returncode:
            print(migrated.stderr[-3000:], file=sys.stderr)
        return 1

    from airflow_provider_canvas_reports.testing import CanvasEmulator, ReportBehaviour

    with CanvasEmulator() as emulator:
        emulator.default_behaviour = ReportBehaviour(
            created_seconds=0.5, running_seconds=4.0, file_size=60_000
        )
        os.environ["AIRFLOW_CONN_CANVAS_DEFAULT"] = json.dumps(
            {"conn_type": "canvas", "host": emulator.base_url, "password": emulator.token}
        )
        _say(
            f"Canvas emulator on {emulator.base_url} (storage {emulator.storage_url}); "
            "canvas_default points at it"
        )
        _hook_round_trip()
        _say(
            "running canvas_course_report_to_warehouse with dag.test() (sensors defer to CourseReportTrigger)"
        )
        state = _run_dag(args.dags_folder.absolute(), "canvas_course_report_to_warehouse")
        stats = emulator.stats()
        _say(
            f"DAG run: {state}; the emulator saw {stats['request_count']} requests {stats['requests']}, "
            f"{stats['post_count']} report starts, connections {stats['connections']}"
        )
        _print_landed(paths["landing"], paths["warehouse"])
        emulator.set_account_behaviour(None, ReportBehaviour(created_seconds=0, running_seconds=0, rows=500))
        _say("running canvas_account_reports_nightly with dag.test() (provisioning_csv → canvas_warehouse)")
        nightly = _run_dag(args.dags_folder.absolute(), "canvas_account_reports_nightly")
        _say(f"DAG run: {nightly}")
        if nightly == "success":
            _print_provisioning(paths["warehouse"])
    _say(f"emulator stopped; demo took {time.monotonic() - started:.1f} s")
    return 0 if state == nightly == "success" else 1


if __name__ == "__main__":
    raise SystemExit(main())
