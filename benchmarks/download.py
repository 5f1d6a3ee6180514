"""
Section 2: a generated 1 GiB report file to local disk, ``CanvasHook.download_report_file`` vs ``curl -L``.

The orchestrator (:func:`run_section`) starts a report with ``ReportBehaviour(file_size=2**30)``
on a course of its own, waits for it, then alternates curl, our hook into a plain file, and our
hook into ``ObjectStoragePath("file://...").open("wb")`` (each in a fresh process)
on the same ``file_url``: Canvas answers with a 302 to the storage host, which both follow. The
hook's child (``python -m benchmarks.download``) measures its own wall time, CPU and peak RSS
above the baseline taken after imports and the report lookup. Files land in a temp dir under
``benchmarks/.work`` (same disk as the repo) and are deleted after each run.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any

from benchmarks.common import (
    MIB,
    WORK,
    children_cpu_seconds,
    complete_report,
    cpu_seconds,
    median,
    proc_status_kib,
    reset_peak_rss,
    rss_bytes,
    run_child,
    write_result,
)

DOWNLOAD_COURSE = 990_001
REPORT_TYPE = "course_pace_docx"


def child(argv: list[str] | None = None) -> int:
    """Download once with the hook; write timings to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.download")
    parser.add_argument("--report-id", type=int, required=True)
    parser.add_argument("--course-id", type=int, default=DOWNLOAD_COURSE)
    parser.add_argument("--dest", required=True)
    parser.add_argument(
        "--object-storage", action="store_true", help='write through ObjectStoragePath("file://<dest>")'
    )
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    from airflow.providers.common.compat.sdk import ObjectStoragePath

    from airflow_provider_canvas_reports.client.download import ReportFileDownloader  # noqa: F401
    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    hook = CanvasHook("canvas_default")
    report = hook.get_course_report(args.course_id, REPORT_TYPE, args.report_id)
    target = ObjectStoragePath(f"file://{os.path.abspath(args.dest)}") if args.object_storage else None
    if target is not None:
        _ = target.fs  # the filesystem is made once per process, before the baseline and the clock
    gc.collect()
    baseline = rss_bytes()
    reset_peak_rss()
    peak_sampled = [baseline]

    def on_progress(done: int) -> None:
        if done % (64 * MIB) < MIB:
            peak_sampled[0] = max(peak_sampled[0], rss_bytes())

    cpu0, t0 = cpu_seconds(), time.perf_counter()
    with target.open("wb") if target is not None else open(args.dest, "wb") as f:
        result = hook.download_report_file(report, f, on_progress=on_progress)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    peak = max(peak_sampled[0], proc_status_kib("VmHWM") * 1024)
    write_result(
        args.out,
        {
            "size": result.size,
            "sha256": result.sha256,
            "expected_size": (report.get("attachment") or {}).get("size"),
            "wall_s": wall,
            "cpu_s": cpu,
            "baseline_rss_mib": baseline / MIB,
            "peak_rss_mib": peak / MIB,
            "rss_growth_mib": (peak - baseline) / MIB,
        },
    )
    return 0


def curl_once(file_url: str, dest: str) -> dict[str, Any]:
    cpu0, t0 = children_cpu_seconds(), time.perf_counter()
    subprocess.run(["curl", "-sS", "-f", "-L", "-o", dest, file_url], check=True, timeout=600)
    wall, cpu = time.perf_counter() - t0, children_cpu_seconds() - cpu0
    return {"size": os.path.getsize(dest), "wall_s": wall, "cpu_s": cpu}


def sha256_file(path: str) -> str:
    import hashlib

    sha = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MIB):
            sha.update(chunk)
    return sha.hexdigest()


