"""
Real Airflow processes for the system tests: an isolated AIRFLOW_HOME on SQLite, the Canvas
emulator as a subprocess, and ``airflow scheduler``, ``dag-processor``, ``triggerer`` and
``api-server``, each in its own process group with its own log file.

Every process is started here and stopped here by pid: SIGTERM to the process group we created,
then SIGKILL to that group and to every descendant seen before the stop (the task supervisor puts
each task process in a process group of its own, so a group signal alone would miss it).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

from airflow_provider_canvas_reports.testing.client import EmulatorControl

T = TypeVar("T")

SYSTEM_DIR = Path(__file__).parent
REPO = SYSTEM_DIR.parent.parent
ARTIFACTS = REPO / "test-artifacts"
TOKEN = "system-test-token-7d41"
#: A second teacher's token, for the connection the UI test saves.
UI_TOKEN = "system-test-ui-token-93be"
ADMIN = "admin"
AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
#: The pool the example DAGs' report starts and downloads take a slot of (the how-to says create it).
CANVAS_POOL = {"name": "canvas_api", "slots": 4, "description": "Canvas report starts and downloads"}
#: Courses the example warehouse DAG lands (its ``canvas_courses`` Variable).
WAREHOUSE_COURSES = [{"course_id": 101, "section_ids": [1]}, {"course_id": 102, "section_ids": [1, 2]}]
STARTUP_SECONDS = 120.0


def wait_until(probe: Callable[[], T], *, timeout: float, what: str, interval: float = 0.5) -> T:
    """Call ``probe`` until it returns something truthy and return that; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}; last seen: {last!r}")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- processes ------------------------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """``(ppid, starttime)`` of a live process, from ``/proc/<pid>/stat``; None when gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19])


def process_title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def descendants(root: int) -> dict[int, int]:
    """Every live descendant of ``root``: pid → start time (to tell a reused pid apart)."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _proc_stat(int(entry))) is not None:
            children.setdefault(stat[0], []).append((int(entry), stat[1]))
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for pid, started in children.get(todo.pop(), []):
            if pid not in found:
                found[pid] = started
                todo.append(pid)
    return found


def gone(pid: int, started: int) -> bool:
    """Whether the process that had ``pid`` (started at ``started``) is dead (exited, or a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0] in ("Z", "X") or int(fields[19]) != started


def _kill_if_same(pid: int, started: int, sig: int) -> None:
    stat = _proc_stat(pid)
    if stat is not None and stat[1] == started:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if the test process dies (Linux ``PR_SET_PDEATHSIG``)."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


@dataclass
class ManagedProcess:
    """A subprocess we started in a new session (its pgid is its pid), logging to one file."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path
    popen: subprocess.Popen[bytes] | None = None
    #: Set once stopped or killed: its pid (and group id) may belong to someone else from then on.
    ended: bool = False

    def start(self) -> ManagedProcess:
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
            log.flush()
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # a killed pytest leaves no Airflow behind
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tree(self) -> dict[int, int]:
        """This process and its live descendants: pid → start time."""
        tree = descendants(self.pid)
        if (stat := _proc_stat(self.pid)) is not None:
            tree[self.pid] = stat[1]
        return tree

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> dict[int, int]:
        """SIGKILL the process, its group and every descendant (a crash); return what was killed."""
        if self.popen is None or self.ended or self.popen.poll() is not None:
            self.ended = True
            return {}
        self.ended = True
        tree = self.tree()
        with _suppress_lookup():
            os.killpg(self.pid, signal.SIGKILL)
        for pid, started in tree.items():
            _kill_if_same(pid, started, signal.SIGKILL)
        self.popen.wait(timeout=30)
        return tree

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the group, wait, then SIGKILL what is left of the group and of the tree."""
        if self.popen is None or self.ended:
            return
        self.ended = True
        tree = self.tree() if self.popen.poll() is None else {}
        if self.popen.poll() is None:
            with _suppress_lookup():
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        with _suppress_lookup():
            os.killpg(self.pid, signal.SIGKILL)
        tree.update({pid: started for pid, started in descendants(self.pid).items()})
        for pid, started in tree.items():
            _kill_if_same(pid, started, signal.SIGKILL)
        if self.popen.poll() is None:
            self.popen.wait(timeout=30)


