"""
``make bench``: the provider against same-run peers; prints a table and writes ``benchmarks/results.json``.

    .venv/bin/python -m benchmarks.run            # full run (under 10 minutes on 2 cores)
    .venv/bin/python -m benchmarks.run --quick    # smoke run, small N
    .venv/bin/python benchmarks/run.py --only 1,4

Sections (each measurement in a fresh process; the emulator in its own process, throttle off):

1. Trigger scale: N ``CourseReportTrigger`` (as shipped, provider defaults) in one asyncio loop
   against N re-armed ``HttpSensorTrigger`` (apache-airflow-providers-http) on the same status
   endpoint: CPU per poll, event-loop lag (10 ms ticker), peak RSS per trigger, polls achieved;
   10,000 of ours @ 30 s alone; and a library floor (diagnostic: raw aiohttp vs our transport).
2. Download: a generated 1 GiB report file, ``CanvasHook.download_report_file`` (sha256 and size
   checked) into a local file and into ``ObjectStoragePath("file://...")``, vs ``curl -L -o`` and
   this CPU's single-core sha256 speed; as the machine is, then beside a CPU-bound neighbour.
3. Parse cost: a DAG with our operators and sensor vs the same shape in plain ``airflow.sdk``.
4. Call overhead: 1,000 ``CanvasHook.get_course_report`` vs a raw ``requests.Session`` loop.
5. Course pace: parse throughput on a ZIP of 200 documents × 50 items, and its load into SQLite
   (:mod:`benchmarks.course_pace`; no peer).
6. S3 landing: 1 GiB into ``moto`` (server mode) as the download operator writes it vs boto3's
   s3transfer (see :mod:`benchmarks.s3_upload`); then both into a no-op S3 server (diagnostic:
   the clients' own cost without moto's). ``--s3-windows 1,2,8`` adds ours with other windows.
7. Account report CSVs into SQL: 1,000,000 rows into PostgreSQL vs ``psql \\copy``, common-sql's
   ``insert_rows`` and pandas; 200,000 rows into SQLite vs the ``sqlite3`` CLI; the nightly example
   DAG vs its parts (see :mod:`benchmarks.account_load`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: benchmarks/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, WORK, machine_info, run_child
from benchmarks.emulator import EmulatorProcess

ACCOUNT_TYPE = "grade_export_csv"
REPORT_TYPE = "course_pace_docx"
RESULTS = ROOT / "benchmarks" / "results.json"
#: Targets.
CPU_RATIO_TARGET = 0.25  # trigger CPU per poll vs HttpSensorTrigger's, every scenario with the peer
RSS_RATIO_TARGET = 1.0  # peak RSS per trigger vs HttpSensorTrigger's, every scenario with the peer
LAG_P99_TARGET_MS = 20.0  # at 1,000 triggers @ 1 s
RUNNING_POLLS_TARGET = 0.95  # of offered polls, at 10,000 triggers @ 30 s
DOWNLOAD_RATIO_TARGET = 0.9  # of curl's throughput
DOWNLOAD_CPU_RATIO_TARGET = 2.0  # of curl's CPU
DOWNLOAD_RSS_TARGET_MIB = 64.0
PARSE_ADDED_TARGET_MS = 50.0
CALL_RATIO_TARGET = 1.2


def default_max_connections() -> int:
    """``max_connections`` our triggers get when nothing overrides it (``settings.DEFAULTS``)."""
    from airflow_provider_canvas_reports.client.settings import DEFAULTS

    return int(DEFAULTS["max_connections"])


@dataclass
class Scenario:
    n: int
    interval: float
    warmup: float
    window: float
    variants: tuple[str, ...] = ("ours", "http")
    note: str = ""
    #: Only if a scenario needs it: a ``max_connections`` override for our triggers (None: default).
    max_connections: int | None = None
    running_row: bool = False
    results: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.n:,} triggers @ {self.interval:g} s"


def scenarios(quick: bool) -> list[Scenario]:
    """
    Every variant of a scenario runs in the same run, one after another, against the same emulator.

    The window spans whole poll intervals: triggers sleep a fixed interval after each poll, so any
    bunching at start-up repeats every interval, and a window shorter than one interval samples a
    dense or a sparse stretch of it (5,000 @ 20 s with a 10 s window read 217 and 304 polls/s in
    two runs of the same code; with a 20 s window 249.8 and 249.9).
    """
    if quick:
        return [
            Scenario(50, 1.0, 2.0, 4.0),
            Scenario(200, 1.0, 2.0, 4.0),
        ]
    return [
        Scenario(100, 1.0, 3.0, 10.0, note="100 polls/s"),
        Scenario(1000, 1.0, 4.0, 10.0, note="1,000 polls/s: the issue's headline"),
        Scenario(1000, 5.0, 7.0, 10.0, note="200 polls/s"),
        Scenario(5000, 20.0, 22.0, 20.0, note="250 polls/s"),
        Scenario(10000, 30.0, 32.0, 30.0, variants=("ours",), note="333 polls/s, ours alone: all alive?"),
    ]


# --------------------------------------------------------------------------------------------- helpers


def say(text: str = "") -> None:
    print(text, flush=True)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class LoadSampler:
    """The 1-minute load average every ``every`` seconds while the run goes (other work shares the box)."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loadavg", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(round(os.getloadavg()[0], 2))

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, Any]:
        values = self.samples or [round(os.getloadavg()[0], 2)]
        return {
            "every_s": self.every,
            "min": min(values),
            "mean": round(sum(values) / len(values), 2),
            "max": max(values),
            "samples": values,
        }


