"""Small measuring helpers shared by the benchmark sections (standard library only)."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
MIB = 1 << 20


def cpu_seconds() -> float:
    """User + system CPU of this process (all threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def children_cpu_seconds() -> float:
    """User + system CPU of waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def proc_status_kib(field: str, pid: int | str = "self") -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def rss_bytes() -> int:
    """Resident set size now."""
    return proc_status_kib("VmRSS") * 1024


def reset_peak_rss() -> bool:
    """Reset this process's ``VmHWM`` to the current RSS (Linux ``clear_refs`` 5); whether it worked."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def machine_info(python: str = sys.executable) -> dict[str, Any]:
    """nproc, CPU model, memory, kernel, Python and Airflow versions."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_total = 0
    try:
        mem_total = proc_meminfo_kib("MemTotal") * 1024
    except (OSError, KeyError):
        pass
    versions = subprocess.run(
        [
            python,
            "-c",
            "import json, importlib.metadata as m, platform;"
            "print(json.dumps({'python': platform.python_version(), 'airflow': m.version('apache-airflow'),"
            "'providers_http': m.version('apache-airflow-providers-http'),"
            "'requests': m.version('requests'), 'urllib3': m.version('urllib3'), 'aiohttp': m.version('aiohttp')}))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        found = json.loads(versions.stdout)
    except ValueError:
        found = {"python": platform.python_version()}
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True, check=False).stdout
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "mem_total_gib": round(mem_total / 2**30, 1),
        "kernel": platform.release(),
        "curl": curl.split("\n", 1)[0],
        **found,
    }


def proc_meminfo_kib(field: str) -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def run_child(
    module: str,
    args: list[str],
    env: dict[str, str] | None = None,
    timeout: float = 300,
    keep_log: bool = False,
) -> Any:
    """
    Run ``python -m <module> <args> --out FILE`` in a fresh process and return the JSON it wrote to FILE.

    The child's stdout and stderr (trigger logs, at thousands of lines a second) go to a log file
    under ``benchmarks/.work``, not through a pipe; its tail is shown if the child fails.
    """
    WORK.mkdir(parents=True, exist_ok=True)
    stem = module.rsplit(".", 1)[-1]
    out = WORK / f"{stem}-{os.getpid()}.json"
    log = WORK / f"{stem}-{os.getpid()}.log"
    out.unlink(missing_ok=True)
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), full_env.get("PYTHONPATH")]))
    with open(log, "wb") as log_file:
        proc = subprocess.run(
            [sys.executable, "-m", module, *args, "--out", str(out)],
            cwd=ROOT,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    try:
        if proc.returncode != 0 or not out.exists():
            tail = log.read_bytes()[-4000:].decode("utf-8", "replace")
            raise RuntimeError(f"{module} {' '.join(args)} failed with exit code {proc.returncode}:\n{tail}")
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)
        if not keep_log:
            log.unlink(missing_ok=True)


def write_result(path: str, result: Any) -> None:
    Path(path).write_text(json.dumps(result, indent=2))


class Timer:
    """``with Timer() as t: ...`` → ``t.wall``, ``t.cpu``."""

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = cpu_seconds() - self._cpu


def complete_report(
    emu: Any, control: Any, course_id: int, report_type: str, file_size: int
) -> dict[str, Any]:
    """Start a report of ``file_size`` bytes on ``course_id`` (no queueing) and wait until it is complete."""
    from airflow_provider_canvas_reports.testing import ReportBehaviour, run_report

    control.set_behaviour(
        course_id,
        ReportBehaviour(created_seconds=0, running_seconds=0, file_size=file_size, sequential=False),
    )
    path = f"courses/{course_id}/reports/{report_type}"
    report = run_report(emu.base_url, emu.token, path, {"section_ids": [1]}, timeout=60, interval=0.1)
    if report.get("status") != "complete":
        raise RuntimeError(f"the {file_size}-byte report did not complete: {report.get('status')}")
    return report
