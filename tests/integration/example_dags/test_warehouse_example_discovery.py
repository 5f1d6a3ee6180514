"""The warehouse example lands a term's courses found by CanvasListCoursesOperator (no Variable typed)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.helpers import load_dagbag, run_dag


def test_the_term_s_courses_are_listed_with_their_sections_and_landed(emulator, tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_CANVAS_LANDING_ROOT", str(tmp_path / "landing"))
    monkeypatch.delenv("AIRFLOW_VAR_CANVAS_COURSES", raising=False)
    warehouse = tmp_path / "warehouse.db"
    monkeypatch.setenv(
        "AIRFLOW_CONN_CANVAS_WAREHOUSE", json.dumps({"conn_type": "sqlite", "host": str(warehouse)})
    )
    emulator.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0)
    emulator.add_catalog_course(611, enrollment_term_id=31, section_ids=[6110, 6111])
    emulator.add_catalog_course(612, enrollment_term_id=31, section_ids=[6120])
    emulator.add_catalog_course(613, enrollment_term_id=31, section_ids=[])  # nothing to pace
    emulator.add_catalog_course(614, enrollment_term_id=31, workflow_state="created")  # unpublished
    emulator.add_catalog_course(621, enrollment_term_id=32)  # another term

    dag = load_dagbag().get_dag("canvas_course_report_to_warehouse")
    result = run_dag(
        dag, logical_date=datetime(2026, 4, 1, tzinfo=timezone.utc), run_conf={"enrollment_term_id": 31}
    )

    assert result.state == "success", result.task_states
    assert result.task_states["typed_courses"] == "skipped"
    assert [c["course_id"] for c in result.xcom("list_courses")] == [611, 612]
    assert {c: emulator.post_count(c) for c in (611, 612, 613, 614, 621)} == {
        611: 1,
        612: 1,
        613: 0,
        614: 0,
        621: 0,
    }
    started = {r.path: json.loads(r.body)["parameters"] for r in emulator.requests if r.method == "POST"}
    assert started == {
        "/api/v1/courses/611/reports/course_pace_docx": {"section_ids": [6110, 6111]},
        "/api/v1/courses/612/reports/course_pace_docx": {"section_ids": [6120]},
    }
    landed = tmp_path / "landing" / "2026-04-01"
    assert (landed / "course_611" / "course_pace.zip").is_file()
    with sqlite3.connect(warehouse) as db:
        loaded = db.execute(
            "SELECT course_id, context_name FROM canvas_course_paces ORDER BY 1, 2"
        ).fetchall()
    assert loaded == [("611", "Section 6110"), ("611", "Section 6111"), ("612", "Section 6120")]
