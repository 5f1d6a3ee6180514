"""
One trigger-scale scenario in a fresh process: N triggers of one kind in one asyncio loop.

``python -m benchmarks.trigger_scale --impl ours|http --n 1000 --interval 1 --reports FILE --out FILE``

* ``ours``: :class:`CourseReportTrigger` (``poll_interval=interval``, no end time), one per report,
  as shipped: the provider's default settings (``max_connections`` from ``settings.DEFAULTS``)
  unless ``--max-connections`` overrides it.
* ``http``: what a user without this provider reaches for, ``HttpSensorTrigger`` (apache-airflow-providers-http)
  on the same ``GET .../reports/<type>/<id>`` status endpoint through an ``http`` connection with the
  Bearer header in its extras. It fires on the first non-404 answer (it cannot tell ``running`` from
  ``complete``), so each virtual trigger here re-arms it: run it to its event, sleep ``interval``,
  run a fresh one, the way the sensor would be re-deferred (minus the worker round trip a real
  re-deferral costs, so the peer is favoured).

Triggers start staggered evenly over one interval. After ``--warmup`` seconds the window opens
for ``--window`` seconds; inside it we take this process's CPU (getrusage: all threads), the
emulator's count of API requests (the polls), and a 10 ms ticker's overshoot (event-loop lag).
Peak RSS is this process's high-water mark above the baseline taken after imports, before the
triggers exist. Writes a JSON result to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import threading
import time
import urllib.request
from typing import Any

from benchmarks.common import (
    cpu_seconds,
    percentile,
    proc_status_kib,
    reset_peak_rss,
    rss_bytes,
    write_result,
)

TICK = 0.010
REPORT_TYPE = "course_pace_docx"
ACCOUNT_TYPE = "grade_export_csv"


def emulator_stats(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{base_url}/__emulator__/stats", timeout=30) as response:
        return json.loads(response.read())


def emulator_cpu(pid: int) -> float:
    import os

    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def preload(impl: str) -> None:
    """Import what the first poll would import, so the baseline RSS holds code, not triggers."""
    if impl == "ours":
        import aiohttp

        from airflow_provider_canvas_reports.triggers.report import ReportTrigger  # noqa: F401
    else:
        import aiohttp  # noqa: F401
        import airflow.providers.http.hooks.http  # noqa: F401
        from airflow.providers.http.triggers.http import HttpSensorTrigger  # noqa: F401
    from airflow.providers.common.compat.connection import get_async_connection  # noqa: F401


def pool_state() -> tuple[int | None, int | None, int]:
    """
    Of our shared pooled clients on this loop: (open connections, requests holding one, callers
    waiting at the ``PooledClient.gate`` semaphore).
    """
    from airflow_provider_canvas_reports.client.transport import async_clients

    connections: int | None = None
    in_use: int | None = None
    waiting = 0
    for per_loop in list(async_clients._clients.values()):
        for pooled in list(per_loop.values()):
            waiters = getattr(pooled.gate, "_waiters", None)
            waiting += len(waiters) if waiters else 0
            connector = pooled.session.connector
            acquired = len(getattr(connector, "_acquired", ()))
            idle = sum(len(v) for v in getattr(connector, "_conns", {}).values())
            connections = (connections or 0) + acquired + idle
            in_use = (in_use or 0) + acquired
    return connections, in_use, waiting


def make_ours(reports: list[tuple[str, int, int]], interval: float, max_connections: int | None) -> list[Any]:
    """The triggers as a DAG would defer them; ``hook_params`` only when a scenario overrides a default."""
    from airflow_provider_canvas_reports.targets import ReportTarget
    from airflow_provider_canvas_reports.triggers.report import ReportTrigger

    hook_params = {"settings_overrides": {"max_connections": max_connections}} if max_connections else None
    return [
        ReportTrigger(
            "canvas_default",
            ReportTarget.from_dict(target_of(*report)),
            poll_interval=interval,
            hook_params=hook_params,
        )
        for report in reports
    ]


def target_of(family: str, context_id: int, report_id: int) -> dict[str, Any]:
    report_type = REPORT_TYPE if family == "course" else ACCOUNT_TYPE
    return {"family": family, f"{family}_id": context_id, "report_type": report_type, "report_id": report_id}


def effective_max_connections(args: argparse.Namespace) -> int | None:
    """The ``max_connections`` our triggers run with: the override, else the provider's default."""
    if args.impl != "ours":
        return None
    from airflow_provider_canvas_reports.client.settings import DEFAULTS

    return args.max_connections or DEFAULTS["max_connections"]


