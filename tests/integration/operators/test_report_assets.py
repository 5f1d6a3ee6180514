"""Asset (Airflow 2.11: Dataset) events from DownloadCourseReportOperator, and a DAG scheduled on them."""

from __future__ import annotations

import hashlib

from airflow.utils.session import create_session

from airflow_provider_canvas_reports.testing import Fault
from tests.dags import canvas_data_stack as stack
from tests.helpers import (
    EXTRA_KEYS,
    asset_models,
    download_conf,
    events_for,
    finished_report,
    register,
    run_dag,
)


def queued_dag_ids(uri: str) -> set[str]:
    model, _, queue, key = asset_models()
    with create_session() as session:
        asset = session.query(model).filter(model.uri == uri).one()
        return {row.target_dag_id for row in session.query(queue).filter(getattr(queue, key) == asset.id)}


def test_download_attaches_what_landed_to_the_asset_event_and_the_consumer_runs_on_it(emulator, tmp_path):
    register(stack.consumer, stack.producer)
    first = run_dag(stack.consumer)  # nothing to read yet (on Airflow 3 this also syncs the DAGs)
    assert (first.state, first.xcom("read_landed_file")) == ("success", None)
    set_paused(stack.consumer.dag_id, False)
    report = finished_report(emulator, 240, sections=(1, 2))
    earlier = len(events_for(stack.COURSE_PACE.uri))

    produced = run_dag(stack.producer, run_conf=download_conf(240, report, f"{tmp_path}/"))

    assert produced.state == "success", produced.task_states
    landed = produced.xcom("download")
    (extra,) = events_for(stack.COURSE_PACE.uri)[earlier:]
    assert extra == {key: landed[key] for key in EXTRA_KEYS}
    assert extra["sha256"] == emulator.file_sha256(report["id"])
    assert extra["uri"] == (tmp_path / "course_pace.zip").as_uri()
    assert stack.consumer.dag_id in queued_dag_ids(stack.COURSE_PACE.uri)

    consumed = run_dag(stack.consumer)
    assert consumed.state == "success", consumed.task_states
    read = consumed.xcom("read_landed_file")
    assert read["read_sha256"] == read["sha256"] == landed["sha256"]
    assert read["uri"] == landed["uri"]


def test_an_asset_alias_gets_an_event_for_the_file_that_landed(emulator, tmp_path):
    register(stack.alias)
    report = finished_report(emulator, 241, sections=(1, 2))

    result = run_dag(stack.alias, run_conf=download_conf(241, report, f"{tmp_path}/day/"))

    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    file_uri = (tmp_path / "day" / "course_pace.zip").as_uri()
    assert landed["uri"] == file_uri
    (extra,) = events_for(file_uri)
    assert extra == {key: landed[key] for key in EXTRA_KEYS}
    assert hashlib.sha256((tmp_path / "day" / "course_pace.zip").read_bytes()).hexdigest() == extra["sha256"]


def test_a_failed_download_emits_no_asset_event(emulator, tmp_path):
    report = finished_report(emulator, 242)
    emulator.add_fault(Fault(kind="truncate", server="storage", count=-1))
    before = len(events_for(stack.COURSE_PACE.uri))

    result = run_dag(stack.producer, run_conf=download_conf(242, report, f"{tmp_path}/"))

    assert result.state == "failed"
    assert len(events_for(stack.COURSE_PACE.uri)) == before


def set_paused(dag_id: str, paused: bool) -> None:
    from airflow.models.dag import DagModel

    with create_session() as session:
        session.query(DagModel).filter(DagModel.dag_id == dag_id).update({DagModel.is_paused: paused})