def connection_env(emu: EmulatorProcess) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_CANVAS_DEFAULT": json.dumps(
            {"conn_type": "canvas", "host": emu.base_url, "password": emu.token}
        ),
        "AIRFLOW_CONN_HTTP_CANVAS": json.dumps(
            {"conn_type": "http", "host": emu.base_url, "extra": {"Authorization": f"Bearer {emu.token}"}}
        ),
    }


def create_reports(emu: EmulatorProcess, count: int) -> list[list[Any]]:
    """
    Start ``count`` reports (held ``running``): every other one an account report (over 50
    accounts), the rest course reports (over 500 courses); return [[family, context id, id], ...].
    """
    import requests

    def batch(indexes: range) -> list[list[int]]:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {emu.token}"
        made = []
        for i in indexes:
            if i % 2:
                family, context, path = "account", 1 + i % 50, f"accounts/{1 + i % 50}/reports/{ACCOUNT_TYPE}"
                body: dict[str, Any] = {"parameters": {}}
            else:
                family, context, path = "course", 1 + i % 500, f"courses/{1 + i % 500}/reports/{REPORT_TYPE}"
                body = {"parameters": {"section_ids": [1]}}
            response = session.post(f"{emu.base_url}/api/v1/{path}", json=body, timeout=30)
            response.raise_for_status()
            made.append([family, context, int(response.json()["id"])])
        session.close()
        return made

    step = (count + 3) // 4
    with ThreadPoolExecutor(4) as pool:
        parts = pool.map(batch, [range(i, min(i + step, count)) for i in range(0, count, step)])
    return [pair for part in parts for pair in part]


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        metric: str,
        ours: Any,
        peer: Any,
        target: str = "—",
        met: bool | None = None,
        ratio: float | None = None,
        digits: int = 2,
    ) -> None:
        if ratio is None and isinstance(ours, (int, float)) and isinstance(peer, (int, float)) and peer:
            ratio = ours / peer
        self.rows.append(
            {
                "metric": metric,
                "ours": ours,
                "peer": peer,
                "ratio": ratio,
                "target": target,
                "met": met,
                "_digits": digits,
            }
        )

    def render(self) -> str:
        header = ("metric", "ours", "peer", "ratio", "target", "met?")
        lines = [
            (
                r["metric"],
                fmt(r["ours"], r["_digits"]),
                fmt(r["peer"], r["_digits"]),
                "—" if r["ratio"] is None else f"{r['ratio']:.2f}×",
                r["target"],
                "—" if r["met"] is None else ("yes" if r["met"] else "NO"),
            )
            for r in self.rows
        ]
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]
        out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
        out.append("-+-".join("-" * w for w in widths))
        for line in lines:
            out.append(
                " | ".join(
                    cell.ljust(w) if i in (0, 4) else cell.rjust(w)
                    for i, (cell, w) in enumerate(zip(line, widths, strict=True))
                )
            )
        return "\n".join(out)

    def json(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.rows]


# --------------------------------------------------------------------------------------------- sections


