"""
Section 3: what parsing a DAG that uses this provider costs over the same DAG shape in plain ``airflow.sdk``.

Each sample is a fresh interpreter that imports ``airflow.sdk`` (not timed: every DAG file pays it)
and then execs one DAG file (timed: its imports plus building the DAG), like the DAG processor
does per file. The two files alternate, ``runs`` times each; we report medians. Then one
``python -X importtime`` run of the provider DAG lists the modules it imported after
``airflow.sdk``, with our own modules and any heavy HTTP library (httpx, requests, tenacity, ...)
picked out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from benchmarks.common import ROOT, median

DAGS = ROOT / "benchmarks" / "dags"
OURS = DAGS / "canvas_dag.py"
PEER = DAGS / "sdk_dag.py"
HEAVY = ("httpx", "httpcore", "requests", "urllib3", "tenacity", "aiohttp", "anyio", "h11", "certifi", "ssl")

TIMED = """
import json, sys, time
import airflow.sdk
path = sys.argv[1]
t0 = time.perf_counter()
namespace = {"__name__": "bench_dag", "__file__": path}
exec(compile(open(path).read(), path, "exec"), namespace)
elapsed = time.perf_counter() - t0
dag = namespace["dag"]
print(json.dumps({"seconds": elapsed, "tasks": len(dag.tasks), "modules": len(sys.modules)}))
"""

IMPORTTIME = """
import sys
import airflow.sdk
sys.stderr.write("@@after-sdk@@\\n")
path = sys.argv[1]
exec(compile(open(path).read(), path, "exec"), {"__name__": "bench_dag", "__file__": path})
"""


def sample(path: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", TIMED, path], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def importtime(path: str) -> list[dict[str, Any]]:
    """Modules imported by the DAG file after ``airflow.sdk``: name, self and cumulative µs."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORTTIME, path],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    after = proc.stderr.split("@@after-sdk@@", 1)[1]
    rows = []
    for line in after.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, cumulative_us, name = (part.strip() for part in line.split(":", 1)[1].split("|"))
        if not self_us.isdigit():
            continue
        rows.append({"module": name.strip(), "self_us": int(self_us), "cumulative_us": int(cumulative_us)})
    return rows


def run_section(runs: int) -> dict[str, Any]:
    sample(str(OURS))  # compile the .pyc files once, so no sample pays for it
    sample(str(PEER))
    ours: list[float] = []
    peer: list[float] = []
    for _ in range(runs):
        ours.append(sample(str(OURS))["seconds"])
        peer.append(sample(str(PEER))["seconds"])
    rows = importtime(str(OURS))
    provider_rows = [r for r in rows if r["module"].startswith("airflow_provider_canvas_reports")]
    heavy_rows = [r for r in rows if r["module"].split(".")[0] in HEAVY]
    top_level = sorted(rows, key=lambda r: r["cumulative_us"], reverse=True)[:12]
    return {
        "runs": runs,
        "ours_median_ms": median(ours) * 1e3,
        "peer_median_ms": median(peer) * 1e3,
        "added_ms": (median(ours) - median(peer)) * 1e3,
        "ours_ms": [round(x * 1e3, 2) for x in ours],
        "peer_ms": [round(x * 1e3, 2) for x in peer],
        "provider_modules_self_ms": round(sum(r["self_us"] for r in provider_rows) / 1e3, 2),
        "provider_modules": sorted(provider_rows, key=lambda r: r["self_us"], reverse=True),
        "heavy_imports": heavy_rows,
        "all_imports_after_sdk_ms": round(sum(r["self_us"] for r in rows) / 1e3, 2),
        "largest_imports": top_level,
    }
