"""The emulator serves course pace documents made from the plan set for a course, over real HTTP."""

from __future__ import annotations

import io
from datetime import date

import pytest

from airflow_provider_canvas_reports.course_pace import read_course_paces
from airflow_provider_canvas_reports.testing import EmulatorControl, ReportBehaviour
from airflow_provider_canvas_reports.testing.pace_plans import (
    CoursePlan,
    PlannedBlackout,
    PlannedItem,
    PlannedModule,
    PlannedSection,
    PlannedStudent,
    default_plan,
)
from tests.pace_helpers import expected_blackouts, expected_items

PLAN = CoursePlan(
    course_name="Chemistry 201",
    start_date=date(2025, 9, 1),
    modules=(
        PlannedModule("Stoichiometry", (PlannedItem("Moles 1", points=4, duration_days=2),)),
        PlannedModule("Gases", (PlannedItem("Ideal Gas Lab", points=25, due_date=date(2025, 9, 20)),)),
    ),
    blackout_dates=(PlannedBlackout("Labor Day", date(2025, 9, 1), date(2025, 9, 1)),),
    skipped_days=("Sun",),
    end_date=date(2025, 12, 19),
    sections=(PlannedSection(40, "Lab Section A", students=12),),
    students=(PlannedStudent(900, "Ngozi Adébáyọ̀", on_pace=True),),
)


def landed_paces(emulator, course_id: int, parameters: dict) -> tuple[dict, list]:
    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    emulator.set_behaviour(course_id, ReportBehaviour(created_seconds=0, running_seconds=0))
    hook = CanvasHook()
    started = hook.start_course_report(course_id, "course_pace_docx", parameters)
    report = hook.get_course_report(course_id, "course_pace_docx", started["id"])
    if report["status"] != "complete":
        return report, []
    buffer = io.BytesIO()
    hook.download_report_file(report, buffer)
    return report, read_course_paces(buffer.getvalue())


def test_a_plan_set_over_the_control_api_is_what_the_downloaded_report_holds(emulator):
    EmulatorControl(emulator.base_url).set_course_plan(77, PLAN)

    report, paces = landed_paces(emulator, 77, {"section_ids": [40], "enrollment_ids": [900]})

    assert report["attachment"]["display_name"] == "course_pace.zip"
    assert [(p.context_type, p.context_name, p.students, p.on_pace) for p in paces] == [
        ("section", "Lab Section A", 12, None),
        ("student", "Ngozi Adébáyọ̀", None, True),
    ]
    for pace in paces:
        assert pace.items == expected_items(PLAN)
        assert pace.blackout_dates == expected_blackouts(PLAN)
        assert (pace.start_date, pace.end_date) == (PLAN.start_date, PLAN.end_date)
        assert pace.skipped_days == ["Sun"]
    # Labor Day is blacked out and Sundays skipped: Moles 1 is due two working days after 09/01.
    assert paces[0].items[0].due_date == date(2025, 9, 3)
    assert paces[0].items[1].due_date == date(2025, 9, 20)


def test_ids_the_plan_does_not_know_are_left_out_and_none_known_is_an_error(emulator):
    emulator.set_course_plan(78, PLAN)

    report, paces = landed_paces(emulator, 78, {"section_ids": [40, 41]})
    assert report["attachment"]["display_name"] == "Lab Section A_Section_Pace.docx"
    assert [p.context_name for p in paces] == ["Lab Section A"]

    report, paces = landed_paces(emulator, 78, {"section_ids": [41], "enrollment_ids": [901]})
    assert report["status"] == "error" and paces == []


def test_without_a_plan_a_course_gets_the_default_one_and_a_reset_forgets_plans(emulator):
    _, paces = landed_paces(emulator, 79, {"section_ids": [5]})
    assert [p.items for p in paces] == [expected_items(default_plan(79))]
    assert len(paces[0].items) == 12 and len({i.module for i in paces[0].items}) == 4

    emulator.set_course_plan(79, PLAN)
    emulator.reset()
    assert emulator.course_plan(79) == default_plan(79)


def test_a_plan_survives_its_json_form_and_bad_plans_are_refused(emulator):
    assert CoursePlan.from_dict(PLAN.to_dict()) == PLAN
    assert CoursePlan.from_dict(default_plan(3).to_dict()) == default_plan(3)
    control = EmulatorControl(emulator.base_url)
    with pytest.raises(Exception, match="400"):
        control._call("PUT", "course_plan", {"course_id": 80, "plan": {**PLAN.to_dict(), "colour": "red"}})
    with pytest.raises(ValueError, match="kind"):
        PlannedItem("x", kind="video")
    with pytest.raises(ValueError, match="skipped_days"):
        CoursePlan("c", date(2025, 1, 1), (), skipped_days=("Caturday",))
    assert emulator.course_plan(80) == default_plan(80)
