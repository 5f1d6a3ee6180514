"""
The provider on Airflow deployed the way teams run it at scale (:mod:`tests.system.distributed`):
PostgreSQL, Redis, a Celery worker and two triggerers, surviving the loss of any one of them.

Every test runs ``canvas_system_fan_out`` (tests/system/dags) over its own courses, holds their
reports running in the emulator while it checks or breaks something, and proves the outcome by
what the emulator received, what the metadata database holds and what landed on disk.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.system.cluster import RunWatch, gone, process_title, report_path, wait_until
from tests.system.distributed import TRIGGERER_CAPACITY

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.client import EmulatorControl
    from tests.system.distributed import CeleryCluster

pytestmark = pytest.mark.cluster

DAG_ID = "canvas_system_fan_out"
MiB = 1 << 20


def all_deferred(count: int) -> Any:
    def check(watch: RunWatch) -> bool:
        waits = [watch.ti(f"land.wait[{i}]").get("state") for i in range(count)]
        return waits == ["deferred"] * count

    return check


def returned(cluster: CeleryCluster, run_id: str, task_id: str) -> dict[int, Any]:
    """The return values (XCom) of a mapped task: map index → value, from the metadata database."""
    rows = cluster.sql(
        "SELECT map_index, value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = %s "
        "AND key = 'return_value'",
        DAG_ID,
        run_id,
        task_id,
    )
    return {int(index): value if not isinstance(value, str) else json.loads(value) for index, value in rows}


def report_ids(cluster: CeleryCluster, run_id: str, count: int) -> list[int]:
    def all_started() -> dict[int, Any] | None:
        ids = returned(cluster, run_id, "land.start")
        return ids if len(ids) == count else None

    found = wait_until(all_started, timeout=30, what="every start task's report id")
    return [int(found[i]) for i in range(count)]


def status_polls(emulator: EmulatorControl, courses: list[int], reports: list[int]) -> list[int]:
    """How many status GETs each report got (one recording fetched for all)."""
    counts = collections.Counter(r.path for r in emulator.requests() if r.method == "GET")
    return [counts[report_path(c, r)] for c, r in zip(courses, reports, strict=True)]


def wait_polled_after(
    emulator: EmulatorControl, courses: list[int], reports: list[int], before: list[int], what: str
) -> None:
    """Wait until every report got more status GETs than ``before`` (a trigger is polling it)."""
    wait_until(
        lambda: all(n > b for n, b in zip(status_polls(emulator, courses, reports), before, strict=True)),
        timeout=90,
        what=what,
    )


def assert_all_landed_once(
    cluster: CeleryCluster,
    emulator: EmulatorControl,
    watch: RunWatch,
    courses: list[int],
    reports: list[int],
    label: str,
) -> None:
    """The run succeeded with every task on its first try, one POST and one download per report."""
    assert watch.state == "success", watch.describe()
    assert set(watch.states().values()) == {"success"}, watch.describe()
    tries = {name: ti["try_number"] for name, ti in watch.final.items()}
    assert set(tries.values()) == {1}, tries
    assert {c: emulator.post_count(c) for c in courses} == dict.fromkeys(courses, 1)
    storage_gets = collections.Counter(r.path for r in emulator.requests() if r.server == "storage")
    assert len(storage_gets) == len(courses) and set(storage_gets.values()) == {1}, storage_gets
    landed = returned(cluster, watch.run_id, "land.download")
    assert sorted(landed) == list(range(len(courses)))
    for index, course_id in enumerate(courses):
        item = landed[index]
        assert (int(item["course_id"]), int(item["report_id"])) == (course_id, reports[index])
        path = cluster.landing_root / label / str(index) / item["filename"]
        data = path.read_bytes()
        assert len(data) == item["size"] == emulator.report_json(reports[index])["attachment"]["size"]
        assert hashlib.sha256(data).hexdigest() == item["sha256"]


def fired_events(cluster: CeleryCluster, watch: RunWatch, count: int) -> dict[int, dict[Path, int]]:
    """
    Per map index of ``land.wait``: each trigger log file → how many events its trigger fired.

    Called once every wait has resumed, so each has fired; but a triggerer writes its log lines
    after it hands the event to Airflow, so this reads until each index shows its event (bounded).
    """

    def read() -> dict[int, dict[Path, int]]:
        fired = {}
        for index in range(count):
            logs = cluster.trigger_logs(watch, "land.wait", map_index=index)
            fired[index] = {
                path: sum(1 for line in lines if line.get("event") == "Trigger fired event")
                for path, lines in logs.items()
            }
        return fired

    def complete() -> dict[int, dict[Path, int]] | None:
        fired = read()
        return fired if all(sum(logs.values()) for logs in fired.values()) else None

    try:
        return wait_until(complete, timeout=60, what="every trigger log to show its event")
    except AssertionError:
        return read()  # the callers' assertions say which index is missing its event


def test_twenty_waiting_reports_spread_over_both_triggerers(
    cluster: CeleryCluster, cluster_emulator: EmulatorControl
):
    """
    Twenty mapped courses: every sensor defers, the ``trigger`` table has the twenty triggers
    split over both triggerers (each at its capacity of ten), both poll Canvas, and once the reports
    finish, every file lands with one POST and one download per report.
    """
    emulator = cluster_emulator
    courses = list(range(501, 521))
    for course_id in courses:
        emulator.set_behaviour(course_id, hold=True)
    run_id = cluster.trigger(DAG_ID, {"courses": courses, "label": "spread"})
    watch = cluster.watch(DAG_ID, run_id, timeout=400, until=all_deferred(len(courses)), interval=2)
    reports = report_ids(cluster, run_id, len(courses))

    def assigned() -> dict[int, int | None] | None:
        triggers = cluster.triggers_of(DAG_ID, run_id, "land.wait")
        return triggers if len(triggers) == len(courses) and None not in triggers.values() else None

    triggers = wait_until(assigned, timeout=60, what="every trigger assigned")
    per_triggerer = collections.Counter(triggers.values())
    assert per_triggerer == dict.fromkeys(cluster.triggerer_jobs.values(), TRIGGERER_CAPACITY)
    wait_polled_after(emulator, courses, reports, [1] * len(courses), "every trigger to poll its report")

    for report_id in reports:
        emulator.finish_report(report_id)
    cluster.keep_watching(watch, timeout=400, interval=2)

    assert_all_landed_once(cluster, emulator, watch, courses, reports, "spread")
    # Once triggers fire and free capacity, a triggerer may adopt one from the other if that one
    # misses a heartbeat on a busy machine, and both may fire it: Airflow allows that, and the
    # checks above show no task ran twice. Each wait fired at least once.
    fired = fired_events(cluster, watch, len(courses))
    assert all(sum(logs.values()) >= 1 for logs in fired.values()), fired
    writers = {path.name.rsplit(".", 2)[-2] for logs in fired.values() for path in logs}
    assert writers == {str(job) for job in cluster.triggerer_jobs.values()}, "both triggerers ran triggers"


def test_triggerer_killed_while_its_triggers_wait_is_replaced_by_the_other(
    cluster: CeleryCluster, cluster_emulator: EmulatorControl
):
    """
    SIGKILL the triggerer holding the most triggers while they wait; once its heartbeat is older
    than ``triggerer_health_check_threshold`` the other one adopts them and polls on. Every run
    succeeds with no task retried, one POST per report, and one fired event per wait.
    """
    emulator = cluster_emulator
    courses = list(range(601, 607))
    for course_id in courses:
        emulator.set_behaviour(course_id, hold=True)
    run_id = cluster.trigger(DAG_ID, {"courses": courses, "label": "failover"})
    watch = cluster.watch(DAG_ID, run_id, timeout=300, until=all_deferred(len(courses)), interval=1)
    reports = report_ids(cluster, run_id, len(courses))
    wait_polled_after(emulator, courses, reports, [1] * len(courses), "every trigger to poll its report")
    triggers = cluster.triggers_of(DAG_ID, run_id, "land.wait")
    by_job = collections.Counter(triggers.values())
    jobs = {job: name for name, job in cluster.triggerer_jobs.items()}
    victim_job, held = by_job.most_common(1)[0]
    assert victim_job in jobs and held >= len(courses) / 2, (triggers, jobs)
    victim = jobs[victim_job]
    survivor_job = next(job for job in jobs if job != victim_job)

    killed = cluster.crash(victim)
    killed_at = time.monotonic()
    wait_until(lambda: all(gone(*p) for p in killed.items()), timeout=10, what=f"{victim} to die")
    polls_at_kill = status_polls(emulator, courses, reports)
    wait_until(
        lambda: set(cluster.triggers_of(DAG_ID, run_id, "land.wait").values()) == {survivor_job},
        timeout=120,
        interval=0.5,
        what="the surviving triggerer to adopt every trigger",
    )
    adopted_after = time.monotonic() - killed_at
    wait_polled_after(emulator, courses, reports, polls_at_kill, "the survivor to poll every report")
    polled_after = time.monotonic() - killed_at
    print(f"\nfailover: {held} triggers adopted in {adopted_after:.1f} s, polled in {polled_after:.1f} s")
    cluster.keep_watching(watch, timeout=10, until=all_deferred(len(courses)))  # nothing failed meanwhile

    for report_id in reports:
        emulator.finish_report(report_id)
    cluster.keep_watching(watch, timeout=300, interval=1)
    cluster.start_triggerer_named(victim)  # back to two triggerers for the next tests

    assert_all_landed_once(cluster, emulator, watch, courses, reports, "failover")
    fired = fired_events(cluster, watch, len(courses))
    assert all(sum(logs.values()) == 1 for logs in fired.values()), fired
    for index, logs in fired.items():
        fired_by = {path.name.rsplit(".", 2)[-2] for path, n in logs.items() if n}
        assert fired_by == {str(survivor_job)}, (index, logs)


def test_frozen_triggerer_thawed_after_its_triggers_moved_fires_nothing_twice(
    cluster: CeleryCluster, cluster_emulator: EmulatorControl
):
    """
    SIGSTOP the triggerer holding the most triggers (a frozen machine): it stops heartbeating and
    the other adopts its triggers, which fire once the reports finish, and the run completes. Then
    SIGCONT it: its trigger runner wakes up still running the old triggers, polls the finished
    reports and may fire again before it learns they moved. Nothing reaches a task twice: no
    retry, one POST and one download per report.
    """
    emulator = cluster_emulator
    courses = list(range(651, 655))
    for course_id in courses:
        emulator.set_behaviour(course_id, hold=True)
    run_id = cluster.trigger(DAG_ID, {"courses": courses, "label": "frozen"})
    watch = cluster.watch(DAG_ID, run_id, timeout=300, until=all_deferred(len(courses)), interval=1)
    reports = report_ids(cluster, run_id, len(courses))
    wait_polled_after(emulator, courses, reports, [1] * len(courses), "every trigger to poll its report")
    triggers = cluster.triggers_of(DAG_ID, run_id, "land.wait")
    jobs = {job: name for name, job in cluster.triggerer_jobs.items()}
    victim_job = collections.Counter(triggers.values()).most_common(1)[0][0]
    assert victim_job in jobs, (triggers, jobs)
    victim = jobs[victim_job]
    survivor_job = next(job for job in jobs if job != victim_job)
    moved = [index for index, job in triggers.items() if job == victim_job]

    frozen = cluster.signal_tree(victim, signal.SIGSTOP)
    try:
        polls_at_freeze = status_polls(emulator, courses, reports)
        wait_until(
            lambda: set(cluster.triggers_of(DAG_ID, run_id, "land.wait").values()) == {survivor_job},
            timeout=120,
            what="the other triggerer to adopt the frozen one's triggers",
        )
        wait_polled_after(emulator, courses, reports, polls_at_freeze, "the survivor to poll every report")
        for report_id in reports:
            emulator.finish_report(report_id)
        cluster.keep_watching(watch, timeout=300, interval=1)
    finally:
        for pid, started in frozen.items():
            if not gone(pid, started):
                os.kill(pid, signal.SIGCONT)

    def heartbeat_after(moment: Any) -> Any:
        rows = cluster.sql("SELECT latest_heartbeat FROM job WHERE id = %s", victim_job)
        return rows[0][0] if rows[0][0] > moment else None

    # Two heartbeats after the thaw: the triggerer went through its loop (syncing its triggers and
    # handing in whatever they fired) at least once.
    thawed_at = cluster.sql("SELECT now()")[0][0]
    first = wait_until(lambda: heartbeat_after(thawed_at), timeout=60, what=f"{victim} to heartbeat")
    wait_until(lambda: heartbeat_after(first), timeout=60, what=f"{victim} to heartbeat again")
    watch = cluster.watch(DAG_ID, run_id, timeout=30)

    assert_all_landed_once(cluster, emulator, watch, courses, reports, "frozen")
    fired = fired_events(cluster, watch, len(courses))
    by_survivor = {
        index: sum(n for path, n in logs.items() if path.name.endswith(f".{survivor_job}.log"))
        for index, logs in fired.items()
    }
    assert by_survivor == dict.fromkeys(range(len(courses)), 1), fired
    late = {index: sum(fired[index].values()) - 1 for index in moved}
    print(f"\nfrozen triggerer: {len(moved)} triggers moved; events it fired after thawing: {late}")


def test_worker_killed_mid_download_is_retried_by_a_new_worker(
    cluster: CeleryCluster, cluster_emulator: EmulatorControl
):
    """
    The storage sends the first 8 MiB of a 48 MiB file and stalls; once the download's hidden part
    file holds (nearly all of) those 8 MiB, SIGKILL the Celery worker (its pool and task processes
    too). Nothing is ever visible under the file's name until a new worker's retry, after the
    heartbeat timeout, lands the whole file and removes the killed try's part file; the report is
    started once.
    """
    emulator = cluster_emulator
    course_id, size, stall_at = 701, 48 * MiB, 8 * MiB
    emulator.set_behaviour(course_id, file_size=size)
    emulator.add_fault(kind="stall", server="storage", course_id=course_id, truncate_at=stall_at, delay=900)
    run_id = cluster.trigger(DAG_ID, {"courses": [course_id], "label": "worker-loss"})
    folder = cluster.landing_root / "worker-loss" / "0"

    def visible() -> list[str]:
        names = [p.name for p in folder.iterdir()] if folder.exists() else []
        return sorted(name for name in names if not name.startswith("."))

    def stalled_part() -> list[Path]:
        """The part file, once it holds more than the stalled prefix less one read (1 MiB)."""
        assert visible() == [], visible()
        parts = sorted(folder.glob(".*.part")) if folder.exists() else []
        return [p for p in parts if stall_at - MiB < p.stat().st_size <= stall_at]

    part = wait_until(stalled_part, timeout=300, what="the download to hold the first 8 MiB")[0]
    storage = [r for r in emulator.requests() if r.server == "storage"]
    assert [r.status for r in storage] == [200], "the storage is mid-answer"
    watch = cluster.watch(DAG_ID, run_id, timeout=30, until=lambda w: bool(w.ti("land.download[0]")))
    download = watch.ti("land.download[0]")
    assert (download["state"], download["try_number"]) == ("running", 1)

    worker_titles = {process_title(pid) for pid in cluster.worker.tree()}
    assert f"airflow worker -- {download['id']}" in worker_titles, worker_titles  # the task process
    killed = cluster.crash(cluster.worker.name)
    wait_until(lambda: all(gone(*p) for p in killed.items()), timeout=10, what="the worker to die")
    assert visible() == [], "nothing under the file's name after the crash"
    killed_at = time.monotonic()
    cluster.start_worker()
    cluster.keep_watching(watch, timeout=300, interval=1)
    print(f"\nworker loss: the retry landed the file {time.monotonic() - killed_at:.1f} s after SIGKILL")

    assert watch.state == "success", watch.describe()
    assert {task: ti["try_number"] for task, ti in watch.final.items()} == {
        "courses": 1,
        "land.start[0]": 1,
        "land.wait[0]": 1,
        "land.download[0]": 2,
    }
    # How each try ended, as Airflow recorded it (a sample of the live state can miss the second
    # or so the task spends up for retry): the killed try failed, the retry landed the file.
    tries = cluster.api.tries(DAG_ID, run_id, "land.download", 0)
    assert [(t["try_number"], t["state"]) for t in tries] == [(1, "failed"), (2, "success")]
    assert emulator.post_count(course_id) == 1
    timeouts = [e for e in cluster.api.event_logs(DAG_ID, "heartbeat timeout") if e["run_id"] == run_id]
    assert [(e["task_id"], e["map_index"], e["try_number"]) for e in timeouts] == [("land.download", 0, 1)]
    landed = returned(cluster, run_id, "land.download")[0]
    data = (folder / landed["filename"]).read_bytes()
    assert len(data) == landed["size"] == size
    assert hashlib.sha256(data).hexdigest() == landed["sha256"]
    assert [r.status for r in emulator.requests() if r.server == "storage"] == [200, 200]
    # SIGKILL left the first try no chance to remove its hidden part file (it never had the file's
    # name); the retry found it unlocked, its writer dead, and removed it: nothing else is left.
    assert not part.exists()
    assert sorted(p.name for p in folder.iterdir()) == [landed["filename"]]


def test_whole_cluster_restarted_while_reports_run(cluster: CeleryCluster, cluster_emulator: EmulatorControl):
    """
    Stop every Airflow process, PostgreSQL and Redis while four sensors wait on running reports,
    then start them all again: the triggers resume polling, and the runs complete with one POST
    and one download per report and no task retried.
    """
    emulator = cluster_emulator
    courses = list(range(801, 805))
    for course_id in courses:
        emulator.set_behaviour(course_id, hold=True)
    run_id = cluster.trigger(DAG_ID, {"courses": courses, "label": "restart"})
    watch = cluster.watch(DAG_ID, run_id, timeout=300, until=all_deferred(len(courses)), interval=1)
    reports = report_ids(cluster, run_id, len(courses))
    wait_polled_after(emulator, courses, reports, [1] * len(courses), "every trigger to poll its report")

    took = cluster.restart_everything()
    polls_at_restart = status_polls(emulator, courses, reports)
    wait_polled_after(emulator, courses, reports, polls_at_restart, "the new triggerers to poll every report")
    print(f"\nrestart: the cluster was back in {took:.1f} s")
    cluster.keep_watching(watch, timeout=10, until=all_deferred(len(courses)))

    for report_id in reports:
        emulator.finish_report(report_id)
    cluster.keep_watching(watch, timeout=300, interval=1)

    assert_all_landed_once(cluster, emulator, watch, courses, reports, "restart")
