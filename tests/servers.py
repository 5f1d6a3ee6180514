"""
Real servers for tests: a throwaway PostgreSQL cluster and a Redis server, both on loopback.

``PostgresServer().start()`` runs Debian's PostgreSQL (``/usr/lib/postgresql/<version>/bin``) as a
private cluster in a temporary directory, listening on 127.0.0.1 and a free port, with ``trust``
authentication and no Unix socket. ``initdb`` and ``postgres`` refuse to run as root, so under root
they run as the ``postgres`` system user (or ``nobody``), which owns the data directory. The server
is the child process this object started; ``stop()`` shuts it down by that pid and removes the
directory.

    server = PostgresServer().start()
    url = server.create_database("warehouse")   # postgresql://postgres@127.0.0.1:<port>/warehouse
    ...
    server.stop()

``RedisServer().start()`` runs Debian's ``redis-server`` the same way: loopback, a free port, a
temporary working directory, no persistence; ``stop()`` ends it by its pid.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT_SECONDS = 60.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0


class _PortTaken(RuntimeError):
    pass


def postgres_bindir() -> Path:
    """The newest Debian PostgreSQL ``bin`` directory (``make system-deps`` installs one)."""
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make system-deps` (apt-get install postgresql)")
    newest = max(found, key=lambda path: int(Path(path).parent.parent.name.split(".")[0]))
    return Path(newest).parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _unprivileged_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' account exists")


class PostgresServer:
    """
    A private PostgreSQL cluster on loopback, started and stopped by this object.

    :param user: the cluster's superuser role (no password: ``trust`` on 127.0.0.1).
    :param host: the address to listen on.
    """

    def __init__(self, user: str = "postgres", host: str = "127.0.0.1") -> None:
        self.user = user
        self.host = host
        self.port = 0
        self.bindir = postgres_bindir()
        self._account = _unprivileged_account()
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- addresses -------------------------------------------------------------------------------
    def url(self, database: str = "postgres", scheme: str = "postgresql") -> str:
        """A URL for ``database``: ``scheme://user@host:port/database`` (no password)."""
        return f"{scheme}://{self.user}@{self.host}:{self.port}/{database}"

    @property
    def dsn(self) -> str:
        """A libpq keyword DSN for the ``postgres`` database."""
        return f"host={self.host} port={self.port} user={self.user} dbname=postgres"

    @property
    def sqlalchemy_url(self) -> str:
        """A SQLAlchemy URL (psycopg2) for the ``postgres`` database."""
        return self.url(scheme="postgresql+psycopg2")

    def airflow_connection_uri(self, database: str = "postgres") -> str:
        """An ``AIRFLOW_CONN_*`` URI of a ``postgres`` connection to ``database``."""
        return self.url(database, scheme="postgres")

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> PostgresServer:
        """Create the cluster and start the server; returns ``self`` once it accepts connections."""
        if self._process is not None:
            return self
        self._workdir = Path(tempfile.mkdtemp(prefix="canvas-pg-"))
        try:
            self._own(self._workdir)
            data = self._workdir / "data"
            self._run_as_owner(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    self.user,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                    "--no-sync",
                ]
            )
            # Another process may take the free port before the server binds it: try again.
            if not any(self._spawn(data) for _ in range(3)):
                raise RuntimeError("postgres lost its port to another process three times")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT) of the server by its pid, then remove the cluster directory."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(SHUTDOWN_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def restart(self) -> None:
        """Fast shutdown and start again on the same data directory and port (what a reboot does)."""
        assert self._workdir is not None, "the server was never started"
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            process.wait(SHUTDOWN_TIMEOUT_SECONDS)
        if not self._spawn(self._workdir / "data", port=self.port):
            raise RuntimeError(f"postgres could not bind its port {self.port} again")

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- administration --------------------------------------------------------------------------
    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` with ``psql`` and return its unaligned output."""
        result = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                f"host={self.host} port={self.port} user={self.user} dbname={database}",
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            env=self._env(),
        )
        return result.stdout.decode()

    def create_database(self, name: str) -> str:
        """Create database ``name`` (dropped first if it exists); returns its URL."""
        if not name.replace("_", "").isalnum():
            raise ValueError(f"database name must be letters, digits and underscores: {name!r}")
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    # -- internals -------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env["LC_ALL"] = "C"
        if self._account is not None:
            env.update(HOME=self._account.pw_dir, USER=self._account.pw_name, LOGNAME=self._account.pw_name)
        return env

    def _as_owner(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"env": self._env()}
        if self._account is not None:
            kwargs.update(user=self._account.pw_uid, group=self._account.pw_gid, extra_groups=[])
        return kwargs

    def _own(self, path: Path) -> None:
        if self._account is not None:
            os.chown(path, self._account.pw_uid, self._account.pw_gid)

    def _run_as_owner(self, argv: list[str]) -> None:
        result = subprocess.run(argv, capture_output=True, cwd=self._workdir, **self._as_owner())
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}): {result.stderr.decode()[-2000:]}")

    def _spawn(self, data: Path, port: int | None = None) -> bool:
        """Start ``postgres`` on ``port`` (default: a free one); False when another process has the port."""
        assert self._workdir is not None
        self.port = port or free_port(self.host)
        log = (self._workdir / "postgres.log").open("ab")
        # fsync off: a test cluster is thrown away, durability buys nothing here.
        self._process = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(data),
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-k",
                "",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self._workdir,
            start_new_session=True,
            **self._as_owner(),
        )
        log.close()
        try:
            self._wait_until_ready()
        except _PortTaken:
            self._process = None
            return False
        return True

    def _wait_until_ready(self) -> None:
        assert self._process is not None and self._workdir is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            if self._process.poll() is not None:
                log = (self._workdir / "postgres.log").read_text(errors="replace")
                if "could not bind" in log or "Address already in use" in log:
                    raise _PortTaken(log)
                raise RuntimeError(f"postgres exited with {self._process.returncode}: {log[-2000:]}")
            ready = subprocess.run(
                [str(self.bindir / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port)],
                env=self._env(),
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not accept connections within {STARTUP_TIMEOUT_SECONDS}s")
            time.sleep(0.1)


def _stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to a child we started, wait for it, and SIGKILL it if it lingers."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(SHUTDOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """
    Debian's ``redis-server`` on loopback, started and stopped by this object; nothing persisted.

    :param host: the address to listen on.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError("Redis is not installed: run `make system-deps` (installs redis-server)")
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def url(self, database: int = 0) -> str:
        """``redis://host:port/database``."""
        return f"redis://{self.host}:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def start(self) -> RedisServer:
        """Start on a free port; returns ``self`` once the server answers ``PING``."""
        if self._process is not None:
            return self
        self._workdir = Path(tempfile.mkdtemp(prefix="canvas-redis-"))
        try:
            if not any(self._spawn() for _ in range(3)):
                raise RuntimeError("redis-server lost its port to another process three times")
        except BaseException:
            self.stop()
            raise
        return self

    def restart(self) -> None:
        """Stop and start again on the same port: an empty server, as after a crash without persistence."""
        process, self._process = self._process, None
        if process is not None:
            _stop_process(process)
        if not self._spawn(port=self.port):
            raise RuntimeError(f"redis-server could not bind its port {self.port} again")

    def stop(self) -> None:
        """SIGTERM the server by its pid, then remove its directory."""
        process, self._process = self._process, None
        if process is not None:
            _stop_process(process)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def command(self, *args: str) -> bytes:
        """Send one command (RESP) and return the raw first reply line."""
        payload = f"*{len(args)}\r\n".encode() + b"".join(
            f"${len(a.encode())}\r\n".encode() + a.encode() + b"\r\n" for a in args
        )
        with socket.create_connection((self.host, self.port), timeout=5) as sock:
            sock.sendall(payload)
            return sock.makefile("rb").readline().rstrip(b"\r\n")

    def _spawn(self, port: int | None = None) -> bool:
        assert self._workdir is not None
        self.port = port or free_port(self.host)
        log_path = self._workdir / "redis.log"
        with log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    self.binary,
                    "--bind",
                    self.host,
                    "--port",
                    str(self.port),
                    "--dir",
                    str(self._workdir),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--protected-mode",
                    "yes",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                start_new_session=True,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            if self._process.poll() is not None:
                text = log_path.read_text(errors="replace")
                self._process = None
                if "Address already in use" in text:
                    return False
                raise RuntimeError(f"redis-server exited: {text[-2000:]}")
            with contextlib.suppress(OSError):
                if self.command("PING") == b"+PONG":
                    return True
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer within {STARTUP_TIMEOUT_SECONDS}s")
            time.sleep(0.05)