class _suppress_lookup:
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        return exc_type is not None and issubclass(exc_type, (ProcessLookupError, PermissionError))


# --- the REST API ---------------------------------------------------------------------------------


class AirflowApi:
    """The api-server's public REST API (``/api/v2``), authenticated as the simple auth manager's admin."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.session = requests.Session()
        self._token: str | None = None

    def token(self) -> str:
        response = self.session.post(
            f"{self.base_url}/auth/token",
            json={"username": self.username, "password": self.password},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        for attempt in (1, 2):
            if self._token is None:
                self._token = self.token()
            response = self.session.request(
                method,
                f"{self.base_url}{path}",
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=30,
                **kwargs,
            )
            if response.status_code == 401 and attempt == 1:
                self._token = None
                continue
            return response
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} → {response.status_code}: {response.text[:2000]}")
        return response.json()

    def health(self) -> dict[str, Any]:
        return dict(requests.get(f"{self.base_url}/api/v2/monitor/health", timeout=10).json())

    def dag(self, dag_id: str) -> dict[str, Any] | None:
        response = self.request("GET", f"/api/v2/dags/{dag_id}")
        return response.json() if response.status_code == 200 else None

    def import_errors(self) -> list[dict[str, Any]]:
        return list(self.json("GET", "/api/v2/importErrors")["import_errors"])

    def unpause(self, dag_id: str) -> None:
        self.json("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(
        self, dag_id: str, conf: dict[str, Any] | None = None, *, logical_date: str | None = None
    ) -> str:
        body = {"logical_date": logical_date, "conf": conf or {}}
        return str(self.json("POST", f"/api/v2/dags/{dag_id}/dagRuns", json=body)["dag_run_id"])

    def dag_runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.json("GET", f"/api/v2/dags/{dag_id}/dagRuns", params={"limit": 100})["dag_runs"])

    def dag_run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        return dict(self.json("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        data = self.json(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100}
        )
        return list(data["task_instances"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value"
        return self.json("GET", path, params={"map_index": map_index, "deserialize": True})["value"]

    def tries(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> list[dict[str, Any]]:
        """Every try of a task instance, as Airflow recorded it (oldest first)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries"
        data = self.json("GET", path)
        return sorted(data["task_instances"], key=lambda ti: ti["try_number"])

    def clear(self, dag_id: str, run_id: str, task_ids: list[str]) -> list[dict[str, Any]]:
        """Clear these tasks of the run whatever their state, as the UI's Clear does; the run is queued."""
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "only_failed": False,
            "reset_dag_runs": True,
        }
        return list(
            self.json("POST", f"/api/v2/dags/{dag_id}/clearTaskInstances", json=body)["task_instances"]
        )

    def set_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> dict[str, Any]:
        """Mark a task instance ``failed``/``success`` as the UI does (a running task is killed)."""
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        return dict(self.json("PATCH", path, json={"new_state": state}))

    def event_logs(self, dag_id: str, event: str) -> list[dict[str, Any]]:
        data = self.json("GET", "/api/v2/eventLogs", params={"dag_id": dag_id, "event": event, "limit": 100})
        return list(data["event_logs"])


def ti_label(ti: dict[str, Any]) -> str:
    index = ti.get("map_index", -1)
    return ti["task_id"] if index is None or index < 0 else f"{ti['task_id']}[{index}]"


@dataclass
class RunWatch:
    """What polling one DAG run saw: its final state and every state each task instance passed."""

    dag_id: str
    run_id: str
    state: str = ""
    seen: dict[str, list[str]] = field(default_factory=dict)
    final: dict[str, dict[str, Any]] = field(default_factory=dict)

    def record(self, tis: list[dict[str, Any]]) -> None:
        self.final = {}
        for ti in tis:
            label, state = ti_label(ti), str(ti.get("state"))
            history = self.seen.setdefault(label, [])
            if not history or history[-1] != state:
                history.append(state)
            self.final[label] = ti

    def ti(self, label: str) -> dict[str, Any]:
        return self.final.get(label, {})

    def states(self) -> dict[str, str]:
        return {label: str(ti.get("state")) for label, ti in self.final.items()}

    def describe(self) -> str:
        return f"{self.dag_id}/{self.run_id} is {self.state}; task states seen: {self.seen}"


