"""
Run the emulator until SIGTERM/SIGINT: ``python -m airflow_provider_canvas_reports.testing``.

SIGUSR1 takes Canvas down (every port closed, every connection dropped: clients see refused
connections); SIGUSR2 brings it back on the same ports with its state intact.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.testing.emulator import CanvasEmulator, check_loopback
from airflow_provider_canvas_reports.testing.models import ReportBehaviour

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m airflow_provider_canvas_reports.testing", description=__doc__
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="Canvas API port (0: any free port)")
    parser.add_argument("--storage-port", type=int, default=0, help="object-storage port (0: any free port)")
    parser.add_argument("--files-port", type=int, default=0, help="files-domain port (0: any free port)")
    parser.add_argument(
        "--token",
        action="append",
        help="admin token: course and account reports (repeatable; default emulator-token)",
    )
    parser.add_argument(
        "--student-token", action="append", default=[], help="token of a student (repeatable)"
    )
    parser.add_argument(
        "--developer-key",
        action="append",
        default=[],
        metavar="CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN",
        help="an OAuth2 developer key (an admin's) and a refresh token for it (repeatable)",
    )
    parser.add_argument(
        "--token-seconds", type=float, default=3600, help="how long developer key access tokens live"
    )
    parser.add_argument("--created-seconds", type=float, default=0.05, help="time a report stays created")
    parser.add_argument("--running-seconds", type=float, default=0.2, help="time a report stays running")
    parser.add_argument("--file-size", type=int, default=20_000, help="size of generated files in bytes")
    parser.add_argument("--storage", choices=["redirect", "local"], default="redirect", help="file delivery")
    parser.add_argument("--parallel", action="store_true", help="let reports of one course run concurrently")
    parser.add_argument(
        "--last-empty",
        action="store_true",
        help="answer a 'last report' lookup without a report with 200 {} (older Canvas) instead of 500",
    )
    parser.add_argument("--progress", action="store_true", help="include a progress key (older Canvas)")
    parser.add_argument(
        "--files-domain", action="store_true", help="put file_url on the separate files-domain server"
    )
    parser.add_argument(
        "--record",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record requests (or count only)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Start, print one line, serve until a signal, stop; exit status 0."""
    args = parse_args(argv)
    try:
        check_loopback(args.host)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tokens = dict.fromkeys(args.token or ["emulator-token"], "admin")
    tokens.update(dict.fromkeys(args.student_token, "student"))
    emulator = CanvasEmulator(
        tokens,
        host=args.host,
        port=args.port,
        storage_port=args.storage_port,
        files_port=args.files_port,
        record_requests=args.record,
    )
    emulator.default_behaviour = ReportBehaviour(
        created_seconds=args.created_seconds,
        running_seconds=args.running_seconds,
        file_size=args.file_size,
        storage=args.storage,
        sequential=not args.parallel,
        last_without_report="empty" if args.last_empty else "error",
        progress=args.progress,
        file_host="files" if args.files_domain else "api",
    )
    for key in args.developer_key:
        client_id, secret, refresh_token = _developer_key(key)
        emulator.add_developer_key(client_id, secret, refresh_token, expires_in=int(args.token_seconds))
    stop = threading.Event()
    wanted: list[bool] = []  # serving or not, as the last SIGUSR1/SIGUSR2 asked

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    def on_outage(signum: int, frame: FrameType | None) -> None:
        wanted.append(signum == signal.SIGUSR2)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGUSR1, on_outage)
    signal.signal(signal.SIGUSR2, on_outage)
    emulator.start()
    where = f"{emulator.base_url} (storage {emulator.storage_url})"
    print(f"canvas emulator listening on {where} token={emulator.token}", flush=True)
    print(f"canvas emulator files domain on {emulator.files_url}", flush=True)
    try:
        while not stop.wait(0.1):
            while wanted:
                serve = wanted.pop(0)
                if serve and not emulator.running:
                    emulator.start()
                    print(f"canvas emulator back on {emulator.base_url}", flush=True)
                elif not serve and emulator.running:
                    emulator.stop()
                    print("canvas emulator down (SIGUSR1)", flush=True)
    finally:
        emulator.stop()
    return 0


def _developer_key(text: str) -> tuple[str, str, str]:
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise SystemExit(f"--developer-key takes CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN, not {text!r}")
    return parts[0], parts[1], parts[2]


if __name__ == "__main__":
    sys.exit(main())
