"""
Diagnostic (no target): what one status GET costs in each HTTP client library on this machine.

``python -m benchmarks.floor --base-url URL --token T --course C --report R --out F``

A raw ``aiohttp.ClientSession`` GET plus ``json`` (the library our triggers and
``HttpSensorTrigger`` use), our ``AsyncTransport.call`` over the pooled session (what a trigger's
poll costs without the trigger), and ``requests`` (our tasks), each back to back and paced at
10 ms gaps (a loop that sleeps between polls, as triggers do, pays the wake-up cost of an idle
CPU). It tells how much of a trigger's CPU per poll is the library floor rather than the provider.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from benchmarks.common import cpu_seconds, write_result

REPORT_TYPE = "course_pace_docx"


async def _async_floor(
    base_url: str, token: str, course: int, report: int, calls: int, gap: float
) -> dict[str, float]:
    import logging

    import aiohttp

    from airflow_provider_canvas_reports.client import calls as canvas_calls
    from airflow_provider_canvas_reports.client.settings import CanvasSettings
    from airflow_provider_canvas_reports.client.transport import AsyncTransport, async_clients
    from airflow_provider_canvas_reports.targets import CourseReport

    request = canvas_calls.get_report(CourseReport.of(course, REPORT_TYPE, report))
    settings = CanvasSettings(base_url, token)
    out: dict[str, float] = {}
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session,
        async_clients.lease(settings) as pooled,
    ):
        transport = AsyncTransport(pooled, settings, logging.getLogger(__name__))
        url = base_url + request.path

        async def get_aiohttp() -> None:
            async with session.get(url) as response:
                response.raise_for_status()
                await response.json()

        async def get_ours() -> None:
            await transport.call(request)

        async def nothing() -> None:
            return None

        for name, fn in (("aiohttp", get_aiohttp), ("ours", get_ours), ("sleep_only", nothing)):
            await fn()
            cpu0 = cpu_seconds()
            for _ in range(calls):
                await fn()
                if gap:
                    await asyncio.sleep(gap)
            out[name] = (cpu_seconds() - cpu0) / calls * 1e6
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--course", type=int, required=True)
    parser.add_argument("--report", type=int, required=True)
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    import requests

    path = f"/api/v1/courses/{args.course}/reports/{REPORT_TYPE}/{args.report}"
    result: dict[str, Any] = {"calls": args.calls}
    floor_args = (args.base_url, args.token, args.course, args.report)
    result["back_to_back_cpu_us"] = asyncio.run(_async_floor(*floor_args, args.calls, 0))
    result["paced_10ms_cpu_us"] = asyncio.run(_async_floor(*floor_args, max(args.calls // 2, 50), 0.010))
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {args.token}"
    session.get(args.base_url + path).json()
    cpu0 = cpu_seconds()
    for _ in range(args.calls):
        response = session.get(args.base_url + path, timeout=(10, 60))
        response.raise_for_status()
        response.json()
    result["back_to_back_cpu_us"]["requests"] = (cpu_seconds() - cpu0) / args.calls * 1e6
    for key in ("back_to_back_cpu_us", "paced_10ms_cpu_us"):
        result[key] = {k: round(v, 1) for k, v in result[key].items()}
    write_result(args.out, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