def section_triggers(emu: EmulatorProcess, env: dict[str, str], quick: bool, table: Table) -> dict[str, Any]:
    plan = scenarios(quick)
    biggest = max(s.n for s in plan)
    for scenario in plan:
        scenario.running_row = scenario.n == biggest
    say(f"\n[1] Trigger scale — creating {biggest:,} held reports ...")
    t0 = time.perf_counter()
    reports = create_reports(emu, biggest)
    WORK.mkdir(parents=True, exist_ok=True)
    reports_file = WORK / "reports.json"
    reports_file.write_text(json.dumps(reports))
    max_connections = default_max_connections()
    say(
        f"    created in {time.perf_counter() - t0:.1f} s (half account reports); ours = ReportTrigger as shipped, "
        "provider defaults "
        f"(max_connections={max_connections}: PooledClient gate + one aiohttp session per loop)"
    )
    say("    peer: http = HttpSensorTrigger re-armed per poll")
    out: dict[str, Any] = {"max_connections": max_connections, "scenarios": []}
    for scenario in plan:
        say(f"  {scenario.label} ({scenario.note or f'{scenario.n / scenario.interval:g} polls/s'}):")
        for variant in scenario.variants:
            impl = "http" if variant == "http" else "ours"
            args = [
                "--impl", impl,
                "--n", str(scenario.n),
                "--interval", str(scenario.interval),
                "--warmup", str(scenario.warmup),
                "--window", str(scenario.window),
                "--reports", str(reports_file),
                "--base-url", emu.base_url,
                "--emulator-pid", str(emu.pid),
            ]  # fmt: skip
            if impl == "ours" and scenario.max_connections:
                args += ["--max-connections", str(scenario.max_connections)]
            budget = scenario.warmup + scenario.window + 90
            try:
                result = run_child("benchmarks.trigger_scale", args, env=env, timeout=budget)
            except subprocess.TimeoutExpired:
                result = {"timed_out": True, "n": scenario.n}
            scenario.results[variant] = result
            if result.get("timed_out"):
                say(f"    {variant:13s} did not finish within {budget:.0f} s")
                continue
            say(
                f"    {variant:13s} {result['polls_per_s']:7.1f} polls/s of {result['offered_polls_per_s']:g} | "
                f"CPU {result['cpu_us_per_poll'] / 1e3:7.2f} ms/poll ({result['cpu_util'] * 100:3.0f}% of a core) | "
                f"lag p50 {result['lag_p50_ms']:8.1f} p99 {result['lag_p99_ms']:8.1f} ms | "
                f"RSS {result['rss_kib_per_trigger']:5.1f} KiB/trigger | "
                f"alive {result['alive_at_end']}/{scenario.n}"
                + (f" | pool {result['pool_connections_max']} conns"
                   if result.get("pool_connections_max") is not None else "")
                + (f" | at gate ≤{result['gate_waiting_max']}" if result.get("gate_waiting_max") is not None else "")
                + (f" | errors {result['errors'][:1]}" if result.get("errors") else "")
            )  # fmt: skip
        out["scenarios"].append(
            {
                "n": scenario.n,
                "interval_s": scenario.interval,
                "warmup_s": scenario.warmup,
                "window_s": scenario.window,
                "note": scenario.note,
                "max_connections_override": scenario.max_connections,
                "results": scenario.results,
            }
        )
        add_trigger_rows(table, scenario)
    return out


