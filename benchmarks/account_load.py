"""
Section 7: account report CSVs into SQL tables, against the databases' own bulk paths and the
loaders people write today.

The orchestrator (:func:`section`) asks the emulator for a provisioning export of enrollments only
(one CSV of ``rows`` rows, made on demand and streamed over HTTP), lands it under
``benchmarks/.work`` and loads that same file with each contender, each in a fresh process:

* PostgreSQL (a private server from ``tests/servers.py``, one database, the table dropped before
  each run): ours (:class:`AccountReportToSqlOperator`, ``COPY ... FROM STDIN``) against ``psql -c
  "\\copy ... FROM file CSV HEADER"`` (rows/s, best of ``rounds``), against common-sql's
  ``DbApiHook.insert_rows`` as shipped (its default path: one ``execute`` per row; timed on the
  first ``peer_rows`` rows, rows/s), and against pandas ``read_csv`` + ``to_sql(method="multi")``
  (peak RSS growth over the same file);
* SQLite: ours (``executemany``) on the first 200,000 rows against the ``sqlite3`` CLI's
  ``.import --csv`` into a new file;
* the nightly example DAG (``canvas_account_reports_nightly``) run with ``dag.test()`` for a
  provisioning ZIP of users, courses and enrollments of 200,000 rows each (start → wait → land →
  load into SQLite), against the sum of the same steps run alone (hook start and wait, the
  download operator, the load operator);
* diagnostics without a target: ``executemany`` rows/s and memory by batch size (which sets
  :data:`~.sql_load.DEFAULT_BATCH_SIZE`), and PostgreSQL ``COPY`` into a staging table then
  ``INSERT ... SELECT`` against ``COPY`` straight into the table.

``python -m benchmarks.account_load <phase> ... --out FILE`` is one measurement (a child).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import (
    MIB,
    ROOT,
    WORK,
    children_cpu_seconds,
    cpu_seconds,
    median,
    proc_status_kib,
    reset_peak_rss,
    rss_bytes,
    run_child,
)

#: Accounts of the emulator this section uses (no other section does).
FILE_ACCOUNT = 901
NIGHTLY_ACCOUNT = 902
PARTS_ACCOUNT = 903
TABLE = "canvas_provisioning"
DAY = "2026-03-01T00:00:00+00:00"
#: Targets (ratios of ours to the peer).
PSQL_TARGET = 0.8
INSERT_ROWS_TARGET = 10.0
PANDAS_RSS_TARGET = 0.25
RSS_LIMIT_MIB = 64.0
SQLITE_TARGET = 0.5
NIGHTLY_TARGET = 1.2
BATCH_SIZES = (500, 2000, 5000, 20000)


# ------------------------------------------------------------------------------------ children
def _measured(run: Any) -> dict[str, Any]:
    """Wall, CPU and peak RSS growth (above the RSS before ``run``) of ``run()``, and what it returned."""
    reset_peak_rss()
    base = rss_bytes()
    cpu, wall = cpu_seconds(), time.perf_counter()
    value = run()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    peak = proc_status_kib("VmHWM") * 1024
    return {"wall_s": wall, "cpu_s": cpu, "rss_growth_mib": max(0, peak - base) / MIB, "value": value}


def _loader(args: argparse.Namespace, **kwargs: Any) -> Any:
    from airflow_provider_canvas_reports.account_csv import AccountReportFile  # noqa: F401 (imported up front)
    from airflow_provider_canvas_reports.operators.account_report import AccountReportToSqlOperator

    landed = {"uri": args.csv, "account_id": FILE_ACCOUNT, "report_type": "provisioning_csv", "report_id": 1}
    return AccountReportToSqlOperator(task_id="load", uri=landed, conn_id="bench_warehouse", **kwargs)


def child_ours(args: argparse.Namespace) -> dict[str, Any]:
    """Our operator, as a task runs it, into ``bench_warehouse``."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    kwargs: dict[str, Any] = {"tables": {"provisioning_csv": args.table}}
    if args.batch_size:
        kwargs.update(copy=False, batch_size=args.batch_size)
    operator = _loader(args, **kwargs)
    DbApiHook.get_hook("bench_warehouse").get_conn().close()  # drivers imported before timing
    context: Any = {"logical_date": datetime(2026, 3, 1, tzinfo=timezone.utc)}
    result = _measured(lambda: operator.execute(context))
    result["rows"] = result.pop("value")["rows"]
    return result


