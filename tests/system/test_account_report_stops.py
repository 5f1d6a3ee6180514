"""
Account reports in a real installation: a wait that times out in the real triggerer aborts the
report, and a task marked failed in the UI while it waits on the worker aborts it (``on_kill``).
Either way the account's one report queue is freed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from airflow_provider_canvas_reports.testing import Fault
from tests.system.cluster import wait_until

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.client import EmulatorControl
    from tests.system.cluster import AirflowSystem

pytestmark = pytest.mark.system


def report_requests(emulator: EmulatorControl, account_id: int, method: str, suffix: str = "") -> list:
    prefix = f"/api/v1/accounts/{account_id}/reports/grade_export_csv"
    return [
        r
        for r in emulator.requests()
        if r.method == method and r.path.startswith(prefix) and r.path.endswith(suffix)
    ]


def test_a_deferred_wait_that_times_out_in_the_triggerer_aborts_the_report(
    system: AirflowSystem, emulator: EmulatorControl
):
    account_id = 41
    emulator.set_account_behaviour(account_id, created_seconds=0, hold=True)
    # The trigger's first status read waits until the scheduler knows the worker exited after
    # deferring: a trigger that fires sooner can get the task failed by Airflow itself.
    status_reads = f"/accounts/{account_id}/reports/grade_export_csv/"
    emulator.add_fault(Fault("hold", method="GET", path_contains=status_reads, delay=120))
    run_id = system.trigger("canvas_system_account_deferred", {"account_id": account_id})
    wait_until(
        lambda: system.deferral_taken("canvas_system_account_deferred", run_id, "start"),
        timeout=90,
        what="the scheduler to take the deferral",
    )
    emulator.clear_faults()
    watch = system.watch("canvas_system_account_deferred", run_id, timeout=120)

    assert watch.state == "failed", watch.describe()
    assert watch.ti("start")["try_number"] == 1
    assert emulator.account_post_count(account_id) == 1
    assert len(report_requests(emulator, account_id, "POST")) == 1
    (abort,) = report_requests(emulator, account_id, "PUT", "/abort")
    assert abort.status == 200
    report_id = int(abort.path.split("/")[-2])
    assert emulator.report_json(report_id)["status"] == "aborted"
    assert len(system.trigger_logs(watch, "start")) == 1, "the wait ran in the triggerer"


def test_a_task_marked_failed_while_it_waits_on_the_worker_aborts_the_report(
    system: AirflowSystem, emulator: EmulatorControl
):
    account_id = 42
    emulator.set_account_behaviour(account_id, created_seconds=0, hold=True)
    run_id = system.trigger("canvas_system_account_blocking", {"account_id": account_id})
    wait_until(
        lambda: len(report_requests(emulator, account_id, "GET")) >= 2,
        timeout=90,
        what="the worker to poll the report",
    )
    system.api.set_state("canvas_system_account_blocking", run_id, "start", "failed")
    wait_until(
        lambda: report_requests(emulator, account_id, "PUT", "/abort"),
        timeout=60,
        what="on_kill to abort the report",
    )
    (abort,) = report_requests(emulator, account_id, "PUT", "/abort")
    assert abort.status == 200
    report_id = int(abort.path.split("/")[-2])
    assert emulator.report_json(report_id)["status"] == "aborted"
    assert emulator.account_post_count(account_id) == 1
