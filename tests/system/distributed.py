"""
Airflow as teams run it at scale, on loopback: PostgreSQL as the metadata database, Redis as the
Celery broker, the ``CeleryExecutor`` with one ``airflow celery worker``, a ``scheduler``, a
``dag-processor``, an ``api-server`` and **two** ``triggerer`` processes, plus the Canvas emulator in
its own process (see :mod:`tests.system.cluster` for how processes are started and stopped by pid).

PostgreSQL and Redis are :mod:`tests.servers`; the settings below make a lost triggerer or worker
noticed in seconds instead of minutes.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import PostgresServer, RedisServer
from tests.system.cluster import (
    STARTUP_SECONDS,
    SYSTEM_DIR,
    TOKEN,
    AirflowSystem,
    ManagedProcess,
    _wait_for_emulator,
    build_env,
    clean_env,
    free_port,
    gone,
    prepare_home,
    wait_until,
)

#: How many triggers one triggerer runs at once (default 1000): low, so that 20 waiting reports
#: must be spread over both triggerers.
TRIGGERER_CAPACITY = 10
#: Pool processes of the Celery worker (default 16).
WORKER_CONCURRENCY = 4

#: Settings lowered from their production defaults (in the comments) so failures show in seconds.
FAST_FAILURE_DETECTION = {
    # A triggerer writes a heartbeat every 2 s (5 s); one silent for 10 s (30 s) counts as dead and
    # the other triggerer adopts its triggers.
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
    # A running task whose supervisor sent no heartbeat for 20 s (300 s) is failed and retried;
    # the scheduler looks for such tasks every 2 s (10 s).
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
}


def celery_env(base: dict[str, str], postgres: PostgresServer, redis: RedisServer) -> dict[str, str]:
    """The SQLite/LocalExecutor environment of :func:`build_env`, moved to PostgreSQL and Celery."""
    database = postgres.url("airflow", scheme="postgresql+psycopg2")
    return {
        **base,
        **FAST_FAILURE_DETECTION,
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__PARALLELISM": "64",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_POOL_SIZE": "3",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_MAX_OVERFLOW": "5",
        "AIRFLOW__CELERY__BROKER_URL": redis.url(),
        "AIRFLOW__CELERY__RESULT_BACKEND": postgres.url("airflow", scheme="db+postgresql+psycopg2"),
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(WORKER_CONCURRENCY),
        # Sending a task to Redis may take longer than the default 1 s on a busy machine.
        "AIRFLOW__CELERY__OPERATION_TIMEOUT": "15",
        "AIRFLOW__TRIGGERER__CAPACITY": str(TRIGGERER_CAPACITY),
    }


@dataclass(repr=False)
class CeleryCluster(AirflowSystem):
    """An :class:`AirflowSystem` on PostgreSQL + Redis with a Celery worker and two triggerers."""

    postgres: PostgresServer = field(default_factory=PostgresServer)
    redis: RedisServer = field(default_factory=RedisServer)
    #: triggerer process name → the id of its ``TriggererJob`` row (the ``trigger.triggerer_id``).
    triggerer_jobs: dict[str, int] = field(default_factory=dict)
    workers_started: int = 0

    # --- the metadata database ---

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of one read-only query on the metadata database."""
        import psycopg2

        connection = psycopg2.connect(
            host=self.postgres.host, port=self.postgres.port, user=self.postgres.user, dbname="airflow"
        )
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(query, params)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def triggers_of(self, dag_id: str, run_id: str, task_id: str) -> dict[int, int | None]:
        """The triggers the run's deferred ``task_id`` instances wait on: map index → triggerer job id."""
        rows = self.sql(
            "SELECT ti.map_index, t.triggerer_id "
            "FROM task_instance ti JOIN trigger t ON t.id = ti.trigger_id "
            "WHERE ti.dag_id = %s AND ti.run_id = %s AND ti.task_id = %s",
            dag_id,
            run_id,
            task_id,
        )
        return {int(index): triggerer for index, triggerer in rows}

    def triggerer_job_ids(self) -> set[int]:
        return {int(job_id) for (job_id,) in self.sql("SELECT id FROM job WHERE job_type = 'TriggererJob'")}

    # --- processes ---

    def start_triggerer_named(self, name: str) -> ManagedProcess:
        """Start a triggerer and wait for its job row, to know which triggers it holds."""
        known = self.triggerer_job_ids()
        process = self.airflow(name, "triggerer", "--skip-serve-logs")

        def new_job() -> int | None:
            if not process.alive():
                raise AssertionError(f"{name} exited:\n{process.log_text()[-4000:]}")
            fresh = self.triggerer_job_ids() - known
            assert len(fresh) <= 1, f"more than one new triggerer job: {fresh}"
            return fresh.pop() if fresh else None

        self.triggerer_jobs[name] = wait_until(
            new_job, timeout=STARTUP_SECONDS, what=f"{name}'s job row", interval=0.5
        )
        return process

    def start_worker(self) -> ManagedProcess:
        """Start a Celery worker (a new name each time) and wait until it consumes the queue."""
        self.workers_started += 1
        name = f"worker-{self.workers_started}"
        process = self.airflow(
            name,
            "celery",
            "worker",
            "--concurrency",
            str(WORKER_CONCURRENCY),
            "--celery-hostname",
            f"{name}@%h",
            "--pid",
            str(self.home / f"{name}.pid"),
            "--skip-serve-logs",
            "--without-gossip",
            "--without-mingle",
        )

        def ready() -> bool:
            if not process.alive():
                raise AssertionError(f"{name} exited:\n{process.log_text()[-4000:]}")
            return bool(re.search(rf"{name}@\S+ ready\.", process.log_text()))

        wait_until(ready, timeout=STARTUP_SECONDS, what=f"the Celery worker {name} to be ready")
        return process

    @property
    def worker(self) -> ManagedProcess:
        return self.processes[f"worker-{self.workers_started}"]

    def crash(self, name: str) -> dict[int, int]:
        """SIGKILL one process and all its descendants (a lost machine); return them (pid → start time)."""
        dead = self.processes.pop(name)
        self._stopped.append(dead)
        return dead.kill()

    def signal_tree(self, name: str, sig: int) -> dict[int, int]:
        """Send ``sig`` to a process and every descendant (e.g. SIGSTOP: a machine that froze)."""
        tree = self.processes[name].tree()
        for pid, started in tree.items():
            if not gone(pid, started):
                os.kill(pid, sig)
        return tree

    def start_airflow(self) -> None:
        """Start every Airflow process (the database is migrated) and wait until all are healthy."""
        started = time.time()
        port = self.api_url.rsplit(":")[-1]
        self.airflow("api-server", "api-server", "--host", "127.0.0.1", "--port", port)
        self.airflow("scheduler", "scheduler", "--skip-serve-logs")
        self.airflow("dag-processor", "dag-processor")
        self.start_worker()
        # One after the other, so that each new job row belongs to the triggerer just started.
        self.start_triggerer_named("triggerer-a")
        self.start_triggerer_named("triggerer-b")
        self.wait_healthy(("metadatabase",))
        self.wait_healthy(("scheduler", "triggerer", "dag_processor"), since=started)

    def stop_airflow(self) -> None:
        """Stop every Airflow process at once (SIGTERM, then SIGKILL what lingers), each by its own pid."""
        airflow = [self.processes.pop(name) for name in list(self.processes) if name != "emulator"]
        _stop_together(airflow)
        self._stopped.extend(airflow)
        self.triggerer_jobs.clear()

    def restart_everything(self) -> float:
        """Stop Airflow, PostgreSQL and Redis, and start them again; return the seconds it took."""
        began = time.monotonic()
        self.stop_airflow()
        self.redis.restart()
        self.postgres.restart()
        self.start_airflow()
        return time.monotonic() - began

    def stop_all(self) -> None:
        """Stop the Airflow processes together, then the emulator, Redis and PostgreSQL."""
        emulator = self.processes.pop("emulator", None)
        self.stop_airflow()
        _stop_together(self._stopped + ([emulator] if emulator else []))
        for server in (self.redis, self.postgres):
            with contextlib.suppress(Exception):
                server.stop()


