"""
The Canvas emulator in its own process, for benchmarks.

``python -m benchmarks.emulator`` is the emulator CLI (``python -m airflow_provider_canvas_reports.testing``)
with two differences a benchmark needs and the CLI has no flag for:

* the request throttle is off (``request_cost = 0``), so thousands of polls a second neither get
  ``403 Rate Limit Exceeded`` nor make the client pause on a low ``X-Rate-Limit-Remaining``;
* requests are counted, not recorded (``record_requests=False``), so memory stays flat.

:class:`EmulatorProcess` starts it as a subprocess, reads the ``listening on`` line, and stops it by pid.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time

READY = re.compile(r"listening on (http://\S+) \(storage (http://\S+)\) token=(\S+)")


def main(argv: list[str] | None = None) -> int:
    from airflow_provider_canvas_reports.testing import CanvasEmulator, ReportBehaviour

    parser = argparse.ArgumentParser(prog="python -m benchmarks.emulator")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="bench-token")
    args = parser.parse_args(argv)

    emulator = CanvasEmulator({args.token: "admin"}, port=args.port, record_requests=False)
    emulator.request_cost = 0.0  # throttle off: X-Rate-Limit-Remaining stays at the high-water mark
    emulator.default_behaviour = ReportBehaviour(hold=True, sequential=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    emulator.start()
    print(
        f"canvas emulator listening on {emulator.base_url} (storage {emulator.storage_url}) "
        f"token={emulator.token}",
        flush=True,
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emulator.stop()
    return 0


class EmulatorProcess:
    """``with EmulatorProcess() as emu:`` → ``emu.base_url``, ``emu.token``, ``emu.pid``, ``emu.cpu_seconds()``."""

    def __init__(self, python: str = sys.executable, cwd: str | None = None) -> None:
        self.python = python
        self.cwd = cwd
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = self.storage_url = self.token = ""

    def start(self) -> EmulatorProcess:
        self.proc = subprocess.Popen(
            [self.python, "-m", "benchmarks.emulator"],
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            match = READY.search(line)
            if match:
                self.base_url, self.storage_url, self.token = match.groups()
                return self
        self.stop()
        raise RuntimeError("the benchmark emulator did not start")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_seconds(self) -> float:
        """The emulator process's user+system CPU so far (from /proc/<pid>/stat)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    sys.exit(main())
