"""
Diagnostic (no target): what one status GET costs in each HTTP client library on this machine.

``python -m benchmarks.floor --base-url URL --token T --course C --report R --out F``

Raw clients, no provider code: ``httpx.AsyncClient`` (what our triggers use), ``aiohttp`` (what
``HttpSensorTrigger`` uses) and ``requests`` (our tasks), each back to back and paced at 10 ms
gaps (a loop that sleeps between polls, as triggers do, pays the wake-up cost of an idle CPU).
It tells how much of a trigger's CPU per poll is the library floor rather than the provider.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from benchmarks.common import cpu_seconds, write_result

REPORT_TYPE = "course_pace_docx"


async def _async_floor(base_url: str, token: str, path: str, calls: int, gap: float) -> dict[str, float]:
    import aiohttp
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, float] = {}
    async with (
        httpx.AsyncClient(base_url=base_url, headers=headers) as hx,
        aiohttp.ClientSession(base_url=base_url, headers=headers) as ah,
    ):

        async def get_httpx() -> None:
            response = await hx.get(path)
            response.raise_for_status()
            response.json()

        async def get_aiohttp() -> None:
            async with ah.get(path) as response:
                response.raise_for_status()
                await response.json()

        async def nothing() -> None:
            return None

        for name, fn in (("httpx", get_httpx), ("aiohttp", get_aiohttp), ("sleep_only", nothing)):
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
    result["back_to_back_cpu_us"] = asyncio.run(_async_floor(args.base_url, args.token, path, args.calls, 0))
    result["paced_10ms_cpu_us"] = asyncio.run(
        _async_floor(args.base_url, args.token, path, max(args.calls // 2, 50), 0.010)
    )
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
