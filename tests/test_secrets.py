"""The access token and a report's file_url verifier leak nowhere a user can read."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from airflow.utils.session import create_session

from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.dags import canvas_scenarios as scenarios
from tests.helpers import TOKEN, run_dag


def _rows_mentioning(model, run_id: str) -> str:
    with create_session() as session:
        rows = session.query(model).filter(model.run_id == run_id).all()
        return json.dumps(
            [{c.name: getattr(r, c.name) for c in model.__table__.columns} for r in rows], default=str
        )


def test_token_and_verifier_appear_in_no_log_xcom_event_or_rendered_field(emulator, tmp_path, capfd, caplog):
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance

    try:
        from airflow.models.xcom import XComModel as XComTable
    except ImportError:  # Airflow 2
        from airflow.models.xcom import BaseXCom as XComTable

    emulator.set_behaviour(240, ReportBehaviour(running_seconds=0.5))
    result = run_dag(scenarios.download, run_conf={"course_id": 240, "destination": f"{tmp_path}/"})
    assert result.state == "success", result.task_states

    report = CanvasHook().get_course_report(240, "course_pace_docx", result.xcom("start")["id"])
    verifier = parse_qs(urlsplit(report["file_url"]).query)["verifier"][0]
    assert len(verifier) > 16

    captured = capfd.readouterr()
    log_files = "".join(
        p.read_text(errors="replace") for p in Path(os.environ["AIRFLOW_HOME"]).rglob("*.log") if p.is_file()
    )
    places = {
        "stdout/stderr": captured.out + captured.err,
        "python logs": caplog.text,
        "log files": log_files,
        "xcom": _rows_mentioning(XComTable, result.run_id),
        "rendered fields": _rows_mentioning(RenderedTaskInstanceFields, result.run_id),
        "task instances (trigger events, next_kwargs)": _rows_mentioning(TaskInstance, result.run_id),
    }
    assert "Landed" in places["stdout/stderr"]  # the search really covers the task logs
    for where, text in places.items():
        assert TOKEN not in text, f"token found in {where}"
        assert verifier not in text, f"file_url verifier found in {where}"