async def run_ours(trigger: Any, delay: float, counter: list[int]) -> None:
    await asyncio.sleep(delay)
    async for event in trigger.run():
        raise RuntimeError(f"ReportTrigger ended early: {event.payload}")


def http_endpoint(family: str, context_id: int, report_id: int) -> str:
    report_type = REPORT_TYPE if family == "course" else ACCOUNT_TYPE
    return f"/api/v1/{family}s/{context_id}/reports/{report_type}/{report_id}"


async def run_http(endpoint: str, interval: float, delay: float, counter: list[int]) -> None:
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    await asyncio.sleep(delay)
    while True:
        trigger = HttpSensorTrigger(
            endpoint=endpoint, http_conn_id="http_canvas", method="GET", poke_interval=interval
        )
        async for _event in trigger.run():
            counter[0] += 1
            break
        await asyncio.sleep(interval)


class Probe:
    """State shared between the event loop (ticker) and the measuring thread."""

    def __init__(self) -> None:
        self.measuring = False
        self.lags: list[float] = []
        self.tick_started = time.perf_counter()
        self.rss_peak = rss_bytes()
        self.pool_samples: list[tuple[int | None, int | None, int]] = []


async def ticker(probe: Probe) -> None:
    """A 10 ms ticker; its overshoot is the event loop's lag."""
    while True:
        probe.tick_started = start = time.perf_counter()
        await asyncio.sleep(TICK)
        if probe.measuring:
            probe.lags.append(time.perf_counter() - start - TICK)


