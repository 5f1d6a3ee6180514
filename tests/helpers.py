"""
Test helpers: the test connection, running DAGs with ``dag.test()`` on Airflow 2.11 and 3.x, reading
the asset events a run emitted, running the course report trigger, and loading the example DAGs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS as AIRFLOW_V_3
from airflow.utils.session import create_session

from airflow_provider_canvas_reports.testing import ReportBehaviour, run_report

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.triggers.course_report import CourseReportTrigger

#: The admin token every emulator knows (``DEFAULT_TOKENS``); ``canvas_default`` uses it.
TOKEN = "emulator-token"


@dataclass
class RunResult:
    state: str
    run_id: str
    dag_id: str
    task_states: dict[str, str]
    task_tries: dict[str, int]

    def xcom(self, task_id: str, key: str = "return_value") -> Any:
        if not AIRFLOW_V_3:  # Airflow 2: the ORM row deserializes itself on load; get_one returns the value
            from airflow.models.xcom import XCom

            return XCom.get_one(run_id=self.run_id, key=key, task_id=task_id, dag_id=self.dag_id)
        from airflow.models.xcom import XComModel

        with create_session() as session:
            query = XComModel.get_many(run_id=self.run_id, key=key, task_ids=task_id, dag_ids=self.dag_id)
            row = session.scalars(query).first()
            return None if row is None else XComModel.deserialize_value(row)


def run_dag(dag: Any, **kwargs: Any) -> RunResult:
    """``dag.test()`` and a summary of its task instances (``logical_date`` is 2.x's ``execution_date``)."""
    if not AIRFLOW_V_3:
        if "logical_date" in kwargs:
            kwargs["execution_date"] = kwargs.pop("logical_date")
        # 2.x's dag.test() deletes an earlier run of the same date, and DagRunNote's foreign key to
        # FAB's ab_user table must then resolve: register the FAB models as the webserver would.
        import airflow.providers.fab.auth_manager.models  # noqa: F401
    dag_run = dag.test(**kwargs)
    with create_session() as session:
        from airflow.models.taskinstance import TaskInstance

        tis = (
            session.query(TaskInstance)
            .filter(TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == dag_run.run_id)
            .all()
        )
        states = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in tis}
        tries = {ti.task_id: ti.try_number for ti in tis}
    return RunResult(
        str(getattr(dag_run.state, "value", dag_run.state)), dag_run.run_id, dag.dag_id, states, tries
    )


def finished_report(
    emulator: Any, course_id: int, sections: tuple[int, ...] = (1,), **behaviour: Any
) -> dict[str, Any]:
    """A complete ``course_pace_docx`` report of ``course_id``, started and polled over HTTP."""
    emulator.set_behaviour(course_id, ReportBehaviour(running_seconds=0, created_seconds=0, **behaviour))
    path = f"courses/{course_id}/reports/course_pace_docx"
    report = run_report(emulator.base_url, emulator.token, path, {"section_ids": list(sections)})
    assert report["status"] == "complete", report
    return report


def download_conf(course_id: int, report: dict, destination: object) -> dict[str, Any]:
    """The ``dag.test()`` conf of the download scenarios."""
    return {"course_id": course_id, "report_id": report["id"], "destination": str(destination)}


def finish_held_reports(emulator: Any, course_id: int, after_gets: int) -> Any:
    """
    While the block runs, end each held report of ``course_id`` (``ReportBehaviour(hold=True)``)
    once the emulator has answered ``after_gets`` status reads of it: the report finishes on an
    event the test can count, never after a delay that a busy machine could outrun.
    """
    return on_status_reads(emulator, course_id, after_gets, emulator.finish_report)