def sha256_mib_s(total: int = 512 * MIB, block: int = 4 * MIB) -> float:
    """This CPU's single-core sha256 speed (hashlib, in memory, 4 MiB updates): the bound ours hashes at."""
    import hashlib

    data = os.urandom(block)
    sha = hashlib.sha256()
    cpu0 = time.process_time()
    for _ in range(total // block):
        sha.update(data)
    return total / MIB / (time.process_time() - cpu0)


#: What the CPU-bound neighbour runs: one core's worth of pure-Python arithmetic, forever.
NEIGHBOUR_CODE = "x = 0\nwhile True:\n    x = (x * 1103515245 + 12345) % 2147483648\n"


class Neighbour:
    """A CPU-bound process beside the measurement (its own session, ended by its pid)."""

    def __enter__(self) -> Neighbour:
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-c", NEIGHBOUR_CODE], start_new_session=True)
        time.sleep(1.0)  # let it take its core before the first measurement
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def run_section(
    emu: Any, control: Any, env: dict[str, str], file_size: int, rounds: int, report: dict | None = None
) -> dict[str, Any]:
    """Start the big report (or reuse ``report``), then ``rounds`` × (curl, ours) in turn; medians of each."""
    report = report or complete_report(emu, control, DOWNLOAD_COURSE, REPORT_TYPE, file_size)
    size = report["attachment"]["size"]
    file_url = report["file_url"]
    load_before = os.getloadavg()[0]
    sha_before = sha256_mib_s()

    WORK.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="download-", dir=WORK)
    runs: dict[str, list[dict[str, Any]]] = {"curl": [], "ours": [], "ours_objectstorage": []}
    try:
        for i in range(rounds):
            dest = os.path.join(tmp, f"curl-{i}.bin")
            runs["curl"].append(curl_once(file_url, dest))
            if i == 0:  # what curl got is the reference for the hook's sha256 (hashed off the clock)
                runs["curl"][-1]["sha256"] = sha256_file(dest)
            os.unlink(dest)
            for name, extra in (("ours", []), ("ours_objectstorage", ["--object-storage"])):
                dest = os.path.join(tmp, f"{name}-{i}.bin")
                child_args = ["--report-id", str(report["id"]), "--dest", dest, *extra]
                runs[name].append(run_child("benchmarks.download", child_args, env=env, timeout=600))
                os.unlink(dest)
            print(
                f"  round {i + 1}: "
                + ", ".join(f"{name} {size / MIB / r[-1]['wall_s']:.0f} MiB/s" for name, r in runs.items())
                + f" (ours RSS +{runs['ours'][-1]['rss_growth_mib']:.1f} MiB)",
                flush=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sha_after = sha256_mib_s()
    curl_runs, ours_runs, os_runs = runs["curl"], runs["ours"], runs["ours_objectstorage"]
    if {r["sha256"] for r in ours_runs + os_runs} != {curl_runs[0]["sha256"]}:
        raise RuntimeError("the hook's sha256 disagrees with the sha256 of the bytes curl got")
    for run in ours_runs + os_runs + curl_runs:
        if run["size"] != size:
            raise RuntimeError(f"a download got {run['size']} bytes where the file has {size}")
    curl_mibs = size / MIB / median([r["wall_s"] for r in curl_runs])
    ours_mibs = size / MIB / median([r["wall_s"] for r in ours_runs])
    os_mibs = size / MIB / median([r["wall_s"] for r in os_runs])
    sha_mibs = median([sha_before, sha_after])
    bound = min(curl_mibs, sha_mibs)
    return {
        "report": report,
        "file_size": size,
        "rounds": rounds,
        "load_1min_before": round(load_before, 2),
        "load_1min_after": round(os.getloadavg()[0], 2),
        "sha256_mib_s": sha_mibs,
        "bound_mib_s": bound,
        "ratio_to_bound": ours_mibs / bound,
        "curl_mib_s": curl_mibs,
        "ours_mib_s": ours_mibs,
        "ratio": ours_mibs / curl_mibs,
        "ours_rss_growth_mib": max(r["rss_growth_mib"] for r in ours_runs),
        "ours_cpu_s": median([r["cpu_s"] for r in ours_runs]),
        "objectstorage_mib_s": os_mibs,
        "objectstorage_ratio": os_mibs / curl_mibs,
        "objectstorage_cpu_s": median([r["cpu_s"] for r in os_runs]),
        "objectstorage_rss_growth_mib": max(r["rss_growth_mib"] for r in os_runs),
        "curl_cpu_s": median([r["cpu_s"] for r in curl_runs]),
        "ours_sha256": ours_runs[0]["sha256"],
        "sha256_matches_curl": True,
        "curl_runs": curl_runs,
        "ours_runs": ours_runs,
        "objectstorage_runs": os_runs,
    }


if __name__ == "__main__":
    raise SystemExit(child())