def _stop_together(processes: list[ManagedProcess]) -> None:
    """``stop()`` each process in its own thread: their shutdowns overlap instead of adding up."""

    def stop(process: ManagedProcess) -> None:
        try:
            process.stop()
        except Exception as exc:  # keep stopping the others
            print(f"stopping {process.name} (pid {process.pid}) failed: {exc}", file=sys.stderr)

    with ThreadPoolExecutor(max_workers=max(1, len(processes))) as pool:
        list(pool.map(stop, processes))


def start_cluster(home: Path) -> CeleryCluster:
    """Start PostgreSQL, Redis and the emulator, migrate the database, start Airflow; wait for health."""
    password, password_file = prepare_home(home, {"system": SYSTEM_DIR / "dags"})
    api_port = free_port()
    cluster = CeleryCluster(
        home=home,
        env={},
        api_url=f"http://127.0.0.1:{api_port}",
        emulator_url="",
        landing_root=home / "landing",
        warehouse=home / "warehouse.db",
        password=password,
    )
    try:
        cluster.postgres.start()
        cluster.postgres.create_database("airflow")
        cluster.redis.start()
        emulator = cluster.spawn(
            "emulator",
            [sys.executable, "-m", "airflow_provider_canvas_reports.testing", "--token", TOKEN, "--port=0"],
            env={**clean_env(), "PYTHONUNBUFFERED": "1"},
        )
        cluster.emulator_url = _wait_for_emulator(emulator)
        cluster.env = celery_env(
            build_env(home, api_port, cluster.emulator_url, password_file), cluster.postgres, cluster.redis
        )
        cluster.migrate_db()
        cluster.start_airflow()
    except BaseException:
        cluster.stop_all()
        raise
    return cluster
