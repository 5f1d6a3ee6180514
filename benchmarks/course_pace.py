"""
Section 5: reading course pace reports and loading them into SQLite.

A ``course_pace.zip`` of ``documents`` section paces by ``items`` items each, written by the
emulator's generator, is

* parsed with :func:`iter_course_paces` (items per second; best of ``rounds``, CPU and wall), and
* loaded into a fresh SQLite file by :class:`CoursePaceToSqlOperator` (first load, which creates
  the tables, then a re-run of the same slice, which deletes and re-inserts it),

in a fresh process (``python -m benchmarks.course_pace --out FILE``), with the peak RSS growth of
each phase. No peer: no other tool reads these documents.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import MIB, WORK, cpu_seconds, proc_status_kib, reset_peak_rss, rss_bytes


def make_report(path: Path, documents: int, items: int) -> None:
    """The zip Canvas would send for ``documents`` sections of a course with ``items`` paced items."""
    from airflow_provider_canvas_reports.testing.files import build_course_pace_file, pace_documents
    from airflow_provider_canvas_reports.testing.pace_plans import (
        CoursePlan,
        PlannedBlackout,
        PlannedItem,
        PlannedModule,
    )

    per_module = 10
    modules = tuple(
        PlannedModule(
            f"Module {m + 1}",
            tuple(
                PlannedItem(f"Assignment {m + 1}.{i + 1}", points=10, duration_days=1)
                for i in range(min(per_module, items - m * per_module))
            ),
        )
        for m in range((items + per_module - 1) // per_module)
    )
    plan = CoursePlan(
        course_name="Benchmark Course",
        start_date=date(2025, 1, 6),
        modules=modules,
        blackout_dates=(PlannedBlackout("Break", date(2025, 3, 10), date(2025, 3, 14)),),
    )
    report = build_course_pace_file(
        pace_documents(plan, [str(i + 1) for i in range(documents)], []), 0, datetime.now(timezone.utc)
    )
    with path.open("wb") as out:
        for chunk in report.content.iter_range():
            out.write(chunk)


def parse(path: Path) -> dict[str, Any]:
    from airflow_provider_canvas_reports.course_pace import iter_course_paces

    reset_peak_rss()
    base = rss_bytes()
    cpu, wall = cpu_seconds(), time.perf_counter()
    documents = items = 0
    for pace in iter_course_paces(path):
        documents += 1
        items += len(pace.items)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    peak = proc_status_kib("VmHWM") * 1024
    return {"documents": documents, "items": items, "wall_s": wall, "cpu_s": cpu,
            "rss_growth_mib": (peak - base) / MIB}  # fmt: skip


def load(path: Path, database: Path) -> dict[str, Any]:
    from airflow_provider_canvas_reports.operators.course_pace import CoursePaceToSqlOperator

    os.environ["AIRFLOW_CONN_BENCH_WAREHOUSE"] = json.dumps({"conn_type": "sqlite", "host": str(database)})
    operator = CoursePaceToSqlOperator(
        task_id="load", uri=str(path), course_id=1, report_id=1, conn_id="bench_warehouse"
    )
    context: Any = {"logical_date": datetime(2026, 3, 1, tzinfo=timezone.utc)}
    reset_peak_rss()
    base = rss_bytes()
    cpu, wall = cpu_seconds(), time.perf_counter()
    counts = operator.execute(context)
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    peak = proc_status_kib("VmHWM") * 1024
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT COUNT(*) FROM canvas_course_pace_items").fetchone()[0]
    return {**counts, "rows_in_table": rows, "wall_s": wall, "cpu_s": cpu,
            "rss_growth_mib": (peak - base) / MIB}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    WORK.mkdir(parents=True, exist_ok=True)
    report = WORK / f"course_pace_{args.documents}x{args.items}.zip"
    make_report(report, args.documents, args.items)
    parses = [parse(report) for _ in range(args.rounds)]
    best = min(parses, key=lambda r: r["wall_s"])
    with tempfile.TemporaryDirectory(dir=WORK) as folder:
        database = Path(folder) / "warehouse.db"
        first = load(report, database)
        again = load(report, database)
    result = {
        "documents": args.documents,
        "items_per_document": args.items,
        "file_bytes": report.stat().st_size,
        "parse": parses,
        "parse_best": best,
        "items_per_s": best["items"] / best["wall_s"],
        "documents_per_s": best["documents"] / best["wall_s"],
        "load_first": first,
        "load_again": again,
    }
    report.unlink()
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