def add_trigger_rows(table: Table, s: Scenario) -> None:
    """
    Rows for one scenario, targets (``met?``) on ``ours``: CPU/poll ≤ 0.25× and peak RSS/trigger
    ≤ 1.0× the peer's wherever the peer ran; loop lag p99 < 20 ms at 1,000 @ 1 s; and for the
    biggest scenario: all alive, no errors, ≥ 95% of the offered polls.
    """
    peer = s.results.get("http") or {}
    result = s.results.get("ours") or {}
    offered = s.n / s.interval
    name = f"{s.label}: ours"
    if result.get("timed_out") or peer.get("timed_out"):
        table.add(f"{name} (did not finish)", None, None, met=False)
        return

    def peer_value(key: str, scale: float = 1.0) -> float | None:
        return peer[key] / scale if key in peer else None

    cpu_ours, cpu_peer = result["cpu_us_per_poll"] / 1e3, peer_value("cpu_us_per_poll", 1e3)
    ratio = cpu_ours / cpu_peer if cpu_peer else None
    table.add(
        f"{name} CPU ms/poll",
        cpu_ours,
        cpu_peer,
        f"≤ {CPU_RATIO_TARGET:g}× peer" if peer else "—",
        (ratio is not None and ratio <= CPU_RATIO_TARGET) if peer else None,
    )
    lag_target = s.n == 1000 and s.interval == 1.0
    table.add(
        f"{name} loop lag p99 ms",
        result["lag_p99_ms"],
        peer_value("lag_p99_ms"),
        f"< {LAG_P99_TARGET_MS:g} ms" if lag_target else "—",
        result["lag_p99_ms"] < LAG_P99_TARGET_MS if lag_target else None,
        digits=1,
    )
    table.add(
        f"{name} polls/s (offered {offered:,.0f})", result["polls_per_s"], peer_value("polls_per_s"), digits=1
    )
    rss_ours, rss_peer = result["rss_kib_per_trigger"], peer_value("rss_kib_per_trigger")
    table.add(
        f"{name} peak RSS KiB/trigger",
        rss_ours,
        rss_peer,
        f"≤ {RSS_RATIO_TARGET:g}× peer" if peer else "—",
        (rss_peer is not None and rss_ours <= RSS_RATIO_TARGET * rss_peer) if peer else None,
        digits=1,
    )
    if s.running_row:
        ok = (
            result["alive_at_end"] == s.n
            and not result["errors"]
            and result["polls_per_s"] >= RUNNING_POLLS_TARGET * offered
        )
        table.add(
            f"{name} running (alive, no errors, ≥{RUNNING_POLLS_TARGET:.0%} of offered polls)",
            f"{result['alive_at_end']}/{s.n}, {len(result['errors'])} err, {result['polls_per_s'] / offered:.0%}",
            f"{peer['alive_at_end']}/{s.n}, {len(peer['errors'])} err, {peer['polls_per_s'] / offered:.0%}"
            if peer
            else None,
            f"{s.n:,} running",
            ok,
        )


def section_floor(
    emu: EmulatorProcess, env: dict[str, str], quick: bool, course: int, report: int
) -> dict[str, Any]:
    say("\n[1b] Library floor (diagnostic): CPU µs per status GET, raw aiohttp vs our transport (no trigger)")
    result = run_child(
        "benchmarks.floor",
        ["--base-url", emu.base_url, "--token", emu.token, "--course", str(course), "--report", str(report),
         "--calls", "150" if quick else "400"],
        env=env,
    )  # fmt: skip
    for key, label in (("back_to_back_cpu_us", "back to back"), ("paced_10ms_cpu_us", "paced 10 ms")):
        say(f"    {label:13s} " + ", ".join(f"{k} {v:,.0f}" for k, v in result[key].items()))
    return result


def section_download(emu: EmulatorProcess, env: dict[str, str], quick: bool, table: Table) -> dict[str, Any]:
    """
    The download twice: as the machine is, then beside a CPU-bound neighbour the bench starts
    (:data:`benchmarks.download.NEIGHBOUR_CODE`, one core). Each condition measures this CPU's
    single-core sha256 speed too (before and after its rounds): ours hashes every byte, curl does
    not, so the target is ≥ 0.9× the lower of curl and sha256.
    """
    from airflow_provider_canvas_reports.testing import EmulatorControl
    from benchmarks.download import Neighbour, run_section

    size = 64 * 2**20 if quick else 2**30
    rounds = 1 if quick else 3
    say(
        f"\n[2] Download — {size / 2**20:,.0f} MiB report file via the 302, {rounds} round(s) of curl, ours, "
        "ours into ObjectStoragePath(file://) (sha256 and size checked, as shipped; sha256 checked against curl's "
        "bytes); as the machine is, then beside a CPU-bound neighbour (one core of pure-Python arithmetic)"
    )
    out: dict[str, Any] = {}
    report = None
    for condition in ("as_is", "neighbour"):
        with Neighbour() if condition == "neighbour" else contextlib.nullcontext():
            result = run_section(emu, EmulatorControl(emu.base_url), env, size, rounds, report)
        report = result.pop("report")
        out[condition] = result
        say(
            f"    {condition}: load {result['load_1min_before']} → {result['load_1min_after']}; curl "
            f"{result['curl_mib_s']:.0f} MiB/s, sha256 {result['sha256_mib_s']:.0f} MiB/s, ours "
            f"{result['ours_mib_s']:.0f} MiB/s ({result['ratio_to_bound']:.2f}× the lower), ObjectStoragePath "
            f"{result['objectstorage_mib_s']:.0f} MiB/s; CPU ours {result['ours_cpu_s']:.2f} s vs curl "
            f"{result['curl_cpu_s']:.2f} s; our peak RSS growth {result['ours_rss_growth_mib']:.1f} MiB"
        )
        label = f"download {size / 2**20:,.0f} MiB" + (
            " + CPU-bound neighbour" if condition == "neighbour" else ""
        )
        cpu_ratio = result["ours_cpu_s"] / result["curl_cpu_s"] if result["curl_cpu_s"] else None
        table.add(f"{label} MiB/s (peer: min(curl -L -o, sha256 1 core))", result["ours_mib_s"],
                  result["bound_mib_s"], f"≥ {DOWNLOAD_RATIO_TARGET:g}× min(curl, sha256)",
                  result["ratio_to_bound"] >= DOWNLOAD_RATIO_TARGET, digits=0)  # fmt: skip
        table.add(f"{label} curl MiB/s | sha256 MiB/s (same run)", result["curl_mib_s"], result["sha256_mib_s"],
                  digits=0)  # fmt: skip
        table.add(f"{label} CPU s (peer: curl)", result["ours_cpu_s"], result["curl_cpu_s"],
                  f"≤ {DOWNLOAD_CPU_RATIO_TARGET:g}× curl",
                  cpu_ratio is not None and cpu_ratio <= DOWNLOAD_CPU_RATIO_TARGET)  # fmt: skip
        table.add(f"{label} our peak RSS growth MiB", result["ours_rss_growth_mib"], None, "< 64 MiB",
                  result["ours_rss_growth_mib"] < DOWNLOAD_RSS_TARGET_MIB, digits=1)  # fmt: skip
        table.add(f"{label} into ObjectStoragePath(file://) MiB/s", result["objectstorage_mib_s"],
                  result["curl_mib_s"], digits=0)  # fmt: skip
    return out