# --- the whole installation ----------------------------------------------------------------------


@dataclass(repr=False)
class AirflowSystem:
    """A running Airflow installation plus the emulator, for one test session."""

    home: Path
    env: dict[str, str]
    api_url: str
    emulator_url: str
    landing_root: Path
    warehouse: Path
    password: str
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    _stopped: list[ManagedProcess] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"AirflowSystem(home={self.home}, api={self.api_url}, emulator={self.emulator_url})"

    @property
    def api(self) -> AirflowApi:
        if not hasattr(self, "_api"):
            self._api = AirflowApi(self.api_url, ADMIN, self.password)
        return self._api

    @property
    def emulator(self) -> EmulatorControl:
        return EmulatorControl(self.emulator_url)

    def log_path(self, name: str) -> Path:
        return self.home / "process-logs" / f"{name}.log"

    def migrate_db(self, timeout: float = 600) -> None:
        """``airflow db migrate`` with this system's environment; its output goes to ``db-migrate.log``."""
        migrate = subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.log_path("db-migrate").write_text(migrate.stdout + migrate.stderr)
        if migrate.returncode != 0:
            raise AssertionError(f"airflow db migrate failed:\n{migrate.stdout}\n{migrate.stderr}")

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> ManagedProcess:
        process = ManagedProcess(name, argv, env or self.env, self.log_path(name), self.home).start()
        self.processes[name] = process
        return process

    def airflow(self, name: str, *args: str) -> ManagedProcess:
        return self.spawn(name, [sys.executable, "-m", "airflow", *args])

    def stop_all(self) -> None:
        """Stop every process started (Airflow first, the emulator last), each by its own pid."""
        order = sorted(self.processes.values(), key=lambda p: p.name == "emulator")
        for process in [*order, *self._stopped]:
            try:
                process.stop()
            except Exception as exc:  # keep stopping the others
                print(f"stopping {process.name} (pid {process.pid}) failed: {exc}", file=sys.stderr)

    # --- health ---

    def component_healthy(self, component: str, since: float | None = None) -> bool:
        """Whether the health endpoint calls ``component`` healthy (with a heartbeat after ``since``)."""
        try:
            health = self.api.health()
        except requests.RequestException:
            return False
        entry = health.get(component) or {}
        if entry.get("status") != "healthy":
            return False
        if since is None:
            return True
        beat = next((v for k, v in entry.items() if k.endswith("heartbeat") and v), None)
        if beat is None:
            return False
        from datetime import datetime

        return datetime.fromisoformat(beat).timestamp() > since

    def wait_healthy(self, components: tuple[str, ...], since: float | None = None) -> None:
        def probe() -> bool:
            for process in self.processes.values():
                if not process.alive():
                    raise AssertionError(
                        f"{process.name} (pid {process.pid}) exited with {process.popen.returncode}; "
                        f"log tail:\n{process.log_text()[-4000:]}"  # type: ignore[union-attr]
                    )
            return all(self.component_healthy(c, since) for c in components)

        wait_until(probe, timeout=STARTUP_SECONDS, what=f"healthy {components}", interval=1.0)

    # --- the triggerer ---

    def start_triggerer(self) -> ManagedProcess:
        return self.airflow("triggerer", "triggerer", "--skip-serve-logs")

    def crash_triggerer(self) -> dict[int, int]:
        """SIGKILL the triggerer and all its processes; return them (pid → start time)."""
        dead = self.processes.pop("triggerer")
        self._stopped.append(dead)
        return dead.kill()

    def triggerer_tree(self) -> dict[int, int]:
        return self.processes["triggerer"].tree()

    def deferral_taken(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> bool:
        """
        Whether the scheduler has taken the exit of the try that deferred. Airflow 3.3 fails a task
        whose deferring process's "success" executor event reaches a busy scheduler only after the
        trigger fired and the task was queued again ("task-state-changed-externally";
        apache/airflow#66374 settled only the ``scheduled`` case, #71580), so a test that lets a
        trigger fire within seconds waits for this first.
        """
        finished = f"TaskInstance Finished: dag_id={dag_id}, task_id={task_id}, run_id={run_id},"
        log = self.log_path("scheduler").read_text(errors="replace")
        return any(
            finished in line and ", state=deferred," in line and f", try_number={try_number}," in line
            for line in log.splitlines()
        )

    # --- DAG runs ---

    def wait_for_dag(self, dag_id: str, timeout: float = 90.0) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            errors = self.api.import_errors()
            if errors:
                raise AssertionError(f"DAG import errors: {json.dumps(errors, indent=1)}")
            return self.api.dag(dag_id)

        return wait_until(probe, timeout=timeout, what=f"DAG {dag_id} to be parsed", interval=1.0)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, **kwargs: Any) -> str:
        self.wait_for_dag(dag_id)
        self.api.unpause(dag_id)
        return self.api.trigger(dag_id, conf, **kwargs)

    def watch(
        self,
        dag_id: str,
        run_id: str,
        *,
        timeout: float,
        until: Callable[[RunWatch], bool] | None = None,
        interval: float = 0.5,
    ) -> RunWatch:
        """Poll the run (and its task instances) until it ends, or until ``until`` holds."""
        watch = RunWatch(dag_id, run_id)
        return self.keep_watching(watch, timeout=timeout, until=until, interval=interval)

    def keep_watching(
        self,
        watch: RunWatch,
        *,
        timeout: float,
        until: Callable[[RunWatch], bool] | None = None,
        interval: float = 0.5,
    ) -> RunWatch:
        def probe() -> bool:
            watch.state = str(self.api.dag_run(watch.dag_id, watch.run_id)["state"])
            watch.record(self.api.task_instances(watch.dag_id, watch.run_id))
            if until is not None:
                if watch.state in ("success", "failed"):
                    raise AssertionError(f"the run ended before the awaited moment: {watch.describe()}")
                return until(watch)
            return watch.state in ("success", "failed")

        try:
            wait_until(probe, timeout=timeout, what="the DAG run", interval=interval)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{watch.describe()}") from None
        return watch

    def trigger_logs(
        self, watch: RunWatch, task_id: str, map_index: int = -1
    ) -> dict[Path, list[dict[str, Any]]]:
        """The log files the triggerer wrote for a task instance (one per triggerer job), parsed."""
        folder = (
            self.home / "logs" / f"dag_id={watch.dag_id}" / f"run_id={watch.run_id}" / f"task_id={task_id}"
        )
        if map_index >= 0:
            folder = folder / f"map_index={map_index}"
        return {
            path: [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]
            for path in sorted(folder.glob("attempt=*.log.trigger.*.log"))
        }