def measure(
    args: argparse.Namespace, probe: Probe, tasks: list[asyncio.Task[Any]], counter: list[int], baseline: int
) -> None:
    """
    Runs in a thread, on wall-clock time, so that a saturated event loop cannot stretch the
    window: warm-up, snapshot, window (sampling RSS and pool state), snapshot, result file.
    """
    n = len(tasks)
    started = time.perf_counter()

    def sample_for(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            probe.rss_peak = max(probe.rss_peak, rss_bytes())
            if probe.measuring and args.impl == "ours":
                probe.pool_samples.append(pool_state())
            time.sleep(min(0.2, left))

    sample_for(args.warmup)
    ended_in_warmup = sum(1 for t in tasks if t.done())
    stats0 = emulator_stats(args.base_url)
    emu_cpu0 = emulator_cpu(args.emulator_pid) if args.emulator_pid else 0.0
    count0 = counter[0]
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    probe.measuring = True
    sample_for(args.window)
    probe.measuring = False
    cpu1, wall1 = cpu_seconds(), time.perf_counter()
    count1 = counter[0]
    emu_cpu1 = emulator_cpu(args.emulator_pid) if args.emulator_pid else 0.0
    stats1 = emulator_stats(args.base_url)
    lags = list(probe.lags)
    pending_tick = wall1 - probe.tick_started - TICK
    if pending_tick > 0:  # a tick still waiting when the window closed counts too
        lags.append(pending_tick)
    alive = sum(1 for t in tasks if not t.done())
    errors = sorted(
        {repr(t.exception())[:300] for t in list(tasks) if t.done() and not t.cancelled() and t.exception()}
    )
    samples = probe.pool_samples
    queued = [q for _, q, _ in samples if q is not None]
    wall = wall1 - wall0
    polls = stats1["requests"]["api"] - stats0["requests"]["api"]
    cpu = cpu1 - cpu0
    peak = max(probe.rss_peak, proc_status_kib("VmHWM") * 1024)
    growth = peak - baseline
    result = {
        "impl": args.impl,
        "n": n,
        "interval_s": args.interval,
        "max_connections": effective_max_connections(args),
        "max_connections_overridden": bool(args.max_connections and args.impl == "ours"),
        "warmup_s": args.warmup,
        "window_s": round(wall, 3),
        "polls": polls,
        "polls_client_count": count1 - count0 if args.impl == "http" else None,
        "polls_per_s": round(polls / wall, 1),
        "offered_polls_per_s": round(n / args.interval, 1),
        "cpu_s": round(cpu, 4),
        "cpu_util": round(cpu / wall, 3),
        "cpu_us_per_poll": round(cpu / max(polls, 1) * 1e6, 1),
        "emulator_cpu_util": round((emu_cpu1 - emu_cpu0) / wall, 3) if args.emulator_pid else None,
        "api_connections_opened": stats1["connections"]["api"] - stats0["connections"]["api"],
        "lag_p50_ms": round(percentile(lags, 50) * 1e3, 2),
        "lag_p99_ms": round(percentile(lags, 99) * 1e3, 2),
        "lag_max_ms": round(max(lags, default=0.0) * 1e3, 2),
        "ticks": len(lags),
        "ticks_expected": int(wall / TICK),
        "baseline_rss_mib": round(baseline / 2**20, 1),
        "peak_rss_mib": round(peak / 2**20, 1),
        "rss_growth_mib": round(growth / 2**20, 1),
        "rss_kib_per_trigger": round(growth / 1024 / n, 1),
        "alive_at_end": alive,
        "ended_during_warmup": ended_in_warmup,
        "pool_connections_max": max((c for c, _, _ in samples if c is not None), default=None),
        "pool_queue_mean": round(sum(queued) / len(queued), 1) if queued else None,
        "pool_queue_max": max(queued, default=None),
        "gate_waiting_mean": round(sum(w for _, _, w in samples) / len(samples), 1) if samples else None,
        "gate_waiting_max": max((w for _, _, w in samples), default=None),
        "errors": errors,
        "measure_s": round(time.perf_counter() - started, 2),
    }
    write_result(args.out, result)
    # The result is out; whatever the event loop is doing, this process ends soon.
    watchdog = threading.Timer(args.teardown_timeout + 5, os._exit, args=(0,))
    watchdog.daemon = True
    watchdog.start()


async def scenario(args: argparse.Namespace, reports: list[tuple[str, int, int]], baseline: int) -> None:
    loop = asyncio.get_running_loop()
    probe = Probe()
    counter = [0]
    n = len(reports)
    if args.impl == "ours":
        triggers = make_ours(reports, args.interval, args.max_connections)
        coros = [run_ours(t, i * args.interval / n, counter) for i, t in enumerate(triggers)]
    else:
        coros = [
            run_http(http_endpoint(*report), args.interval, i * args.interval / n, counter)
            for i, report in enumerate(reports)
        ]
    tick_task = loop.create_task(ticker(probe))
    tasks = [loop.create_task(coro) for coro in coros]
    await asyncio.to_thread(measure, args, probe, tasks, counter, baseline)

    # Tear down within a bound: cancelling thousands of queued requests is slow in some pools.
    tick_task.cancel()
    for task in tasks:
        task.cancel()
    _done, pending = await asyncio.wait([*tasks, tick_task], timeout=args.teardown_timeout)
    if pending:
        print(f"teardown: {len(pending)} tasks still cancelling after {args.teardown_timeout} s", flush=True)
        os._exit(0)  # the result is written; do not wait for the pool


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.trigger_scale")
    parser.add_argument("--impl", choices=["ours", "http"], required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--window", type=float, default=12.0)
    parser.add_argument(
        "--max-connections",
        type=int,
        default=0,
        help="ours: override max_connections (0: the provider default)",
    )
    parser.add_argument("--reports", required=True, help="JSON file: [[family, context_id, report_id], ...]")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--emulator-pid", type=int, default=0)
    parser.add_argument("--teardown-timeout", type=float, default=10.0)
    parser.add_argument("--profile", help="write cProfile stats of the whole run to this file")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    with open(args.reports) as f:
        reports = [tuple(triple) for triple in json.load(f)][: args.n]
    if len(reports) < args.n:
        raise SystemExit(f"only {len(reports)} reports for --n {args.n}")
    preload(args.impl)
    gc.collect()
    baseline = rss_bytes()
    reset_peak_rss()
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.thread_time)  # CPU of the event loop's thread, not wall time
        profiler.runcall(asyncio.run, scenario(args, reports, baseline))  # type: ignore[arg-type]
        profiler.dump_stats(args.profile)
    else:
        asyncio.run(scenario(args, reports, baseline))  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
