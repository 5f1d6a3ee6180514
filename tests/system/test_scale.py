"""
Institution scale on the Celery cluster (:mod:`tests.system.distributed`): one DAG run over
hundreds of mapped courses (start → deferrable wait → download) with one token that Canvas's
throttle holds back, and Canvas down for a minute in the middle.

The emulator throttles as canvas-lms does (:mod:`airflow_provider_canvas_reports.testing.throttle`):
each request in flight holds 50 of the token's 600 units for its server time, each answered request
costs its share, and the bucket leaks 10 units a second. Once the first report is started, the
bucket is filled to its maximum, so the calls of the next half minute are refused whatever the
machine's speed. Every report must land with exactly one POST, no task may fail from throttling,
and every task whose try Canvas's outage broke must recover; the test prints what it cost Canvas,
how long it took, and the CPU time the cluster spent on it (the wall time depends on how busy the
machine is; the CPU time much less).
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

from tests.system.cluster import TOKEN, descendants, report_path, wait_until

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.client import EmulatorControl
    from tests.system.distributed import CeleryCluster

pytestmark = pytest.mark.cluster

DAG_ID = "canvas_system_scale"
#: Courses in the run. 24 keeps CI within its time budget on two cores, beside the other CI parts
#: (each mapped task costs Airflow about 1.4 CPU seconds there; the throttle is met by filling the
#: bucket, not by width); ``CANVAS_SCALE_COURSES=300`` runs the institution-scale case (measured
#: in docs/running-at-scale.md).
COURSES = int(os.environ.get("CANVAS_SCALE_COURSES", "24"))
FIRST_COURSE = 3001
#: How long Canvas is down, once a quarter of the reports have landed.
OUTAGE_SECONDS = float(os.environ.get("CANVAS_SCALE_OUTAGE_SECONDS", "60"))
POOL = "canvas_api"
POOL_SLOTS = 6
#: canvas-lms's throttle as the emulator plays it here: each request takes 0.15 s of server time
#: (holding its 50 up-front units meanwhile) and costs 0.5 units once answered.
THROTTLE = {"request_seconds": 0.15, "request_cost": 0.5}


def landed(cluster: CeleryCluster, run_id: str) -> dict[int, Any]:
    """The downloads' return values so far: map index → what landed."""
    rows = cluster.sql(
        "SELECT map_index, value FROM xcom WHERE dag_id = %s AND run_id = %s AND task_id = 'land.download' "
        "AND key = 'return_value'",
        DAG_ID,
        run_id,
    )
    return {int(index): value if not isinstance(value, str) else json.loads(value) for index, value in rows}


def tries(cluster: CeleryCluster, run_id: str) -> dict[str, collections.Counter[int]]:
    """Per task: how many of its mapped instances ended after 1, 2, 3 tries."""
    rows = cluster.sql(
        "SELECT task_id, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s", DAG_ID, run_id
    )
    found: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for task_id, try_number in rows:
        found[task_id][int(try_number)] += 1
    return dict(found)


def failed_tries(cluster: CeleryCluster, run_id: str) -> dict[str, list[str]]:
    """The exception type of every failed try, from the task logs: task and map index → types."""
    folder = cluster.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
    failures: dict[str, list[str]] = {}
    for path in folder.rglob("attempt=*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if '"Task failed with exception"' in line:
                kinds = [e.get("exc_type") for e in json.loads(line).get("error_detail") or []]
                failures.setdefault(str(path.relative_to(folder).parent), []).extend(map(str, kinds))
    return failures


def cpu_seconds(cluster: CeleryCluster) -> float:
    """CPU time the cluster (Airflow, PostgreSQL, Redis, the emulator) used so far, reaped children too."""
    total = 0.0
    roots = [process.pid for process in cluster.processes.values()]
    roots += [server.pid for server in (cluster.postgres, cluster.redis) if server.pid is not None]
    for root in roots:
        for pid in {root, *descendants(root)}:
            try:
                raw = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2 :].split()
            total += sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def take_canvas_down(cluster: CeleryCluster, seconds: float) -> None:
    """Stop the emulator's servers (refused connections on every port), wait, start them on the same ports."""
    emulator = cluster.processes["emulator"]
    os.kill(emulator.pid, signal.SIGUSR1)
    wait_until(lambda: "canvas emulator down" in emulator.log_text(), timeout=30, what="Canvas to go down")
    time.sleep(seconds)  # the outage itself: how long Canvas stays away is the scenario, not a guess
    os.kill(emulator.pid, signal.SIGUSR2)
    wait_until(lambda: "canvas emulator back" in emulator.log_text(), timeout=30, what="Canvas to come back")