def _wait_for_emulator(process: ManagedProcess) -> str:
    def probe() -> str | None:
        if not process.alive():
            raise AssertionError(f"the emulator exited:\n{process.log_text()}")
        found = re.search(r"canvas emulator listening on (http://127\.0\.0\.1:\d+)", process.log_text())
        return found.group(1) if found else None

    return wait_until(probe, timeout=30, what="the emulator to listen", interval=0.2)


def clean_env() -> dict[str, str]:
    """Our environment without anything Airflow or pytest set (the unit tests' conftest sets some)."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PYTEST", "_AIRFLOW")) and key != "PYTHONPATH"
    }


def build_env(home: Path, api_port: int, emulator_url: str, password_file: Path) -> dict[str, str]:
    """The environment of every Airflow process (nothing Airflow-related is inherited from ours)."""
    from cryptography.fernet import Fernet

    inherited = clean_env()
    api_url = f"http://127.0.0.1:{api_port}"
    landing = home / "landing"
    canvas = {
        "conn_type": "canvas",
        "host": emulator_url,
        "password": TOKEN,
        "extra": {
            "retry_backoff_seconds": 0.05,
            "retry_backoff_max_seconds": 0.2,
            "rate_limit_max_pause_seconds": 0.2,
        },
    }
    return {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(REPO),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__AUTH_MANAGER": AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__API__BASE_URL": api_url,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # The UI's Test button on the connection form (off by default since Airflow 2.7).
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        # Runs start only when a test triggers one: no scheduled run of the @daily example.
        "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_STORAGE_PATH": str(home / "bundles"),
        "AIRFLOW_CONN_CANVAS_DEFAULT": json.dumps(canvas),
        "AIRFLOW_CONN_CANVAS_WAREHOUSE": json.dumps(
            {"conn_type": "sqlite", "host": str(home / "warehouse.db")}
        ),
        "AIRFLOW_VAR_CANVAS_LANDING_ROOT": str(landing),
        "AIRFLOW_VAR_CANVAS_COURSES": json.dumps(WAREHOUSE_COURSES),
    }


def prepare_home(home: Path, dag_folders: dict[str, Path]) -> tuple[str, Path]:
    """
    Make an Airflow home's folders (process logs, landing, and ``dags`` linking ``dag_folders``
    by name) and the admin's password file: ``(password, password file)``.
    """
    (home / "process-logs").mkdir(parents=True)
    dags = home / "dags"
    dags.mkdir()
    for name, folder in dag_folders.items():
        (dags / name).symlink_to(folder)
    (home / "landing").mkdir()
    password = secrets.token_urlsafe(12)
    password_file = home / "passwords.json"
    password_file.write_text(json.dumps({ADMIN: password}))
    return password, password_file


def start_system(home: Path) -> AirflowSystem:
    """Migrate the database and start the emulator and the four Airflow processes; wait for health."""
    password, password_file = prepare_home(
        home, {"examples": REPO / "example_dags", "system": SYSTEM_DIR / "dags"}
    )

    api_port = free_port()
    system = AirflowSystem(
        home=home,
        env={},
        api_url=f"http://127.0.0.1:{api_port}",
        emulator_url="",
        landing_root=home / "landing",
        warehouse=home / "warehouse.db",
        password=password,
    )
    try:
        emulator = system.spawn(
            "emulator",
            [
                sys.executable,
                "-m",
                "airflow_provider_canvas_reports.testing",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--storage-port",
                "0",
                "--token",
                TOKEN,
                "--token",
                UI_TOKEN,
            ],
            env={**clean_env(), "PYTHONUNBUFFERED": "1"},
        )
        system.emulator_url = _wait_for_emulator(emulator)
        system.env = build_env(home, api_port, system.emulator_url, password_file)
        system.migrate_db()
        system.airflow("api-server", "api-server", "--host", "127.0.0.1", "--port", str(api_port))
        system.airflow("scheduler", "scheduler", "--skip-serve-logs")
        system.airflow("dag-processor", "dag-processor")
        system.start_triggerer()
        system.wait_healthy(("metadatabase", "scheduler", "triggerer", "dag_processor"))
        system.api.json("POST", "/api/v2/pools", json=CANVAS_POOL)
    except BaseException:
        system.stop_all()
        raise
    return system


def tcp_connections_to(port: int, pids: set[int] | dict[int, int]) -> list[tuple[int, str]]:
    """Established IPv4 TCP connections from any of ``pids`` to 127.0.0.1:``port``: (pid, local address)."""
    wanted = f"0100007F:{port:04X}"
    inodes: dict[str, str] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[2] == wanted and parts[3] == "01":  # remote address, state ESTABLISHED
            inodes[parts[9]] = parts[1]
    found = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                found.append((pid, inodes[target[8:-1]]))
    return found


def report_path(course_id: int, report_id: int | None = None) -> str:
    base = f"/api/v1/courses/{course_id}/reports/course_pace_docx"
    return base if report_id is None else f"{base}/{report_id}"


def status_gets(emulator: EmulatorControl, course_id: int, report_id: int) -> int:
    """GETs of one report's status the emulator answered (any status)."""
    path = report_path(course_id, report_id)
    return sum(1 for r in emulator.requests() if r.method == "GET" and r.path == path)


def emulator_port(system: AirflowSystem) -> int:
    return int(system.emulator_url.rsplit(":", 1)[1])