@contextmanager
def on_status_reads(
    emulator: Any,
    context_id: int,
    after_gets: int,
    action: Callable[[int], object],
    *,
    family: str = "course",
) -> Iterator[None]:
    """While the block runs, call ``action(report_id)`` once per report of the course (or, with
    ``family="account"``, the account) ``context_id`` after the emulator has answered
    ``after_gets`` status reads of it."""
    stop = threading.Event()
    status_read = re.compile(r"/reports/[^/]+/(\d+)$")
    key = f"{family}_id"

    def watch() -> None:
        finished: set[int] = set()
        while not stop.is_set():
            reads: dict[int, int] = {}
            for request in emulator.requests:
                found = status_read.search(request.path)
                if request.method == "GET" and request.status == 200 and found:
                    reads[int(found[1])] = reads.get(int(found[1]), 0) + 1
            for report_id, report in emulator.reports.items():
                due = getattr(report, key, None) == context_id and reads.get(report_id, 0) >= after_gets
                if due and report_id not in finished:
                    action(report_id)
                    finished.add(report_id)
            stop.wait(0.02)

    watcher = threading.Thread(target=watch, name=f"on-status-reads-{family}-{context_id}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def new_developer_key(emulator: Any) -> dict[str, str]:
    """
    A developer key (and its refresh token) the emulator knows, with its own client id: the
    process keeps one access token per key, so a test that counts token calls needs a fresh one.
    """
    import uuid

    key = {
        "client_id": f"1700{uuid.uuid4().int % 10**9:09d}",
        "client_secret": f"client-secret-{uuid.uuid4().hex}",
        "refresh_token": f"1~refresh-{uuid.uuid4().hex}",
    }
    emulator.add_developer_key(**key)
    return key


def developer_key_connection_json(base_url: str, key: dict[str, str], **extra: object) -> str:
    """The ``AIRFLOW_CONN_*`` JSON of a canvas connection holding a developer key (no password)."""
    extras = {**key, "retry_backoff_seconds": 0.01, "retry_backoff_max_seconds": 0.05, **extra}
    return json.dumps({"conn_type": "canvas", "host": base_url, "extra": extras})


def places_a_user_reads(run_id: str, captured_output: str, python_logs: str) -> dict[str, str]:
    """
    Everything of a ``dag.test()`` run a user can read: the output and Python logs given, the task
    log files, and the run's XCom, rendered fields and task instances (trigger events, next_kwargs)
    as stored in the metadata database.
    """
    import os
    from pathlib import Path

    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance

    try:
        from airflow.models.xcom import XComModel as XComTable
    except ImportError:  # Airflow 2
        from airflow.models.xcom import BaseXCom as XComTable

    def rows(model: Any) -> str:
        with create_session() as session:
            found = session.query(model).filter(model.run_id == run_id).all()
            columns = model.__table__.columns
            return json.dumps([{c.name: getattr(r, c.name) for c in columns} for r in found], default=str)

    log_files = "".join(
        p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW_HOME"]).rglob("*.log") if p.is_file()
    )
    return {
        "stdout/stderr": captured_output,
        "python logs": python_logs,
        "log files": log_files,
        "xcom": rows(XComTable),
        "rendered fields": rows(RenderedTaskInstanceFields),
        "task instances (trigger events, next_kwargs)": rows(TaskInstance),
    }


#: The keys of the extra a download attaches to its asset event.
EXTRA_KEYS = {"course_id", "report_id", "report_type", "uri", "filename", "size", "sha256"}


def asset_models():
    """The ORM classes of this Airflow line: Asset* on 3, Dataset* on 2.11 (whichever exists)."""
    try:
        from airflow.models.asset import AssetDagRunQueue, AssetEvent, AssetModel

        return AssetModel, AssetEvent, AssetDagRunQueue, "asset_id"
    except ImportError:
        from airflow.models.dataset import DatasetDagRunQueue, DatasetEvent, DatasetModel

        return DatasetModel, DatasetEvent, DatasetDagRunQueue, "dataset_id"


def events_for(uri: str) -> list[dict]:
    """The extras of the asset events on ``uri``, oldest first."""
    model, event, _, key = asset_models()
    with create_session() as session:
        asset = session.query(model).filter(model.uri == uri).one_or_none()
        if asset is None:
            return []
        rows = session.query(event).filter(getattr(event, key) == asset.id).order_by(event.id).all()
        return [dict(row.extra or {}) for row in rows]


def register(*dags) -> None:
    """
    Write the DAGs, their assets and asset schedules to the database, as the DAG processor does.
    Airflow 3's ``dag.test()`` syncs the whole DAG bundle itself; Airflow 2.11's does not.
    """
    for dag in dags:
        if hasattr(dag, "sync_to_db"):  # Airflow 2.11
            dag.sync_to_db()


def start_report(course_id: int, sections=(1, 2)) -> int:
    """Start a course pace report through the hook; its id."""
    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    return CanvasHook().start_course_report(course_id, "course_pace_docx", {"section_ids": list(sections)})[
        "id"
    ]


def trigger_for(course_id, report_id, **kwargs) -> CourseReportTrigger:
    """A course pace report trigger on ``canvas_default`` that polls every 0.05 s unless told."""
    from airflow_provider_canvas_reports.triggers.course_report import CourseReportTrigger

    kwargs.setdefault("poll_interval", 0.05)
    return CourseReportTrigger("canvas_default", course_id, "course_pace_docx", report_id, **kwargs)


async def collect(trigger: CourseReportTrigger) -> list:
    """Every event the trigger yields."""
    return [event async for event in trigger.run()]


EXAMPLE_DAGS = Path(__file__).resolve().parents[1] / "airflow_provider_canvas_reports" / "example_dags"


def load_dagbag():
    """The package's example DAGs, parsed as the DAG processor parses them."""
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag
    return DagBag(dag_folder=str(EXAMPLE_DAGS))