def section_parse(quick: bool, table: Table) -> dict[str, Any]:
    from benchmarks.parse_cost import run_section

    runs = 3 if quick else 15
    say(
        f"\n[3] Parse cost — {runs} fresh processes each, interleaved (import airflow.sdk, then exec the DAG file)"
    )
    result = run_section(runs)
    say(
        f"    provider DAG {result['ours_median_ms']:.1f} ms, airflow.sdk-only DAG {result['peer_median_ms']:.1f} ms "
        f"(median): +{result['added_ms']:.1f} ms"
    )
    say("    -X importtime, our modules (self ms): " + ", ".join(
        f"{r['module'].removeprefix('airflow_provider_canvas_reports.') or r['module']} {r['self_us'] / 1e3:.1f}"
        for r in result["provider_modules"][:8]
    ))  # fmt: skip
    heavy = ", ".join(r["module"] for r in result["heavy_imports"]) or "none"
    say(f"    heavy HTTP/retry modules imported by the DAG file: {heavy}")
    table.add("DAG parse ms (median; peer: airflow.sdk only)", result["ours_median_ms"], result["peer_median_ms"],
              digits=1)  # fmt: skip
    table.add("DAG parse added ms (ours − peer)", result["added_ms"], None, "≤ +50 ms",
              result["added_ms"] <= PARSE_ADDED_TARGET_MS, digits=1)  # fmt: skip
    return result


def section_calls(emu: EmulatorProcess, env: dict[str, str], quick: bool, table: Table, course: int,
                  report: int) -> dict[str, Any]:  # fmt: skip
    calls = 200 if quick else 1000
    say(f"\n[4] Call overhead — {calls:,} sequential get_course_report vs a raw requests.Session loop")
    result = run_child(
        "benchmarks.call_overhead",
        ["--base-url", emu.base_url, "--token", emu.token, "--course", str(course), "--report", str(report),
         "--calls", str(calls)],
        env=env,
    )  # fmt: skip
    say(
        f"    ours CPU {result['ours_cpu_s']:.2f} s wall {result['ours_wall_s']:.2f} s | raw CPU "
        f"{result['raw_cpu_s']:.2f} s wall {result['raw_wall_s']:.2f} s | CPU {result['cpu_ratio']:.2f}×, "
        f"wall {result['wall_ratio']:.2f}×"
    )
    table.add(f"{calls:,} get_course_report CPU s (peer: raw requests)", result["ours_cpu_s"], result["raw_cpu_s"],
              "≤ 1.2×", result["cpu_ratio"] <= CALL_RATIO_TARGET)  # fmt: skip
    table.add(f"{calls:,} get_course_report wall s", result["ours_wall_s"], result["raw_wall_s"], "≤ 1.2×",
              result["wall_ratio"] <= CALL_RATIO_TARGET)  # fmt: skip
    return result


