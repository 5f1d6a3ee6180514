"""
Diagnostic A/B (no target): ways of reading the report file, interleaved in one process.

``python -m benchmarks.download_ab [--size-mib 1024] [--rounds 3]``

Starts its own emulator (in-process thread would share our GIL, so a subprocess: see
:class:`benchmarks.emulator.EmulatorProcess`), makes one report file, then downloads it with
``ReportFileDownloader`` in turn with each body reader below, round after round, so that every
variant sees the same machine load. Prints MiB/s and CPU seconds per variant (median of rounds).

* ``curl``: ``curl -sS -f -L -o`` (no hashing), for reference.
* ``iter_content``: ``requests``' ``iter_content(1 MiB)`` (urllib3 allocates and copies each chunk).
* ``readinto-64k`` … ``readinto-4m``: ``http.client``'s ``readinto`` straight from
  the socket into one reused buffer of that size; write and sha256 from a ``memoryview`` of it.
* ``ring4x256k-hash-thread``: the same reads into a ring of four 256 KiB buffers, written inline
  and hashed on one worker thread (hashlib releases the GIL), a buffer reused only once hashed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from typing import Any

from benchmarks.common import MIB, WORK, children_cpu_seconds, cpu_seconds

VARIANTS = {
    "curl": -1,
    "iter_content": 0,
    "readinto-64k": 64 * 1024,
    "readinto-128k": 128 * 1024,
    "readinto-256k": 256 * 1024,
    "readinto-512k": 512 * 1024,
    "readinto-1m": MIB,
    "readinto-4m": 4 * MIB,
    "ring4x256k-hash-thread": -2,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.download_ab")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args(argv)

    import requests

    from airflow_provider_canvas_reports import download
    from airflow_provider_canvas_reports.settings import CanvasSettings
    from airflow_provider_canvas_reports.testing import EmulatorControl, ReportBehaviour
    from benchmarks.emulator import EmulatorProcess

    original_chunks = download._chunks
    original_sink = download._Sink
    from concurrent.futures import Future, ThreadPoolExecutor

    class ThreadedSink(original_sink):  # type: ignore[misc,valid-type]
        """Writes inline, hashes on a worker thread; ``pending`` maps buffer index to its hash."""

        pool = ThreadPoolExecutor(1)

        def __init__(self, fileobj: Any) -> None:
            super().__init__(fileobj)
            self.pending: dict[int, Future[None]] = {}
            self.index = 0

        def wait(self, index: int | None = None) -> None:
            for key in [index] if index is not None else list(self.pending):
                future = self.pending.pop(key, None)
                if future is not None:
                    future.result()

        def restart(self) -> None:
            self.wait()
            super().restart()

        def write(self, chunk: Any) -> None:
            self.fileobj.write(chunk)
            self.pending[self.index] = self.pool.submit(self.sha.update, chunk)
            self.size += len(chunk)

    sinks: list[Any] = []

    def make_sink(fileobj: Any) -> Any:
        sinks.append(ThreadedSink(fileobj))
        return sinks[-1]

    def ring_chunks(response: Any, buffer: bytearray) -> Any:
        sink = sinks[-1]
        reader = download._direct_reader(response)
        ring = [memoryview(bytearray(256 * 1024)) for _ in range(4)]
        index = 0
        while True:
            sink.wait(index)
            sink.index = index
            count = reader.readinto(ring[index])
            if not count:
                break
            yield ring[index][:count]
            index = (index + 1) % len(ring)
        sink.wait()

    def library_chunks(response: Any, buffer: bytearray) -> Any:
        yield from response.iter_content(MIB)

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
        for _ in range(args.rounds):
            for name in results:
                chunk = VARIANTS[name]
                if chunk == -1:
                    with tempfile.NamedTemporaryFile(dir=WORK) as handle:
                        cpu0, t0 = children_cpu_seconds(), time.perf_counter()
                        subprocess.run(["curl", "-sS", "-f", "-L", "-o", handle.name, report["file_url"]], check=True)
                        wall, cpu = time.perf_counter() - t0, children_cpu_seconds() - cpu0
                    results[name].append((size / MIB / wall, cpu))
                    print(f"  {name:14s} {size / MIB / wall:6.0f} MiB/s  CPU {cpu:5.2f} s", flush=True)
                    continue
                threaded = chunk == -2
                download._chunks = (  # type: ignore[assignment]
                    ring_chunks if threaded else library_chunks if not chunk else original_chunks
                )
                download._Sink = make_sink if threaded else original_sink  # type: ignore[assignment,misc]
                download.CHUNK_SIZE = chunk if chunk > 0 else MIB
                downloader = download.ReportFileDownloader(session, settings, _Quiet())
                with tempfile.NamedTemporaryFile(dir=WORK) as handle:
                    cpu0, t0 = cpu_seconds(), time.perf_counter()
                    result = downloader.download(report["file_url"], handle, size)
                    wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
                digests.add(result.sha256)
                results[name].append((size / MIB / wall, cpu))
                print(f"  {name:14s} {size / MIB / wall:6.0f} MiB/s  CPU {cpu:5.2f} s", flush=True)
        download._chunks = original_chunks  # type: ignore[assignment]
        download._Sink = original_sink  # type: ignore[misc]
    assert len(digests) == 1, "variants disagree on the sha256"
    print(f"sha256 {digests.pop()[:16]}… (all variants agree); median of {args.rounds} rounds:")
    for name, runs in results.items():
        print(f"  {name:14s} {statistics.median(r[0] for r in runs):6.0f} MiB/s  "
              f"CPU {statistics.median(r[1] for r in runs):5.2f} s")  # fmt: skip
    return 0


class _Quiet:
    def info(self, *args: Any) -> None: ...

    def warning(self, *args: Any) -> None: ...


if __name__ == "__main__":
    raise SystemExit(main())
