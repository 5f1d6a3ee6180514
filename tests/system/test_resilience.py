"""
Crashes, clears and a misbehaving Canvas during real runs: the triggerer dies while a sensor
waits, a user clears a finished run, a worker dies after Canvas made the report, and the API
throttles, fails and cuts connections.

Each test uses its own course of ``canvas_system_round_trip`` (tests/system/dags), whose sensor
polls every second and whose start task may retry once, a second later.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider_canvas_reports.destinations import local_path as path_of
from tests.system.cluster import (
    RunWatch,
    descendants,
    emulator_port,
    gone,
    process_title,
    report_path,
    status_gets,
    tcp_connections_to,
    wait_until,
)

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.client import EmulatorControl
    from tests.system.cluster import AirflowSystem

pytestmark = pytest.mark.system

DAG_ID = "canvas_system_round_trip"


def local_path(uri: str) -> Path:
    return Path(path_of(uri))


def deferred(watch: RunWatch) -> bool:
    return watch.ti("wait").get("state") == "deferred"


def test_deferred_sensor_survives_a_triggerer_crash(system: AirflowSystem, emulator: EmulatorControl):
    """
    SIGKILL the triggerer (its whole process tree) while the sensor waits on a held report; a new
    triggerer takes the trigger over and polls on, and the run ends without a task retry and
    with a single report started.
    """
    course_id = 320
    emulator.set_behaviour(course_id, hold=True)
    run_id = system.trigger(DAG_ID, {"course_id": course_id})
    watch = system.watch(DAG_ID, run_id, timeout=90, until=deferred)
    report_id = system.api.xcom(DAG_ID, run_id, "start")
    wait_until(
        lambda: status_gets(emulator, course_id, report_id) >= 2, timeout=30, what="the trigger's poll"
    )
    port = emulator_port(system)
    wait_until(
        lambda: tcp_connections_to(port, system.triggerer_tree()), timeout=15, what="triggerer → Canvas"
    )

    killed = system.crash_triggerer()
    assert len(killed) >= 2, "the triggerer and its trigger runner"
    wait_until(lambda: all(gone(*p) for p in killed.items()), timeout=10, what="the triggerer to die")
    polls_at_crash = status_gets(emulator, course_id, report_id)
    restarted_at = time.time()
    system.start_triggerer()
    system.wait_healthy(("triggerer",), since=restarted_at)
    wait_until(
        lambda: status_gets(emulator, course_id, report_id) > polls_at_crash,
        timeout=60,
        what="the new triggerer to poll the report",
    )
    assert tcp_connections_to(port, system.triggerer_tree()), "the new triggerer should be polling Canvas"
    system.keep_watching(watch, timeout=10, until=deferred)  # still waiting: nothing failed meanwhile
    wait_until(
        lambda: system.deferral_taken(DAG_ID, run_id, "wait"),
        timeout=60,
        what="the scheduler to take the deferral",
    )

    emulator.finish_report(report_id)
    system.keep_watching(watch, timeout=90)

    assert watch.state == "success", watch.describe()
    assert {task: watch.ti(task)["try_number"] for task in ("start", "wait", "download")} == {
        "start": 1,
        "wait": 1,
        "download": 1,
    }
    assert emulator.post_count(course_id) == 1
    assert len(system.trigger_logs(watch, "wait")) == 2, "one trigger log per triggerer job"


def test_clearing_a_finished_run_starts_a_fresh_report(system: AirflowSystem, emulator: EmulatorControl):
    """
    Clearing the tasks of a run that succeeded runs them again from scratch, as Airflow means a
    clear: the start task posts a new report instead of reattaching to the one it stored (the
    state store keeps that id past the run's end; the clear's generation tells it apart), and the
    download lands the new report's file. Only a retry reattaches (the test below).
    """
    course_id = 335
    emulator.set_behaviour(course_id, created_seconds=0, running_seconds=0)
    run_id = system.trigger(DAG_ID, {"course_id": course_id})
    watch = system.watch(DAG_ID, run_id, timeout=120)
    assert watch.state == "success", watch.describe()
    first = system.api.xcom(DAG_ID, run_id, "start")
    assert emulator.post_count(course_id) == 1

    cleared = system.api.clear(DAG_ID, run_id, ["start", "wait", "download"])
    assert sorted(ti["task_id"] for ti in cleared) == ["download", "start", "wait"]
    watch = system.watch(DAG_ID, run_id, timeout=120)

    assert watch.state == "success", watch.describe()
    second = system.api.xcom(DAG_ID, run_id, "start")
    assert second != first
    assert emulator.post_count(course_id) == 2
    landed = system.api.xcom(DAG_ID, run_id, "download")
    assert landed["report_id"] == second
    data = local_path(landed["uri"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == landed["sha256"]
    assert len(data) == emulator.report_json(second)["attachment"]["size"]


def test_start_retry_reattaches_after_the_worker_dies_mid_post(
    system: AirflowSystem, emulator: EmulatorControl
):
    """
    The worker dies after Canvas made the report but before its answer arrived.

    The emulator creates the report on the POST and then holds the answer for a minute
    (``delay_response_after_action``). Meanwhile we SIGKILL that task's LocalExecutor worker (the
    supervisor, ``airflow worker -- LocalExecutor: <ti id>``) and its task process (``airflow worker
    -- <ti id>``), found by the task instance id among the scheduler's descendants: a crash, so no
    one reports the try's end. The scheduler notices the missing heartbeats (timeout 20 s here),
    fails try 1 and retries; try 2 has no stored report id (the POST never returned), so it looks up
    the course's last report, finds it running with the same parameters and reattaches to it.
    """
    course_id = 330
    emulator.set_behaviour(course_id, hold=True)
    emulator.add_fault(kind="delay_response_after_action", method="POST", course_id=course_id, delay=60)
    run_id = system.trigger(DAG_ID, {"course_id": course_id})
    wait_until(lambda: emulator.post_count(course_id) == 1, timeout=90, what="the POST to reach Canvas")
    watch = system.watch(DAG_ID, run_id, timeout=30, until=lambda w: w.ti("start").get("state") == "running")
    ti = watch.ti("start")
    assert ti["try_number"] == 1

    worker = descendants(system.processes["scheduler"].pid)
    victims = {pid: started for pid, started in worker.items() if ti["id"] in process_title(pid)}
    titles = sorted(process_title(pid) for pid in victims)
    assert titles == [f"airflow worker -- {ti['id']}", f"airflow worker -- LocalExecutor: {ti['id']}"], titles
    assert ti["pid"] in victims
    for pid in victims:
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: all(gone(*p) for p in victims.items()), timeout=10, what="the worker to die")

    system.keep_watching(
        watch, timeout=90, until=lambda w: w.ti("start").get("try_number") == 2 and deferred(w)
    )
    report_id = system.api.xcom(DAG_ID, run_id, "start")
    wait_until(
        lambda: system.deferral_taken(DAG_ID, run_id, "wait"),
        timeout=60,
        what="the scheduler to take the deferral",
    )
    emulator.finish_report(report_id)
    system.keep_watching(watch, timeout=90)

    assert watch.state == "success", watch.describe()
    assert watch.ti("start")["try_number"] == 2
    # How each try ended, as Airflow recorded it (a sample of the live state can miss the moment
    # the task is up for retry).
    tries = system.api.tries(DAG_ID, run_id, "start")
    assert [(t["try_number"], t["state"]) for t in tries] == [(1, "failed"), (2, "success")]
    assert emulator.post_count(course_id) == 1
    timeouts = system.api.event_logs(DAG_ID, "heartbeat timeout")
    assert [(e["run_id"], e["task_id"], e["try_number"]) for e in timeouts] == [(run_id, "start", 1)]
    looked_up = [r for r in emulator.requests() if r.method == "GET" and r.path == report_path(course_id)]
    assert len(looked_up) == 1, "try 2 looks up the course's last report once"
    assert emulator.report_json(report_id)["status"] == "complete"


def test_faults_during_a_real_run_end_in_success(system: AirflowSystem, emulator: EmulatorControl):
    """
    Canvas throttles the POST, answers 503 and 403-throttled to the sensor's first check, 502,
    500, 429 and a reset connection to the trigger's polling, and the file storage fails once and
    cuts the download once: each is retried inside the hook (sync and async), so every task
    succeeds on its first try, one report is started and the landed file is whole.
    """
    course_id = 340
    emulator.set_behaviour(course_id, hold=True)
    emulator.add_fault(kind="throttle_429", method="POST", course_id=course_id)
    emulator.add_fault(kind="503", method="GET", course_id=course_id, count=2)
    emulator.add_fault(kind="throttle", method="GET", course_id=course_id)
    run_id = system.trigger(DAG_ID, {"course_id": course_id})
    watch = system.watch(DAG_ID, run_id, timeout=90, until=deferred)
    report_id = system.api.xcom(DAG_ID, run_id, "start")
    status_path = report_path(course_id, report_id)

    for kind in ("502", "500", "throttle_429", "reset"):
        emulator.add_fault(kind=kind, method="GET", course_id=course_id)

    def trigger_got_through() -> list[int]:
        """The trigger's statuses from the first fault on, once a success followed them."""
        polls = [r.status for r in emulator.requests() if r.path == status_path][4:]  # after the sensor's
        faulted = polls[polls.index(502) :] if 502 in polls else []
        return faulted if 200 in faulted else []

    trigger_statuses = wait_until(trigger_got_through, timeout=30, what="the trigger to get past the faults")
    wait_until(
        lambda: system.deferral_taken(DAG_ID, run_id, "wait"),
        timeout=60,
        what="the scheduler to take the deferral",
    )
    emulator.add_fault(kind="500", server="storage", course_id=course_id)
    emulator.add_fault(kind="truncate", server="storage", course_id=course_id)
    emulator.finish_report(report_id)
    system.keep_watching(watch, timeout=90)

    assert watch.state == "success", watch.describe()
    assert {task: ti["try_number"] for task, ti in watch.final.items()} == {
        "start": 1,
        "wait": 1,
        "download": 1,
    }
    assert emulator.post_count(course_id) == 1
    requests = emulator.requests()
    assert [r.status for r in requests if r.method == "POST"] == [429, 200]
    assert [r.status for r in requests if r.path == status_path][:4] == [503, 503, 403, 200]
    assert trigger_statuses[:5] == [502, 500, 429, 0, 200]
    storage = [r.status for r in requests if r.server == "storage"]
    assert storage[0] == 500 and len(storage) >= 3, storage
    trigger_events = [e for lines in system.trigger_logs(watch, "wait").values() for e in lines]
    # 502, 500 and 429 each cost the trigger a logged retry. The reset may not: aiohttp itself sends
    # an idempotent request again, once, when a kept-alive connection turns out to be closed.
    assert sum("retrying" in str(e.get("event")) for e in trigger_events) >= 3

    landed = system.api.xcom(DAG_ID, run_id, "download")
    data = local_path(landed["uri"]).read_bytes()
    assert len(data) == landed["size"] == emulator.report_json(report_id)["attachment"]["size"]
    assert hashlib.sha256(data).hexdigest() == landed["sha256"]
