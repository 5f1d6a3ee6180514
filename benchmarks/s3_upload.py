"""
Section 5: a generated 1 GiB report file landed in S3 (``moto`` in server mode on loopback).

Ours: the download as ``DownloadCourseReportOperator`` does it, ``CanvasHook.download_report_file``
into ``Destination(...).file(...).atomic_writer()`` (a multipart upload straight to the final key,
through ObjectStoragePath and the amazon provider's ``aws`` connection). Peer: what ``curl -L url |
aws s3 cp - s3://...`` does, with boto3's ``upload_fileobj`` (s3transfer, the engine behind
``aws s3 cp``) reading the storage's response stream; awscli itself is not installed, since it pins
botocore to its own release and cannot share an environment with s3fs's aiobotocore. Each run is
a fresh process measuring its wall time, CPU and peak RSS growth over its baseline after imports;
each object is checked (size, sha256) and deleted afterwards.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from benchmarks.common import (
    MIB,
    complete_report,
    cpu_seconds,
    median,
    proc_status_kib,
    reset_peak_rss,
    rss_bytes,
    run_child,
)
from benchmarks.common import write_result as _write_result

S3_COURSE = 990_005
REPORT_TYPE = "course_pace_docx"
AWS_CONN_ID = "aws_bench"
BUCKET = "canvas-bench"


def _aws_env(endpoint_url: str) -> dict[str, str]:
    return {
        f"AIRFLOW_CONN_{AWS_CONN_ID.upper()}": json.dumps(
            {
                "conn_type": "aws",
                "login": "testing",
                "password": "testing",
                "extra": {"endpoint_url": endpoint_url, "region_name": "us-east-1"},
            }
        ),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def _measure(run: Any) -> dict[str, Any]:
    gc.collect()
    baseline = rss_bytes()
    reset_peak_rss()
    cpu0, t0 = cpu_seconds(), time.perf_counter()
    size = run()
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
    peak = proc_status_kib("VmHWM") * 1024
    return {"size": size, "wall_s": wall, "cpu_s": cpu, "rss_growth_mib": (peak - baseline) / MIB}


def child(argv: list[str] | None = None) -> int:
    """One upload, ``--impl ours`` or ``--impl peer``; timings to ``--out``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.s3_upload")
    parser.add_argument("--impl", choices=("ours", "peer"), required=True)
    parser.add_argument("--report-id", type=int, required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument(
        "--window", type=int, default=None, help="ours: parts in flight (default: as shipped)"
    )
    parser.add_argument("--part-mib", type=int, default=None, help="ours: MiB per part (default: as shipped)")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)

    from airflow_provider_canvas_reports.destinations import DEFAULT_PART_SIZE, DEFAULT_WINDOW, Destination
    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    hook = CanvasHook("canvas_default")
    report = hook.get_course_report(S3_COURSE, REPORT_TYPE, args.report_id)
    expected = report["attachment"]["size"]
    if args.impl == "ours":
        target = Destination(f"s3://{AWS_CONN_ID}@{BUCKET}/{args.key}").file("unused")
        target.remote.fs.exists(BUCKET)  # connect before the clock starts, as the peer's client does

        window = args.window or DEFAULT_WINDOW
        part_size = (args.part_mib << 20) if args.part_mib else DEFAULT_PART_SIZE

        def run() -> int:
            with target.atomic_writer(True, expected, part_size=part_size, window=window) as upload:
                return hook.download_report_file(report, upload).size
    else:
        import boto3
        import requests
        from boto3.s3.transfer import TransferConfig

        client = boto3.client("s3", endpoint_url=args.endpoint_url)
        client.head_bucket(Bucket=BUCKET)
        config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)

        def run() -> int:
            with requests.get(report["file_url"], stream=True, timeout=(10, 60)) as response:
                response.raise_for_status()
                client.upload_fileobj(response.raw, BUCKET, args.key, Config=config)
            return expected

    result = _measure(run)
    _write_result(args.out, {"impl": args.impl, "expected_size": expected, **result})
    return 0


