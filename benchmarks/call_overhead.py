"""
Section 4: sequential sync status calls, ``CanvasHook.get_course_report`` vs a raw ``requests.Session`` loop.

``python -m benchmarks.call_overhead --base-url URL --token T --course C --report R --calls 1000 --out F``

Both hit the same ``GET /api/v1/courses/C/reports/course_pace_docx/R`` over one kept-alive
connection. The raw loop does what a careful hand-written loop does (Bearer header, timeout,
``raise_for_status``, ``.json()``); the hook adds id validation, retries (tenacity), the
rate-limit header check and the response shape check. The calls run in interleaved blocks
(ours, raw, ours, raw, ...) so that background load hits both alike; CPU is this process's
getrusage, wall is perf_counter, both summed over the blocks.
"""

from __future__ import annotations

import argparse
import time

from benchmarks.common import cpu_seconds, write_result

REPORT_TYPE = "course_pace_docx"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.call_overhead")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--course", type=int, required=True)
    parser.add_argument("--report", type=int, required=True)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--profile", help="write cProfile stats of our calls to this file")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    import requests

    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    hook = CanvasHook("canvas_default")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {args.token}"
    url = f"{args.base_url}/api/v1/courses/{args.course}/reports/{REPORT_TYPE}/{args.report}"

    def ours(k: int) -> None:
        for _ in range(k):
            report = hook.get_course_report(args.course, REPORT_TYPE, args.report)
            assert report["status"]

    def raw(k: int) -> None:
        for _ in range(k):
            response = session.get(url, timeout=(10, 60))
            response.raise_for_status()
            report = response.json()
            assert report["status"]

    ours(20)  # warm up: connection, imports, connection lookup
    raw(20)
    per_block = args.calls // args.blocks
    totals = {"ours": [0.0, 0.0], "raw": [0.0, 0.0]}
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    for _ in range(args.blocks):
        for name, fn in (("ours", ours), ("raw", raw)):
            if profiler is not None and name == "ours":
                profiler.enable()
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            fn(per_block)
            totals[name][0] += cpu_seconds() - cpu0
            totals[name][1] += time.perf_counter() - t0
            if profiler is not None and name == "ours":
                profiler.disable()
    if profiler is not None:
        profiler.dump_stats(args.profile)
    calls = per_block * args.blocks
    write_result(
        args.out,
        {
            "calls": calls,
            "ours_cpu_s": totals["ours"][0],
            "ours_wall_s": totals["ours"][1],
            "raw_cpu_s": totals["raw"][0],
            "raw_wall_s": totals["raw"][1],
            "cpu_ratio": totals["ours"][0] / totals["raw"][0],
            "wall_ratio": totals["ours"][1] / totals["raw"][1],
            "ours_cpu_us_per_call": totals["ours"][0] / calls * 1e6,
            "raw_cpu_us_per_call": totals["raw"][0] / calls * 1e6,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
