"""The example warehouse DAG, run by a real scheduler, LocalExecutor workers and triggerer."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from tests.system.cluster import (
    WAREHOUSE_COURSES,
    RunWatch,
    emulator_port,
    status_gets,
    tcp_connections_to,
    wait_until,
)

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.client import EmulatorControl
    from tests.system.cluster import AirflowSystem

pytestmark = pytest.mark.system

DAG_ID = "canvas_course_report_to_warehouse"
COURSES = [course["course_id"] for course in WAREHOUSE_COURSES]


def pace_rows(system: AirflowSystem) -> list[tuple]:
    """One row per loaded pace document: logical date, course, report, document, items."""
    with sqlite3.connect(system.warehouse) as db:
        return db.execute(
            "SELECT logical_date, course_id, report_id, source_name, item_count FROM canvas_course_paces "
            "ORDER BY course_id, source_name"
        ).fetchall()


def test_warehouse_dag_lands_reports_waiting_in_the_triggerer(
    system: AirflowSystem, emulator: EmulatorControl
):
    """
    Both mapped sensors defer; while the reports are held running, only the triggerer polls them
    (the status GETs go on, the triggerer's process holds the connection to Canvas, and it writes
    the trigger's log). Released, the run lands one .docx for course 101 and a .zip of two sections
    for course 102, and loads one pace row per section with its twelve items.
    """
    for course_id in COURSES:
        emulator.set_behaviour(course_id, hold=True)
    run_id = system.trigger(DAG_ID, logical_date="2026-11-20T00:00:00+00:00")

    def both_deferred(watch: RunWatch) -> bool:
        return all(watch.ti(f"wait[{i}]").get("state") == "deferred" for i in range(2))

    watch = system.watch(DAG_ID, run_id, timeout=120, until=both_deferred)
    report_ids = [system.api.xcom(DAG_ID, run_id, "start", map_index=i) for i in range(2)]
    courses = [course["course_id"] for course in system.api.xcom(DAG_ID, run_id, "courses_to_land")]
    # The sensor checked once before deferring; later checks can only come from the trigger.
    for course_id, report_id in zip(courses, report_ids, strict=True):
        wait_until(
            lambda c=course_id, r=report_id: status_gets(emulator, c, r) >= 2,
            timeout=30,
            what=f"the trigger to poll course {course_id}'s report {report_id}",
        )
    port = emulator_port(system)
    held_by_triggerer = wait_until(
        lambda: tcp_connections_to(port, system.triggerer_tree()),
        timeout=15,
        what="a connection from the triggerer's processes to the emulator",
    )
    assert held_by_triggerer
    assert tcp_connections_to(port, system.processes["scheduler"].tree()) == [], (
        "no worker should be connected to Canvas while both sensors are deferred"
    )

    for report_id in report_ids:
        emulator.finish_report(report_id)
    system.keep_watching(watch, timeout=120)

    assert watch.state == "success", watch.describe()
    unsuccessful = {task: state for task, state in watch.states().items() if state != "success"}
    assert unsuccessful == {"list_courses": "skipped"}, watch.describe()  # canvas_courses overrides it
    for i in range(2):
        assert "deferred" in watch.seen[f"wait[{i}]"], watch.describe()
        assert watch.ti(f"wait[{i}]")["try_number"] == 1
        logs = system.trigger_logs(watch, "wait", map_index=i)
        events = [line for lines in logs.values() for line in lines]
        assert any("triggers.report.ReportTrigger" in str(e.get("logger")) for e in events), logs
        assert any(
            e.get("event") == "Trigger fired event" and "'success'" in str(e.get("result")) for e in events
        )
    assert {c: emulator.post_count(c) for c in COURSES} == dict.fromkeys(COURSES, 1)

    landing = system.landing_root / "2026-11-20"
    docx_101 = sorted((landing / "course_101").rglob("*.docx"))
    assert len(docx_101) == 1, docx_101
    zips_102 = sorted((landing / "course_102").glob("*.zip"))
    assert len(zips_102) == 1, sorted((landing / "course_102").rglob("*"))

    day = "2026-11-20T00:00:00+00:00"
    assert pace_rows(system) == [
        (day, "101", report_ids[courses.index(101)], "Section 1_Section_Pace.docx", 12),
        (day, "102", report_ids[courses.index(102)], "Section 1_Section_Pace.docx", 12),
        (day, "102", report_ids[courses.index(102)], "Section 2_Section_Pace.docx", 12),
    ]


def test_warehouse_dag_run_without_a_logical_date_lands_under_a_real_date(
    system: AirflowSystem, emulator: EmulatorControl
):
    """Airflow 3 lets a manual run have no logical date; the run should still land under a date."""
    run_id = system.trigger(DAG_ID)
    watch = system.watch(DAG_ID, run_id, timeout=120)

    assert watch.state == "success", watch.describe()
    assert not (system.landing_root / "None").exists(), sorted(system.landing_root.iterdir())
    assert pace_rows(system) and all(row[0] not in (None, "None") for row in pace_rows(system))


def test_on_demand_dag_run_without_a_logical_date_succeeds(system: AirflowSystem, emulator: EmulatorControl):
    """The on-demand DAG triggered through the REST API without a logical date."""
    run_id = system.trigger("canvas_course_report_on_demand", {"course_id": 120})
    watch = system.watch("canvas_course_report_on_demand", run_id, timeout=120)

    assert watch.state == "success", watch.describe()