def child_insert_rows(args: argparse.Namespace) -> dict[str, Any]:
    """common-sql's ``insert_rows`` as shipped (default arguments) on the first ``--rows`` rows."""
    from itertools import islice

    from airflow.providers.common.sql.hooks.sql import DbApiHook

    hook = DbApiHook.get_hook("bench_warehouse")
    with open(args.csv, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [tuple(row) for row in islice(reader, args.rows)]
    hook.run(f"CREATE TABLE {args.table} ({', '.join(f'{name} TEXT' for name in header)})")
    result = _measured(lambda: hook.insert_rows(args.table, rows, target_fields=header))
    result["rows"] = len(rows)
    return result


def child_pandas(args: argparse.Namespace) -> dict[str, Any]:
    """
    pandas ``read_csv`` of the whole file, then ``to_sql(method="multi")`` of its first ``--rows``
    rows through the hook's engine. Writing every row would take many minutes and raise the peak
    further (``to_sql`` converts the whole frame before its first chunk): the peak measured here
    is the least pandas needs for the file.
    """
    import pandas
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    engine = DbApiHook.get_hook("bench_warehouse").get_sqlalchemy_engine()

    def run() -> tuple[int, int, float]:
        frame = pandas.read_csv(args.csv, dtype=str, keep_default_na=False)
        started = time.perf_counter()
        frame.head(args.rows).to_sql(args.table, engine, index=False, method="multi", chunksize=1000)
        return len(frame), min(args.rows, len(frame)), time.perf_counter() - started

    result = _measured(run)
    result["rows_read"], result["rows"], result["to_sql_s"] = result.pop("value")
    return result


def child_staging(args: argparse.Namespace) -> dict[str, Any]:
    """Diagnostic: the same blocks ``COPY``'d into a temporary table, then ``INSERT ... SELECT``."""
    from airflow.providers.common.sql.hooks.sql import DbApiHook

    from airflow_provider_canvas_reports.account_csv import AccountReportFile
    from airflow_provider_canvas_reports.sql_load import column_names, copy_csv, paused_gc

    hook = DbApiHook.get_hook("bench_warehouse")
    conn = hook.get_conn()

    def run() -> int:
        with AccountReportFile(args.csv) as report, report.open(report.parts[0]) as part, paused_gc():
            columns = column_names(part.header)
            cursor = conn.cursor()
            body = ", ".join(f"{name} TEXT" for name in columns)
            cursor.execute(
                f"CREATE TABLE {args.table} (_account_id VARCHAR(255), _report_id BIGINT, "
                f"_logical_date VARCHAR(40), {body})"
            )
            cursor.execute(f"CREATE TEMPORARY TABLE staged ({body}) ON COMMIT DROP")
            rows = copy_csv(cursor, "staged", columns, columns, part.csv_blocks(b""))
            cursor.execute(
                f"INSERT INTO {args.table} SELECT %s, %s, %s, {', '.join(columns)} FROM staged",
                (str(FILE_ACCOUNT), 1, DAY),
            )
            conn.commit()
            return rows

    result = _measured(run)
    result["rows"] = result.pop("value")
    conn.close()
    return result


def child_nightly_dag(args: argparse.Namespace) -> dict[str, Any]:
    """The example nightly DAG with ``dag.test()`` (the DAG parsed before timing)."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

    from airflow_provider_canvas_reports.example_dags import canvas_account_reports_nightly as module

    dag = DagBag(dag_folder=os.path.dirname(module.__file__)).get_dag(module.dag.dag_id)
    # The first dag.test() of a process also starts Airflow's in-process execution API (a minute
    # on a busy two-core machine, before the first task runs): measured, then a second run.
    cold = _measured(lambda: dag.test(logical_date=datetime(2026, 3, 1, tzinfo=timezone.utc)))
    result = _measured(lambda: dag.test(logical_date=datetime(2026, 3, 2, tzinfo=timezone.utc)))
    states = [str(getattr(r.pop("value").state, "value", "")) for r in (cold, result)]
    result["state"] = "success" if states == ["success", "success"] else str(states)
    result["first_run_wall_s"] = cold["wall_s"]
    return result


def child_nightly_parts(args: argparse.Namespace) -> dict[str, Any]:
    """The same steps, each alone: start and wait through the hook, then the download and load operators."""
    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
    from airflow_provider_canvas_reports.operators.account_report import (
        AccountReportToSqlOperator,
        DownloadAccountReportOperator,
    )

    hook = CanvasHook()
    parameters = {"users": True, "courses": True, "enrollments": True}
    context: Any = {"logical_date": datetime(2026, 3, 1, tzinfo=timezone.utc), "ds": "2026-03-01"}
    steps: dict[str, float] = {}
    started = time.perf_counter()
    report = hook.start_account_report(PARTS_ACCOUNT, "provisioning_csv", parameters)
    while report["status"] not in ("complete", "error"):
        report = hook.get_account_report(PARTS_ACCOUNT, "provisioning_csv", report["id"])
    steps["start_and_wait_s"] = time.perf_counter() - started
    started = time.perf_counter()
    landed = DownloadAccountReportOperator(
        task_id="land",
        account_id=PARTS_ACCOUNT,
        report_type="provisioning_csv",
        report_id=report["id"],
        destination=args.landing + "/",
    ).execute(context)
    steps["land_s"] = time.perf_counter() - started
    started = time.perf_counter()
    loaded = AccountReportToSqlOperator(task_id="load", uri=landed).execute(context)
    steps["load_s"] = time.perf_counter() - started
    return {**steps, "wall_s": sum(steps.values()), "rows": loaded["rows"]}


CHILDREN = {
    "ours": child_ours,
    "insert-rows": child_insert_rows,
    "pandas": child_pandas,
    "staging": child_staging,
    "nightly-dag": child_nightly_dag,
    "nightly-parts": child_nightly_parts,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.account_load")
    parser.add_argument("phase", choices=sorted(CHILDREN))
    parser.add_argument("--csv", default="")
    parser.add_argument("--table", default=TABLE)
    parser.add_argument("--rows", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=0)
    parser.add_argument("--landing", default="")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    result = CHILDREN[args.phase](args)
    Path(args.out).write_text(json.dumps(result, default=str))
    return 0


# --------------------------------------------------------------------------------- orchestrator
def _say(text: str) -> None:
    print(text, flush=True)


def _land_report(emu: Any, account_id: int, rows: int, target: Path) -> Path:
    """Ask the emulator for a provisioning export of enrollments only and download it over HTTP."""
    import requests

    from airflow_provider_canvas_reports.testing import EmulatorControl, ReportBehaviour

    EmulatorControl(emu.base_url).set_account_behaviour(
        account_id, ReportBehaviour(created_seconds=0, running_seconds=0, rows=rows, sequential=False)
    )
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emu.token}"
    base = f"{emu.base_url}/api/v1/accounts/{account_id}/reports/provisioning_csv"
    report = session.post(base, json={"parameters": {"enrollments": True}}, timeout=30).json()
    while report["status"] != "complete":  # the first read of a complete report makes its file
        report = session.get(f"{base}/{report['id']}", timeout=600).json()
    with session.get(report["file_url"], stream=True, timeout=600) as answer, target.open("wb") as out:
        answer.raise_for_status()
        for chunk in answer.iter_content(1 << 20):
            out.write(chunk)
    session.close()
    return target


def _timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of a command (its CPU: the whole work for the sqlite3 CLI)."""
    started, cpu = time.perf_counter(), children_cpu_seconds()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started, children_cpu_seconds() - cpu


def _best(results: list[dict[str, Any]]) -> dict[str, Any]:
    return min(results, key=lambda r: r["wall_s"])


def section(emu: Any, env: dict[str, str], quick: bool, table: Any) -> dict[str, Any]:
    from tests.servers import PostgresServer

    rows = 100_000 if quick else 1_000_000
    sqlite_rows = 20_000 if quick else 200_000
    peer_rows = 5_000 if quick else 50_000
    pandas_rows = 2_000 if quick else 10_000
    nightly_rows = 20_000 if quick else 200_000
    rounds = 1 if quick else 3
    folder = WORK / "account_load"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _say(f"\n[7] Account report CSV → SQL — {rows:,}-row provisioning enrollments CSV from the emulator")
    started = time.perf_counter()
    big = _land_report(emu, FILE_ACCOUNT, rows, folder / "enrollments.csv")
    small = folder / "enrollments-small.csv"
    with big.open("rb") as source, small.open("wb") as out:
        for _ in range(sqlite_rows + 1):
            out.write(source.readline())
    _say(
        f"    made and downloaded in {time.perf_counter() - started:.1f} s ({big.stat().st_size / MIB:.0f} MiB)"
    )
    out: dict[str, Any] = {"rows": rows, "sqlite_rows": sqlite_rows, "peer_rows": peer_rows, "rounds": rounds}

    with PostgresServer() as server:
        warehouse = {**env, "AIRFLOW_CONN_BENCH_WAREHOUSE": server.airflow_connection_uri()}
        header = big.open().readline().strip()

        def drop() -> None:
            server.psql(f"DROP TABLE IF EXISTS {TABLE}; DROP TABLE IF EXISTS peer")

        ours, peers = [], []
        for _ in range(rounds):  # interleaved, so both see the same load on the machine
            drop()
            server.psql(f"CREATE TABLE peer ({', '.join(f'{c} TEXT' for c in header.split(','))})")
            started = time.perf_counter()
            server.psql(f"\\copy peer FROM '{big}' CSV HEADER")
            peers.append(time.perf_counter() - started)
            drop()
            ours.append(
                run_child("benchmarks.account_load", ["ours", "--csv", str(big)], warehouse, timeout=1800)
            )
        best = _best(ours)
        psql_rate, our_rate = rows / min(peers), rows / best["wall_s"]
        out["postgres"] = {
            "ours": ours,
            "psql_s": peers,
            "ours_rows_per_s": our_rate,
            "psql_rows_per_s": psql_rate,
        }
        _say(
            f"    PostgreSQL: ours {our_rate:,.0f} rows/s (COPY, best of {rounds}; CPU {best['cpu_s']:.1f} s, "
            f"+{best['rss_growth_mib']:.1f} MiB), psql \\copy {psql_rate:,.0f} rows/s"
        )
        drop()
        inserted = run_child(
            "benchmarks.account_load", ["insert-rows", "--csv", str(big), "--rows", str(peer_rows), "--table", "peer"],
            warehouse, timeout=3600,
        )  # fmt: skip
        insert_rate = inserted["rows"] / inserted["wall_s"]
        out["postgres"]["insert_rows"] = inserted
        _say(
            f"    DbApiHook.insert_rows (default path) {insert_rate:,.0f} rows/s on the first {peer_rows:,} rows"
        )
        drop()
        staged = run_child("benchmarks.account_load", ["staging", "--csv", str(big)], warehouse, timeout=1800)
        out["postgres"]["staging"] = staged
        _say(
            f"    diagnostic: COPY into a staging table + INSERT … SELECT {rows / staged['wall_s']:,.0f} rows/s"
        )
        drop()
        pandas_run = run_child(
            "benchmarks.account_load",
            ["pandas", "--csv", str(big), "--table", "peer", "--rows", str(pandas_rows)],
            warehouse,
            timeout=3600,
        )
        out["postgres"]["pandas"] = pandas_run
        _say(
            f"    pandas read_csv ({rows:,} rows) + to_sql(multi) of the first {peer_rows:,}: "
            f"{pandas_run['rows'] / pandas_run['to_sql_s']:,.0f} rows/s written, "
            f"+{pandas_run['rss_growth_mib']:.0f} MiB peak RSS (ours +{best['rss_growth_mib']:.1f} MiB)"
        )
        out["batch_sizes"] = {"postgres": {}, "sqlite": {}}
        for size in BATCH_SIZES:
            drop()
            out["batch_sizes"]["postgres"][size] = run_child(
                "benchmarks.account_load",
                ["ours", "--csv", str(small), "--batch-size", str(size)],
                warehouse,
                timeout=1800,
            )

    label = f"{rows:,}-row enrollments CSV → PostgreSQL"
    table.add(f"{label} rows/s (peer: psql \\copy)", round(our_rate), round(psql_rate),
              f"≥ {PSQL_TARGET:g}× peer", our_rate >= PSQL_TARGET * psql_rate, digits=0)  # fmt: skip
    table.add(f"{label} rows/s (peer: DbApiHook.insert_rows, {peer_rows:,} rows)", round(our_rate),
              round(insert_rate), f"≥ {INSERT_ROWS_TARGET:g}× peer", our_rate >= INSERT_ROWS_TARGET * insert_rate,
              digits=0)  # fmt: skip
    rss, pandas_rss = best["rss_growth_mib"], pandas_run["rss_growth_mib"]
    table.add(f"{label} peak RSS growth MiB (peer: pandas to_sql multi)", rss, pandas_rss,
              f"≤ {PANDAS_RSS_TARGET:g}× peer, < {RSS_LIMIT_MIB:g}",
              rss <= PANDAS_RSS_TARGET * pandas_rss and rss < RSS_LIMIT_MIB, digits=1)  # fmt: skip
    table.add(f"{label} rows/s, COPY via a staging table (diagnostic)", round(rows / staged["wall_s"]),
              round(our_rate), digits=0)  # fmt: skip

    # SQLite: ours against the sqlite3 CLI, interleaved.
    ours_sqlite, cli = [], []
    for round_ in range(rounds):
        database = folder / f"ours-{round_}.db"
        peer_db = folder / f"cli-{round_}.db"
        cli.append(_timed(["sqlite3", str(peer_db), f".import --csv {small} peer"]))  # (wall, CPU)
        sqlite_env = {
            **env,
            "AIRFLOW_CONN_BENCH_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(database)}),
        }
        ours_sqlite.append(
            run_child("benchmarks.account_load", ["ours", "--csv", str(small)], sqlite_env, timeout=1800)
        )
        with sqlite3.connect(peer_db) as db:
            assert db.execute("SELECT COUNT(*) FROM peer").fetchone()[0] == sqlite_rows
        database.unlink()
        peer_db.unlink()
    best_sqlite = _best(ours_sqlite)
    cli_wall, cli_cpu = min(cli)
    sqlite_rate, cli_rate = sqlite_rows / best_sqlite["wall_s"], sqlite_rows / cli_wall
    out["sqlite"] = {
        "ours": ours_sqlite,
        "cli_s": cli,
        "ours_rows_per_s": sqlite_rate,
        "cli_rows_per_s": cli_rate,
    }
    _say(
        f"    SQLite: ours {sqlite_rate:,.0f} rows/s (executemany; CPU {best_sqlite['cpu_s']:.2f} s), "
        f"sqlite3 .import --csv {cli_rate:,.0f} rows/s (CPU {cli_cpu:.2f} s)"
    )
    table.add(f"{sqlite_rows:,} rows → SQLite rows/s (peer: sqlite3 .import --csv)", round(sqlite_rate),
              round(cli_rate), f"≥ {SQLITE_TARGET:g}× peer", sqlite_rate >= SQLITE_TARGET * cli_rate,
              digits=0)  # fmt: skip
    table.add(
        f"{sqlite_rows:,} rows → SQLite CPU s (peer: sqlite3 .import --csv)", best_sqlite["cpu_s"], cli_cpu
    )
    for size in BATCH_SIZES:
        database = folder / f"batch-{size}.db"
        sqlite_env = {
            **env,
            "AIRFLOW_CONN_BENCH_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(database)}),
        }
        out["batch_sizes"]["sqlite"][size] = run_child(
            "benchmarks.account_load", ["ours", "--csv", str(small), "--batch-size", str(size)], sqlite_env
        )
        database.unlink()
    for db_name, runs in out["batch_sizes"].items():
        _say(f"    executemany by batch size, {db_name} ({sqlite_rows:,} rows): " + ", ".join(
            f"{size:,}: {sqlite_rows / r['wall_s']:,.0f} rows/s +{r['rss_growth_mib']:.1f} MiB" for size, r in runs.items()
        ))  # fmt: skip
        for size, r in runs.items():
            table.add(f"executemany batch {size:,} → {db_name} rows/s (diagnostic)", round(sqlite_rows / r["wall_s"]),
                      None, digits=0)  # fmt: skip

    out["nightly"] = _nightly(emu, env, folder, nightly_rows, quick)
    nightly = out["nightly"]
    table.add(f"nightly DAG, {nightly_rows:,}-row provisioning ZIP (×3 CSVs), dag.test() s (peer: parts alone)",
              nightly["dag_s"], nightly["parts_s"], f"≤ {NIGHTLY_TARGET:g}× peer",
              nightly["dag_s"] <= NIGHTLY_TARGET * nightly["parts_s"])  # fmt: skip
    table.add("nightly DAG, a process's first dag.test() s (starts the execution API; diagnostic)",
              nightly["first_dag_s"], nightly["parts_s"])  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    return out


def _nightly(emu: Any, env: dict[str, str], folder: Path, rows: int, quick: bool) -> dict[str, Any]:
    """``dag.test()`` of the example nightly DAG against the sum of its steps run alone, interleaved."""
    from airflow_provider_canvas_reports.testing import EmulatorControl, ReportBehaviour

    home = folder / "airflow"
    home.mkdir()
    airflow_env = {
        **env,
        "AIRFLOW_HOME": str(home),
        # dag.test() runs only DAGs from the DAGs folder: the package's examples.
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "airflow_provider_canvas_reports" / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AIRFLOW_VAR_CANVAS_ACCOUNT_ID": str(NIGHTLY_ACCOUNT),
        "AIRFLOW_VAR_CANVAS_LANDING_ROOT": str(folder / "landing"),
    }
    migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env={**os.environ, **airflow_env},
                             capture_output=True, text=True, cwd=home)  # fmt: skip
    if migrate.returncode:
        raise RuntimeError(f"airflow db migrate failed:\n{migrate.stdout[-2000:]}\n{migrate.stderr[-4000:]}")
    control = EmulatorControl(emu.base_url)
    behaviour = ReportBehaviour(created_seconds=0, running_seconds=0, rows=rows, sequential=False)
    for account in (NIGHTLY_ACCOUNT, PARTS_ACCOUNT):
        control.set_account_behaviour(account, behaviour)
    dag_runs, parts_runs = [], []
    for round_ in range(1 if quick else 2):
        for kind in ("dag", "parts"):
            database = folder / f"nightly-{kind}-{round_}.db"
            run_env = {
                **airflow_env,
                "AIRFLOW_CONN_CANVAS_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(database)}),
            }
            if kind == "dag":
                dag_runs.append(run_child("benchmarks.account_load", ["nightly-dag"], run_env, timeout=1800))
                assert dag_runs[-1]["state"] == "success", dag_runs[-1]
            else:
                landing = folder / f"parts-{round_}"
                parts_runs.append(
                    run_child(
                        "benchmarks.account_load",
                        ["nightly-parts", "--landing", str(landing)],
                        run_env,
                        timeout=1800,
                    )  # fmt: skip
                )
            database.unlink(missing_ok=True)
    dag_s = min(r["wall_s"] for r in dag_runs)
    parts_s = min(r["wall_s"] for r in parts_runs)
    best_parts = min(parts_runs, key=lambda r: r["wall_s"])
    first = min(r["first_run_wall_s"] for r in dag_runs)
    _say(
        f"    nightly path ({rows:,} rows × 3 CSVs): dag.test() {dag_s:.1f} s (a process's first: {first:.1f} s); "
        f"parts alone {parts_s:.1f} s "
        f"(start+wait {best_parts['start_and_wait_s']:.1f}, land {best_parts['land_s']:.1f}, "
        f"load {best_parts['load_s']:.1f}): {dag_s / parts_s:.2f}×"
    )
    return {"dag": dag_runs, "parts": parts_runs, "dag_s": dag_s, "parts_s": parts_s, "first_dag_s": first,
            "median_dag_s": median([r["wall_s"] for r in dag_runs])}  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
