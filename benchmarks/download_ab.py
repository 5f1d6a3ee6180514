"""
Diagnostic A/B (no target): ways of reading and hashing the report file, interleaved in one process.

``python -m benchmarks.download_ab [--size-mib 1024] [--rounds 5] [--variants curl,shipped,inline]``

Starts the emulator in its own process (:class:`benchmarks.emulator.EmulatorProcess`), makes one
report file, then downloads it with ``ReportFileDownloader`` in turn with each variant below,
round after round (after a warm-up round that is not counted), so that every variant sees the
same machine load: compare them round by round. Prints MiB/s and CPU seconds per run and the medians; every variant's sha256 must agree.

* ``curl``: ``curl -sS -f -L -o`` (no hashing), for reference.
* ``shipped``: as shipped: ``http.client``'s ``readinto`` straight from the socket into a ring of
  reused buffers, each written inline and hashed on a worker thread.
* ``shipped-1m``: as shipped, with 1 MiB buffers instead of 256 KiB.
* ``inline``: the same reads into one reused buffer, written and hashed in turn on one thread.
* ``iter_content``: ``requests``' ``iter_content`` (urllib3 allocates and copies every chunk),
  written inline, hashed on the worker thread.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from typing import Any

from benchmarks.common import MIB, WORK, children_cpu_seconds, cpu_seconds

VARIANTS = ("curl", "shipped", "shipped-1m", "inline", "iter_content")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.download_ab")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--warmup-rounds", type=int, default=1, help="rounds run first and not counted")
    args = parser.parse_args(argv)

    import requests

    from airflow_provider_canvas_reports import download
    from airflow_provider_canvas_reports.client.settings import CanvasSettings
    from airflow_provider_canvas_reports.testing import EmulatorControl, ReportBehaviour
    from benchmarks.emulator import EmulatorProcess

    shipped_sink, shipped_chunks = download._Sink, download._chunks
    shipped_chunk_size = download.CHUNK_SIZE

    class InlineSink(shipped_sink):  # type: ignore[misc,valid-type]
        """Hashes on the calling thread, from one buffer."""

        def next_buffer(self) -> memoryview:
            return self._ring[0]

        def write(self, chunk: Any) -> None:
            self.fileobj.write(chunk)
            self.sha.update(chunk)
            self.size += len(chunk)

    def library_chunks(response: Any, sink: Any) -> Any:
        yield from response.iter_content(download.CHUNK_SIZE)

    patches = {
        "shipped": (shipped_sink, shipped_chunks),
        "shipped-1m": (shipped_sink, shipped_chunks),
        "inline": (InlineSink, shipped_chunks),
        "iter_content": (shipped_sink, library_chunks),
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in args.variants.split(",")}
    with EmulatorProcess() as emu:
        control = EmulatorControl(emu.base_url)
        control.set_behaviour(1, ReportBehaviour(created_seconds=0, running_seconds=0,
                                                 file_size=args.size_mib * MIB, sequential=False))  # fmt: skip
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {emu.token}"
        url = f"{emu.base_url}/api/v1/courses/1/reports/course_pace_docx"
        report = session.post(url, json={"parameters": {"section_ids": [1]}}, timeout=30).json()
        while report["status"] != "complete":
            time.sleep(0.1)
            report = session.get(f"{url}/{report['id']}", timeout=30).json()
        size = report["attachment"]["size"]
        settings = CanvasSettings(emu.base_url, emu.token)
        WORK.mkdir(parents=True, exist_ok=True)
        digests = set()
        try:
            for round_number in range(args.warmup_rounds + args.rounds):
                counted = round_number >= args.warmup_rounds
                for name in results:
                    with tempfile.NamedTemporaryFile(dir=WORK) as handle:
                        if name == "curl":
                            cpu0, t0 = children_cpu_seconds(), time.perf_counter()
                            subprocess.run(
                                ["curl", "-sS", "-f", "-L", "-o", handle.name, report["file_url"]], check=True
                            )
                            wall, cpu = time.perf_counter() - t0, children_cpu_seconds() - cpu0
                        else:
                            download._Sink, download._chunks = patches[name]  # type: ignore[misc]
                            download.CHUNK_SIZE = MIB if name.endswith("-1m") else shipped_chunk_size
                            downloader = download.ReportFileDownloader(session, settings, _Quiet())
                            cpu0, t0 = cpu_seconds(), time.perf_counter()
                            digests.add(downloader.download(report["file_url"], handle, size).sha256)
                            wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
                    if counted:
                        results[name].append((size / MIB / wall, cpu))
                    tag = "" if counted else " (warm-up, not counted)"
                    print(f"  {name:14s} {size / MIB / wall:6.0f} MiB/s  CPU {cpu:5.2f} s{tag}", flush=True)
        finally:
            download._Sink, download._chunks = shipped_sink, shipped_chunks  # type: ignore[misc]
            download.CHUNK_SIZE = shipped_chunk_size
    assert len(digests) <= 1, "variants disagree on the sha256"
    print(f"median of {args.rounds} rounds (sha256 agreed):")
    for name, runs in results.items():
        print(f"  {name:14s} {statistics.median(r[0] for r in runs):6.0f} MiB/s  "
              f"CPU {statistics.median(r[1] for r in runs):5.2f} s")  # fmt: skip
    return 0


class _Quiet:
    def info(self, *args: Any) -> None: ...

    def warning(self, *args: Any) -> None: ...


if __name__ == "__main__":
    raise SystemExit(main())