def test_hundreds_of_reports_land_through_throttling_and_an_outage(
    cluster: CeleryCluster, cluster_emulator: EmulatorControl
):
    emulator = cluster_emulator
    # Each report runs until the trigger polls it: the sensor's own check sees it running and defers.
    emulator.set_behaviour(None, created_seconds=0.5, hold=True, reads_to_finish=2)
    emulator.set_throttle(**THROTTLE)
    cluster.api.json(
        "POST", "/api/v2/pools", json={"name": POOL, "slots": POOL_SLOTS, "description": "Canvas"}
    )
    courses = list(range(FIRST_COURSE, FIRST_COURSE + COURSES))

    began, cpu_before = time.monotonic(), cpu_seconds(cluster)
    run_id = cluster.trigger(DAG_ID, {"first_course": FIRST_COURSE, "count": COURSES, "label": "scale"})
    wait_until(lambda: emulator.post_count() >= 1, timeout=600, interval=0.5, what="the first report start")
    emulator.set_rate_limit_remaining(TOKEN, -200.0)  # full to its maximum: ~25 s of refusals
    wait_until(
        lambda: len(landed(cluster, run_id)) >= COURSES // 4,
        timeout=3600,
        interval=2,
        what="a quarter of the reports to land",
    )
    down_at = time.monotonic() - began
    take_canvas_down(cluster, OUTAGE_SECONDS)
    watch = cluster.watch(DAG_ID, run_id, timeout=3600, interval=5)
    took, cpu = time.monotonic() - began, cpu_seconds(cluster) - cpu_before

    stats = emulator.stats()
    requests = emulator.requests()
    per_task = tries(cluster, run_id)
    failures = failed_tries(cluster, run_id)
    api = [r for r in requests if r.server == "api"]
    by_kind = collections.Counter(
        "POST" if r.method == "POST" else "status" if "/reports/" in r.path else "file" for r in api
    )
    print(
        f"\nscale: {COURSES} reports in {took:.0f} s wall ({took - OUTAGE_SECONDS:.0f} s without the "
        f"{OUTAGE_SECONDS:.0f} s outage, which began at {down_at:.0f} s): "
        f"{COURSES * 3600 / (took - OUTAGE_SECONDS):.0f} reports/hour on one token; "
        f"{len(api) / COURSES:.2f} API requests per report ({dict(by_kind)}), "
        f"{stats['requests']['storage'] / COURSES:.2f} storage GETs per report, "
        f"{stats['throttled']} answers throttled (403); the cluster used {cpu:.0f} CPU seconds "
        f"({cpu / (COURSES * 3):.2f} per mapped task); tries per task: "
        f"{ {task: dict(counts) for task, counts in per_task.items()} }; failed tries: "
        f"{collections.Counter(kind for kinds in failures.values() for kind in kinds)}"
    )

    assert watch.state == "success", watch.describe()
    assert {c: emulator.post_count(c) for c in courses} == dict.fromkeys(courses, 1)
    assert stats["throttled"] > 0, "the run met the throttle"
    throttled_failures = {ti: kinds for ti, kinds in failures.items() if "CanvasRateLimitError" in kinds}
    assert throttled_failures == {}, "no task try failed from throttling"
    outputs = landed(cluster, run_id)
    assert sorted(outputs) == list(range(COURSES))
    for index, course_id in enumerate(courses):
        item = outputs[index]
        assert (int(item["course_id"]), item["report_type"]) == (course_id, "course_pace_docx")
        data = (cluster.landing_root / "scale" / str(index) / item["filename"]).read_bytes()
        assert len(data) == item["size"] and hashlib.sha256(data).hexdigest() == item["sha256"]
    # Three reads at least: the sensor's check (running: it deferred), the trigger's poll(s), the download's.
    read = collections.Counter(r.path for r in api if r.method == "GET" and r.status == 200)
    assert all(read[report_path(c, outputs[i]["report_id"])] >= 3 for i, c in enumerate(courses))
