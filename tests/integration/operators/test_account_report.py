"""Account reports over real HTTP against the emulator: list, start, wait (each mode), land, stop."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from airflow_provider_canvas_reports.exceptions import (
    CanvasInvalidInputError,
    CanvasNotFoundError,
    CanvasReportFailedError,
)
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.operators.account_report import StartAccountReportOperator
from airflow_provider_canvas_reports.targets import AccountReport
from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour
from airflow_provider_canvas_reports.testing.csv_files import HEADERS
from tests.dags import canvas_account_scenarios as scenarios
from tests.helpers import on_status_reads, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

PROVISIONING = {"users": True, "courses": True, "enrollments": True}


def account_requests(emulator, method=None, suffix=""):
    return [
        r
        for r in emulator.requests
        if r.server == "api"
        and r.path.startswith("/api/v1/accounts/")
        and (method is None or r.method == method)
        and r.path.endswith(suffix)
    ]


def test_the_account_lists_its_report_types_with_parameters_and_last_run(emulator):
    hook = CanvasHook()
    listed = {t["report"]: t for t in hook.list_account_reports(1)}
    assert set(listed) == {"provisioning_csv", "sis_export_csv", "grade_export_csv", "last_user_access_csv"}
    assert listed["provisioning_csv"]["last_run"] is None
    assert "users" in listed["provisioning_csv"]["parameters"]
    started = hook.start_account_report(1, "grade_export_csv")
    again = {t["report"]: t for t in hook.list_account_reports("self")}
    assert again["grade_export_csv"]["last_run"]["id"] == started["id"]
    emulator.set_account_report_types(2, ["last_user_access_csv"])
    assert [t["report"] for t in hook.list_account_reports(2)] == ["last_user_access_csv"]


def test_flags_are_sent_as_json_booleans_and_no_email_is_asked_for(emulator):
    report = CanvasHook().start_account_report(
        1,
        "provisioning_csv",
        {"users": "True", "courses": 1, "enrollments": "false", "enrollment_term_id": 12},
    )
    (post,) = account_requests(emulator, "POST")
    import json

    assert json.loads(post.body) == {
        "parameters": {
            "users": True,
            "courses": True,
            "enrollments": False,
            "enrollment_term_id": 12,
            "skip_message": True,
        }
    }
    assert (report["account_id"], report["report_type"], report["status"]) == (
        1,
        "provisioning_csv",
        "created",
    )


def test_an_unknown_type_fails_at_once_naming_the_types_the_account_offers(emulator):
    emulator.set_account_report_types(3, ["grade_export_csv", "provisioning_csv"])
    with pytest.raises(CanvasNotFoundError, match="offers no 'outcome_export_csv' report; it offers: "
                       "grade_export_csv, provisioning_csv"):  # fmt: skip
        CanvasHook().start_account_report(3, "outcome_export_csv")
    assert emulator.account_post_count() == 0  # no report made: Canvas's 404, then one list call
    assert [(r.method, r.status) for r in account_requests(emulator)] == [("POST", 404), ("GET", 200)]


def test_an_unknown_account_says_so(emulator):
    with pytest.raises(CanvasNotFoundError, match="account 5000 was not found"):
        CanvasHook().start_account_report(5000, "grade_export_csv")


@pytest.mark.parametrize(
    "parameters",
    [None, {}, {"users": False, "include_deleted": True}, {"enrollment_term_id": 12}],
    ids=["none", "empty", "all-false", "term-only"],
)
def test_a_provisioning_report_without_any_part_is_refused_before_any_request(emulator, parameters):
    with pytest.raises(CanvasInvalidInputError, match="at least one part set to true"):
        CanvasHook().start_account_report(1, "provisioning_csv", parameters)
    operator = StartAccountReportOperator(
        task_id="start", account_id=1, report_type="sis_export_csv", parameters=parameters
    )
    with pytest.raises(CanvasInvalidInputError):
        operator.execute({})
    assert emulator.requests == []


@pytest.mark.parametrize("bad", [{"users": "maybe"}, {"users": [True]}, {"bad key": True}, "users"])
def test_bad_parameters_are_refused_before_any_request(emulator, bad):
    with pytest.raises(CanvasInvalidInputError):
        CanvasHook().start_account_report(1, "grade_export_csv", bad)
    assert emulator.requests == []


@pytest.mark.parametrize("account_id", [0, -1, "1/2", "sis_account_id:", True, None])
def test_bad_account_ids_are_refused_before_any_request(emulator, account_id):
    with pytest.raises(CanvasInvalidInputError, match="account_id"):
        CanvasHook().start_account_report(account_id, "grade_export_csv")
    assert emulator.requests == []


def test_a_lost_start_answer_makes_exactly_one_report(emulator):
    emulator.add_fault(Fault(kind="500_after_action", count=1, method="POST"))
    report = CanvasHook(retry_backoff_seconds=0.01).start_account_report(4, "provisioning_csv", PROVISIONING)
    assert emulator.account_post_count(4) == 1
    assert report["id"] == max(emulator.reports)
    runs_reads = account_requests(emulator, "GET", "/reports/provisioning_csv")
    assert len(runs_reads) == 1  # the runs list told the hook Canvas had made it


def test_a_bad_term_is_canvas_s_400_with_its_words(emulator):
    from airflow_provider_canvas_reports.exceptions import CanvasBadRequestError

    with pytest.raises(CanvasBadRequestError, match="invalid enrollment_term_id 'fall'"):
        CanvasHook().start_account_report(1, "grade_export_csv", {"enrollment_term_id": "fall"})


def _zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize(
    ("dag", "account_id", "ti_count"),
    [
        (scenarios.waiting_start, 11, 2),
        (scenarios.sensor_poke, 12, 3),
        (scenarios.sensor_reschedule, 13, 3),
        (scenarios.sensor_deferrable, 14, 3),
    ],
    ids=["start-waits-deferrable", "sensor-poke", "sensor-reschedule", "sensor-deferrable"],
)
def test_start_wait_land_gives_the_emulator_s_exact_zip(emulator, tmp_path, dag, account_id, ti_count):
    emulator.set_account_behaviour(account_id, ReportBehaviour(rows=7, seed=account_id))
    result = run_dag(dag, run_conf={"destination": f"{tmp_path}/landing/"})
    assert result.state == "success", result.task_states
    assert len(result.task_states) == ti_count
    landed = result.xcom("download")
    (report_id,) = (i for i, r in emulator.reports.items() if getattr(r, "account_id", None) == account_id)
    assert (landed["account_id"], landed["report_id"], landed["report_type"]) == (
        account_id,
        report_id,
        "provisioning_csv",
    )
    data = (tmp_path / "landing" / landed["filename"]).read_bytes()
    assert data == emulator.file_bytes(report_id)
    assert landed["filename"].endswith(".zip") and landed["content_type"] == "application/zip"
    members = _zip_members(data)
    assert sorted(members) == ["courses.csv", "enrollments.csv", "users.csv"]
    users = list(csv.reader(io.StringIO(members["users.csv"].decode())))
    assert users[0] == HEADERS["users"] and len(users) == 8
    assert emulator.account_post_count(account_id) == 1
    assert "file_url" not in repr(result.xcom("start")) and "verifier" not in repr(landed)


def test_a_plain_csv_report_lands_as_the_emulator_s_bytes(emulator, tmp_path):
    emulator.set_account_behaviour(12, ReportBehaviour(rows=30))
    result = run_dag(
        scenarios.sensor_poke,
        run_conf={"destination": f"{tmp_path}/", "report_type": "grade_export_csv", "parameters": {}},
    )
    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    data = (tmp_path / landed["filename"]).read_bytes()
    assert data == emulator.file_bytes(landed["report_id"])
    assert landed["filename"].endswith(".csv")
    rows = list(csv.reader(io.StringIO(data.decode())))
    assert rows[0] == HEADERS["grade_export_csv"] and len(rows) == 31
    assert any("\n" in cell or "," in cell or '"' in cell for row in rows for cell in row)


def test_a_failed_report_says_why(emulator):
    emulator.set_account_behaviour(17, ReportBehaviour(outcome="error"))
    operator = StartAccountReportOperator(
        task_id="start",
        account_id=17,
        report_type="grade_export_csv",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.1,
    )
    with pytest.raises(
        CanvasReportFailedError, match="ended in 'error': Failed, the report failed to generate"
    ):
        operator.execute({})
    assert account_requests(emulator, "PUT") == []  # nothing left to stop


def test_a_deferred_wait_that_times_out_aborts_the_running_report(emulator, tmp_path):
    emulator.set_account_behaviour(15, ReportBehaviour(created_seconds=0, hold=True))
    result = run_dag(scenarios.timeout_deferrable, run_conf={"destination": f"{tmp_path}/"})
    assert result.task_states["start"] == "failed"
    (report_id,) = (i for i, r in emulator.reports.items() if getattr(r, "account_id", None) == 15)
    aborts = account_requests(emulator, "PUT", f"/{report_id}/abort")
    assert len(aborts) == 1 and aborts[0].status == 200
    assert emulator.report_json(report_id)["status"] == "aborted"


def test_a_sensor_that_times_out_deletes_a_report_still_queued(emulator, tmp_path):
    hook = CanvasHook()
    emulator.set_account_behaviour(None, ReportBehaviour(created_seconds=0, hold=True))
    blocker = hook.start_account_report(1, "grade_export_csv")  # holds the root account's queue
    result = run_dag(scenarios.timeout_sensor, run_conf={"destination": f"{tmp_path}/"})
    assert result.task_states["wait"] == "failed"
    queued = result.xcom("start")
    assert account_requests(emulator, "PUT") == []  # a queued report cannot be aborted
    deletes = account_requests(emulator, "DELETE", f"/{queued}")
    assert len(deletes) == 1 and emulator.report_json(queued)["status"] == "deleted"
    assert emulator.report_json(blocker["id"])["status"] == "running"


def test_on_kill_aborts_the_report_the_worker_waits_for(emulator):
    emulator.set_account_behaviour(18, ReportBehaviour(created_seconds=0, hold=True))
    operator = StartAccountReportOperator(
        task_id="start",
        account_id=18,
        report_type="last_user_access_csv",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.05,
        timeout=120,  # a missed event fails the test instead of hanging it
    )
    # The user marks the task failed once the worker has read the report's status twice. (The
    # operator runs on the test's own thread: Airflow 2.11 runs execute only where it was built.)
    killed: list[int] = []

    def kill(report_id: int) -> None:
        killed.append(report_id)
        operator.on_kill()

    with on_status_reads(emulator, 18, 2, kill, family="account"):
        with pytest.raises(CanvasReportFailedError, match="'aborted'"):
            operator.execute({})  # the wait ends when the aborted report reads "aborted"
    (report_id,) = killed
    assert len(account_requests(emulator, "PUT", f"/{report_id}/abort")) == 1


def test_cancel_report_aborts_running_deletes_queued_and_leaves_finished(emulator):
    hook = CanvasHook()
    emulator.set_account_behaviour(None, ReportBehaviour(created_seconds=0, hold=True))
    running = hook.start_account_report(1, "grade_export_csv")
    queued = hook.start_account_report(2, "grade_export_csv")  # behind it: one queue per root account
    assert hook.get_account_report(2, "grade_export_csv", queued["id"])["status"] == "created"
    assert hook.cancel_report(AccountReport.of(2, "grade_export_csv", queued["id"])) == "deleted"
    assert hook.cancel_report(AccountReport.of(1, "grade_export_csv", running["id"])) == "aborted"
    assert hook.cancel_report(AccountReport.of(2, "grade_export_csv", queued["id"])) is None
    assert [r.method for r in account_requests(emulator) if r.method != "GET"] == [
        "POST",
        "POST",
        "DELETE",
        "PUT",
    ]


def test_the_runs_list_follows_every_page(emulator):
    hook = CanvasHook()
    made = [hook.start_account_report(6, "last_user_access_csv")["id"] for _ in range(3)]
    runs = hook.list_account_report_runs(6, "last_user_access_csv")
    assert [r["id"] for r in runs] == made[::-1]  # newest first
    from airflow_provider_canvas_reports.client import calls

    pages = list(
        hook.paginate(calls.list_report_runs(AccountReport.of(6, "last_user_access_csv"), per_page=1))
    )
    assert [r["id"] for r in pages] == made[::-1]
    assert len(account_requests(emulator, "GET", "")) >= 4


def test_progress_lines_use_current_line(emulator, caplog):
    from airflow_provider_canvas_reports import reports

    target = AccountReport.of(1, "provisioning_csv", 5)
    assert reports.describe({"id": 5, "status": "running", "current_line": 12000}) == (
        "report 5 running (12000 rows written)"
    )
    assert "extra_text" not in reports.describe({"id": 5, "status": "error", "progress": 100})
    message = str(
        reports.failure(target, {"id": 5, "status": "error", "parameters": {"extra_text": "Boom."}})
    )
    assert "ended in 'error': Boom." in message


def test_the_wait_says_once_when_the_report_is_queued_behind_another(emulator, monkeypatch, capfd):
    from airflow_provider_canvas_reports import reports

    monkeypatch.setattr(reports, "QUEUED_NOTICE_SECONDS", 0.0)
    hook = CanvasHook()
    emulator.set_account_behaviour(1, ReportBehaviour(created_seconds=0, hold=True))
    blocker = hook.start_account_report(1, "grade_export_csv")  # holds the root account's one queue
    operator = StartAccountReportOperator(
        task_id="start",
        account_id=19,
        report_type="grade_export_csv",
        wait_for_completion=True,
        deferrable=False,
        poll_interval=0.05,
        timeout=120,  # a missed event fails the test instead of hanging it
    )
    # The blocker ends once the operator has read its own queued report three times.
    with on_status_reads(emulator, 19, 3, lambda _: emulator.finish_report(blocker["id"]), family="account"):
        done = operator.execute({})
    assert done["status"] == "complete"
    out = capfd.readouterr()
    notices = [line for line in (out.out + out.err).splitlines() if "still queued" in line]
    assert len(notices) == 1 and "one report at a time per root account" in notices[0]