def section_course_pace(quick: bool, table: Table) -> dict[str, Any]:
    documents, items = (20, 50) if quick else (200, 50)
    say(f"\n[5] Course pace — parse a ZIP of {documents} documents × {items} items, then load it into SQLite")
    result = run_child("benchmarks.course_pace", ["--documents", str(documents), "--items", str(items)])
    parse, first, again = result["parse_best"], result["load_first"], result["load_again"]
    say(
        f"    parse {result['items_per_s']:,.0f} items/s ({result['documents_per_s']:.0f} documents/s, "
        f"{parse['cpu_s']:.2f} s CPU, +{parse['rss_growth_mib']:.1f} MiB); load {first['wall_s']:.2f} s "
        f"(re-run of the slice {again['wall_s']:.2f} s, +{again['rss_growth_mib']:.1f} MiB)"
    )
    table.add(f"pace parse items/s ({documents}×{items} ZIP)", round(result["items_per_s"]), None, digits=0)
    table.add(f"pace load into SQLite s ({documents * items:,} items)", first["wall_s"], None)
    table.add("pace re-load (delete + insert) s", again["wall_s"], None)
    return result


# --------------------------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: small N, small file, few runs")
    parser.add_argument("--only", default="1,2,3,4,5,6,7", help="sections to run, e.g. 1,4 (default: all)")
    parser.add_argument("--output", default=str(RESULTS), help="where to write the JSON results")
    parser.add_argument(
        "--s3-windows", default="", help="section 6: also run ours with these upload windows, e.g. 2,4,8"
    )
    args = parser.parse_args(argv)
    only = {part.strip() for part in args.only.split(",")}

    started = time.perf_counter()
    now = datetime.datetime.now(datetime.timezone.utc)
    machine = machine_info()
    say(
        f"Canvas provider benchmarks ({'quick' if args.quick else 'full'}) — {now:%Y-%m-%d %H:%M} UTC\n"
        f"machine: {machine['nproc']} × {machine['cpu_model']}, {machine['mem_total_gib']} GiB, "
        f"Python {machine['python']}, Airflow {machine['airflow']}, "
        f"apache-airflow-providers-http {machine.get('providers_http')}; load average {load_average()}"
    )
    results: dict[str, Any] = {
        "date": now.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "load_average_start": load_average(),
        "sections": {},
    }
    table = Table()
    sampler = LoadSampler()
    with sampler:
        with EmulatorProcess(cwd=str(ROOT)) as emu:
            say(f"emulator: pid {emu.pid} at {emu.base_url} (own process, throttle off, counters only)")
            env = connection_env(emu)
            _, probe_course, probe_report = create_reports(emu, 1)[0]  # index 0: a course report
            if "1" in only:
                results["sections"]["trigger_scale"] = section_triggers(emu, env, args.quick, table)
                results["sections"]["library_floor"] = section_floor(
                    emu, env, args.quick, probe_course, probe_report
                )
            if "2" in only:
                results["sections"]["download"] = section_download(emu, env, args.quick, table)
            if "4" in only:
                results["sections"]["call_overhead"] = section_calls(
                    emu, env, args.quick, table, probe_course, probe_report
                )
            if "6" in only:
                from benchmarks import s3_upload

                windows = tuple(int(w) for w in args.s3_windows.split(",") if w.strip())
                results["sections"]["s3_upload"] = s3_upload.section(emu, env, args.quick, table, windows)
            if "7" in only:
                from benchmarks import account_load

                results["sections"]["account_load"] = account_load.section(emu, env, args.quick, table)
        if "3" in only:  # no emulator needed
            results["sections"]["parse_cost"] = section_parse(args.quick, table)
        if "5" in only:  # no emulator needed
            results["sections"]["course_pace"] = section_course_pace(args.quick, table)

    results["load_average_end"] = load_average()
    results["load_average_1min_during"] = sampler.summary()
    results["duration_s"] = round(time.perf_counter() - started, 1)
    results["table"] = table.json()
    say("\n" + table.render())
    say(
        f"\nmax_connections for our triggers: {default_max_connections()} (the provider default, nothing passed). "
        f"Took {results['duration_s']:.0f} s; load average {results['load_average_start']} → "
        f"{results['load_average_end']}; 1-min load during the run "
        f"min {results['load_average_1min_during']['min']} / mean {results['load_average_1min_during']['mean']} / "
        f"max {results['load_average_1min_during']['max']} (every {sampler.every:g} s)."
    )
    Path(args.output).write_text(json.dumps(results, indent=2, default=str) + "\n")
    say(f"wrote {os.path.relpath(args.output, os.getcwd())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