class MotoServer:
    """
    ``moto`` in server mode (or, with ``noop=True``, :mod:`benchmarks.noop_s3`, which discards the
    bytes) on a free loopback port, in its own process group, stopped by pid.
    """

    def __init__(self, noop: bool = False) -> None:
        self.noop = noop

    def __enter__(self) -> MotoServer:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        command = (
            ["-m", "benchmarks.noop_s3", "--port"]
            if self.noop
            else ["-m", "moto.server", "-H", "127.0.0.1", "-p"]
        )
        self.proc = subprocess.Popen(
            [sys.executable, *command, str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.endpoint_url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("moto_server did not start")

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def run_section(
    emu: Any,
    control: Any,
    env: dict[str, str],
    file_size: int,
    rounds: int,
    windows: tuple[int, ...] = (),
    noop: bool = False,
) -> dict[str, Any]:
    """
    Start the big report, then ``rounds`` rounds of (peer, ours) in turn against one moto server;
    with ``windows``, ours again with each of those upload windows (a sweep, for sizing the default).
    """
    import boto3

    report = complete_report(emu, control, S3_COURSE, REPORT_TYPE, file_size)
    size = report["attachment"]["size"]
    with MotoServer(noop) as moto:
        child_env = {**env, **_aws_env(moto.endpoint_url)}
        client = boto3.client(
            "s3",
            endpoint_url=moto.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        client.create_bucket(Bucket=BUCKET)
        variants = ["peer", "ours", *(f"ours-w{w}" for w in windows)]
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        digests: dict[str, set[str]] = {name: set() for name in variants}
        for i in range(rounds):
            for impl in variants:
                key = f"{impl}-{i}.zip"
                args = ["--impl", impl.split("-")[0], "--report-id", str(report["id"]), "--key", key]
                if "-w" in impl:
                    args += ["--window", impl.rpartition("-w")[2]]
                result = run_child("benchmarks.s3_upload", [*args, "--endpoint-url", moto.endpoint_url],
                                   env=child_env, timeout=900)  # fmt: skip
                sha, stored = hashlib.sha256(), 0
                if noop:  # the bytes were thrown away: check their count only
                    import requests

                    stored = requests.get(f"{moto.endpoint_url}/_noop/sizes", timeout=30).json()[key]
                else:
                    body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
                    while chunk := body.read(8 * MIB):
                        sha.update(chunk)
                        stored += len(chunk)
                    client.delete_object(Bucket=BUCKET, Key=key)
                if stored != size:
                    raise RuntimeError(f"{impl} stored {stored} bytes where the file has {size}")
                digests[impl].add(sha.hexdigest())
                runs[impl].append(result)
            print(
                f"  round {i + 1}: "
                + ", ".join(f"{name} {size / MIB / r[-1]['wall_s']:.0f} MiB/s" for name, r in runs.items())
                + f" (ours RSS +{runs['ours'][-1]['rss_growth_mib']:.1f} MiB, "
                f"peer +{runs['peer'][-1]['rss_growth_mib']:.1f} MiB)",
                flush=True,
            )
        left = [] if noop else client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    if not noop and len(set().union(*digests.values())) != 1:
        raise RuntimeError("the objects stored by ours and by the peer differ")
    ours_mibs = size / MIB / median([r["wall_s"] for r in runs["ours"]])
    peer_mibs = size / MIB / median([r["wall_s"] for r in runs["peer"]])
    return {
        "file_size": size,
        "rounds": rounds,
        "peer": "boto3 upload_fileobj from the storage stream (s3transfer, as aws s3 cp -)",
        "ours_mib_s": ours_mibs,
        "peer_mib_s": peer_mibs,
        "ratio": ours_mibs / peer_mibs,
        "ours_rss_growth_mib": max(r["rss_growth_mib"] for r in runs["ours"]),
        "peer_rss_growth_mib": max(r["rss_growth_mib"] for r in runs["peer"]),
        "ours_cpu_s": median([r["cpu_s"] for r in runs["ours"]]),
        "peer_cpu_s": median([r["cpu_s"] for r in runs["peer"]]),
        "incomplete_uploads_left": len(left),
        "sha256": next(iter(digests["ours"]), None),
        "window_sweep": {
            name: {
                "mib_s": size / MIB / median([r["wall_s"] for r in r_]),
                "cpu_s": median([r["cpu_s"] for r in r_]),
                "rss_growth_mib": max(r["rss_growth_mib"] for r in r_),
            }
            for name, r_ in runs.items()
            if "-w" in name
        },
        "runs": runs,
    }


if __name__ == "__main__":
    raise SystemExit(child())


#: Targets against s3transfer, same run, into moto.
THROUGHPUT_TARGET = 0.9
CPU_TARGET = 1.5
RSS_RATIO_TARGET = 0.5


def section(
    emu: Any, env: dict[str, str], quick: bool, table: Any, windows: tuple[int, ...] = (), noop: bool = True
) -> dict[str, Any]:
    """
    ``make bench`` section 6: ours against s3transfer into moto (the targets), then, as a diagnostic,
    both against :mod:`benchmarks.noop_s3` (the clients' own cost, without moto's).
    """
    from airflow_provider_canvas_reports.testing import EmulatorControl

    size = 64 * MIB if quick else 1024 * MIB
    rounds = 1 if quick else 2
    out: dict[str, Any] = {}
    for server in ("moto", "noop") if noop else ("moto",):
        print(
            f"\n[6] S3 landing — {size / MIB:,.0f} MiB report file into "
            + ("moto (server mode, loopback)" if server == "moto" else "a no-op S3 server (bytes discarded)")
            + f", {rounds} round(s) of the peer (boto3 upload_fileobj, as aws s3 cp -) then ours",
            flush=True,
        )
        result = run_section(
            emu,
            EmulatorControl(emu.base_url),
            env,
            size,
            rounds,
            windows if server == "moto" else (),
            server == "noop",
        )
        out[server] = result
        for name, row in result["window_sweep"].items():
            print(
                f"    {name}: {row['mib_s']:.0f} MiB/s, CPU {row['cpu_s']:.2f} s, RSS +{row['rss_growth_mib']:.1f} MiB"
            )
        print(
            f"    peer {result['peer_mib_s']:.0f} MiB/s, ours {result['ours_mib_s']:.0f} MiB/s (ratio "
            f"{result['ratio']:.2f}, medians); CPU ours {result['ours_cpu_s']:.2f} s, peer {result['peer_cpu_s']:.2f} s; "
            f"peak RSS growth ours {result['ours_rss_growth_mib']:.1f} MiB, peer {result['peer_rss_growth_mib']:.1f} MiB; "
            f"incomplete uploads left: {result['incomplete_uploads_left']}",
            flush=True,
        )
        label = f"S3 landing {size / MIB:,.0f} MiB" + (
            " into a no-op server (diagnostic)" if server == "noop" else ""
        )
        cpu_ratio = result["ours_cpu_s"] / result["peer_cpu_s"]
        rss_ratio = result["ours_rss_growth_mib"] / max(result["peer_rss_growth_mib"], 1e-6)
        scored = server == "moto"
        table.add(f"{label} MiB/s (peer: boto3 s3transfer)", result["ours_mib_s"], result["peer_mib_s"],
                  f"≥ {THROUGHPUT_TARGET:g}× peer" if scored else "—",
                  result["ratio"] >= THROUGHPUT_TARGET if scored else None, digits=0)  # fmt: skip
        table.add(f"{label} CPU s", result["ours_cpu_s"], result["peer_cpu_s"],
                  f"≤ {CPU_TARGET:g}× peer" if scored else "—", cpu_ratio <= CPU_TARGET if scored else None)  # fmt: skip
        table.add(f"{label} peak RSS growth MiB", result["ours_rss_growth_mib"], result["peer_rss_growth_mib"],
                  f"≤ {RSS_RATIO_TARGET:g}× peer" if scored else "—",
                  rss_ratio <= RSS_RATIO_TARGET if scored else None, digits=1)  # fmt: skip
    return out
