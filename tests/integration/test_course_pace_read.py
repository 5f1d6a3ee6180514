"""Reading course pace reports the emulator wrote from known plans: every variation, ZIPs, junk."""

from __future__ import annotations

import io
import os
from dataclasses import replace
from datetime import date

import pytest

from airflow_provider_canvas_reports.course_pace import CoursePace, read_course_paces
from airflow_provider_canvas_reports.exceptions import CanvasReportFileError
from airflow_provider_canvas_reports.testing.files import PaceDocument, pace_document
from airflow_provider_canvas_reports.testing.pace_plans import (
    CoursePlan,
    PlannedBlackout,
    PlannedItem,
    PlannedModule,
    PlannedSection,
    PlannedStudent,
    default_plan,
)
from tests.pace_helpers import (
    docx_bytes,
    expected_blackouts,
    expected_items,
    report_bytes,
    stored_zip,
    zip_bytes,
)

TRICKY = CoursePlan(
    course_name="Biología / Química: L'été 2025",
    start_date=date(2025, 6, 2),
    modules=(
        PlannedModule(
            "Ünit 1: Ça commence",
            (
                PlannedItem("Quiz 3", kind="quiz", points=10, duration_days=1),
                PlannedItem("Chapter 12", kind="page", points=None, duration_days=2),
                PlannedItem("Essay 2000", points=1, duration_days=3),
                PlannedItem("Lab 4.5", points=2.5, duration_days=1, published=False),
                PlannedItem("Peer Review 7", kind="other", points=None, duration_days=0),
                PlannedItem("Points 5", points=1234, duration_days=4),
                PlannedItem("Street View", kind="page", points=None, duration_days=1),
                PlannedItem("O'Neil's Problem Set 2 / Part B", points=0, duration_days=2),
            ),
        ),
        PlannedModule("Empty Module", ()),
        PlannedModule("Modul 3 - Résumé", (PlannedItem("Ökologie 1", kind="discussion", points=3),)),
    ),
    blackout_dates=(
        PlannedBlackout("Juneteenth", date(2025, 6, 19), date(2025, 6, 19)),
        PlannedBlackout("Fête / Break", date(2025, 7, 1), date(2025, 7, 4)),
    ),
    skipped_days=(),
    sections=(PlannedSection(11, "Period 1/2 — Mme. D'Arcy", students=31),),
    students=(
        PlannedStudent(21, "Zoë O'Brien-Łukasz", on_pace=False),
        PlannedStudent(22, "Ana", on_pace=True),
    ),
)


def assert_pace_matches(pace: CoursePace, plan: CoursePlan) -> None:
    assert pace.course_name == plan.course_name
    assert pace.start_date == plan.start_date
    assert pace.end_date == plan.resolved_end_date
    assert pace.items == expected_items(plan)
    assert pace.blackout_dates == expected_blackouts(plan)
    assert pace.skipped_days == list(plan.skipped_days)


def test_a_section_pace_reads_back_as_the_default_plan():
    plan = default_plan(7)
    [pace] = read_course_paces(report_bytes(plan, sections=[3]))

    assert_pace_matches(pace, plan)
    context = (pace.context_type, pace.context_name, pace.students, pace.on_pace)
    assert context == ("section", "Section 3", 23, None)
    assert pace.source_name == "<bytes>" or pace.source_name.endswith(".docx")
    assert len(pace.items) == 12 and len({i.module for i in pace.items}) == 4
    assert [i.points for i in pace.items][:3] == [None, 5.0, 1.0]


def test_a_zip_of_sections_and_students_reads_one_pace_per_document_in_order():
    plan = default_plan(8)
    paces = read_course_paces(report_bytes(plan, sections=[1, 2], students=[3, 4]))

    assert [(p.source_name, p.context_type, p.context_name) for p in paces] == [
        ("Section 1_Section_Pace.docx", "section", "Section 1"),
        ("Section 2_Section_Pace.docx", "section", "Section 2"),
        ("Student 3's_Pace.docx", "student", "Student 3"),
        ("Student 4's_Pace.docx", "student", "Student 4"),
    ]
    assert [(p.students, p.on_pace) for p in paces] == [(21, None), (22, None), (None, False), (None, True)]
    for pace in paces:
        assert_pace_matches(pace, plan)


@pytest.mark.parametrize("one_paragraph", [False, True], ids=["title-and-points-in-two", "in-one"])
@pytest.mark.parametrize("column_titles", [True, False], ids=["column-titles", "no-column-titles"])
def test_every_layout_variation_reads_back_as_its_plan(one_paragraph, column_titles):
    plan = replace(TRICKY, points_in_title_paragraph=one_paragraph, column_titles=column_titles)
    paces = read_course_paces(report_bytes(plan, sections=[11], students=[21, 22]))

    assert [(p.context_type, p.context_name, p.students, p.on_pace) for p in paces] == [
        ("section", "Period 1/2 — Mme. D'Arcy", 31, None),
        ("student", "Zoë O'Brien-Łukasz", None, False),
        ("student", "Ana", None, True),
    ]
    assert paces[1].source_name == "Zoë O'Brien-Łukasz's_Pace.docx"
    for pace in paces:
        assert_pace_matches(pace, plan)
    by_title = {item.title: item for item in paces[0].items}
    assert by_title["Quiz 3"].points == 10.0
    assert by_title["Chapter 12"].points is None
    assert by_title["Essay 2000"].points == 1.0  # "1 Point"
    assert by_title["Lab 4.5"].points == 2.5 and by_title["Lab 4.5"].published is False
    assert by_title["Peer Review 7"].points is None  # the template's literal "[x] Points"
    assert by_title["Points 5"].points == 1234.0
    assert by_title["Street View"].points is None
    assert by_title["O'Neil's Problem Set 2 / Part B"].points == 0.0
    assert [i.module_position for i in paces[0].items][-1] == 3  # the empty module still counts
    assert paces[0].skipped_days == []


def test_a_pace_without_blackout_dates_and_with_custom_skipped_days():
    plan = replace(default_plan(9), blackout_dates=(), skipped_days=("Fri", "Sat", "Sun"))
    [pace] = read_course_paces(report_bytes(plan, students=[5]))

    assert pace.blackout_dates == [] and pace.skipped_days == ["Fri", "Sat", "Sun"]
    assert_pace_matches(pace, plan)
    assert all(item.due_date.weekday() < 4 for item in pace.items)


def test_a_path_a_file_object_and_a_non_seekable_stream_read_the_same(tmp_path):
    plan = default_plan(10)
    data = report_bytes(plan, sections=[1, 2])
    path = tmp_path / "course_pace.zip"
    path.write_bytes(data)

    class Pipe(io.RawIOBase):
        def __init__(self, payload: bytes) -> None:
            self._inner = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    results = [
        read_course_paces(path),
        read_course_paces(str(path)),
        read_course_paces(io.BytesIO(data)),
        read_course_paces(Pipe(data)),
    ]
    assert all(result == results[2] for result in results[2:])
    assert [p.items for p in results[0]] == [p.items for p in results[3]]
    assert len(results[0]) == 2


def test_a_single_docx_from_a_path_is_named_by_its_file(tmp_path):
    path = tmp_path / "Period 3_Section_Pace.docx"
    path.write_bytes(report_bytes(default_plan(1), sections=[3]))
    [pace] = read_course_paces(path)
    assert pace.source_name == "Period 3_Section_Pace.docx"


# --------------------------------------------------------------------------------------- junk
def _no_tables() -> bytes:
    return docx_bytes(PaceDocument("x", "<w:p><w:r><w:t>Just a letter</w:t></w:r></w:p>"))


JUNK = {
    "empty bytes": (b"", "empty"),
    "not a zip": (b"Hello, this is plain text and not a report at all.", "not a ZIP archive"),
    "broken zip": (lambda: report_bytes(default_plan(1), sections=[1, 2])[:-200], "ZIP"),
    "a zip without documents": (lambda: zip_bytes([("notes.txt", b"hello")]), "neither a .docx"),
    "a docx with no pace tables": (_no_tables, "no course pace tables"),
    "a .docx member that is not a docx": (
        lambda: zip_bytes([("a_Section_Pace.docx", b"not a zip inside")]),
        "not a ZIP archive",
    ),
    "a docx member with no pace tables": (
        lambda: zip_bytes([("b_Section_Pace.docx", _no_tables())]),
        "no course pace tables",
    ),
    "a zip member that is a zip but no docx": (
        lambda: zip_bytes([("c_Section_Pace.docx", zip_bytes([("x.txt", b"1")]))]),
        "not a Word document",
    ),
}


@pytest.mark.parametrize("kind", list(JUNK))
def test_junk_raises_a_report_file_error_naming_the_source(kind, tmp_path):
    make, why = JUNK[kind]
    data = make() if callable(make) else make
    path = tmp_path / "landed report.bin"
    path.write_bytes(data)

    with pytest.raises(ValueError, match=why) as raised:
        read_course_paces(path)
    assert type(raised.value) is CanvasReportFileError  # a CanvasError, and still a ValueError
    assert str(path) in str(raised.value)
    with pytest.raises(ValueError, match=why):
        read_course_paces(data)


def test_a_corrupted_member_is_a_broken_zip_not_a_crash():
    good = report_bytes(default_plan(1), sections=[1, 2])
    at = good.index(b"word/document.xml") + 200  # inside the first member's deflated document
    corrupted = good[:at] + bytes(b ^ 0xFF for b in good[at : at + 64]) + good[at + 64 :]
    with pytest.raises(ValueError, match=r"Section 1_Section_Pace\.docx") as raised:
        read_course_paces(corrupted)
    assert type(raised.value) is CanvasReportFileError


def test_a_document_missing_its_dates_is_refused():
    plan = default_plan(1)
    body = pace_document(plan, PlannedSection(1, "S")).body.replace("Start Date", "Beginning")
    with pytest.raises(ValueError, match="Start Date"):
        read_course_paces(docx_bytes(PaceDocument("S_Section_Pace", body)))


# ------------------------------------------------------------------------------ hostile input
def test_a_zip_bomb_member_is_refused_past_the_cap_without_inflating_it():
    bomb = zip_bytes([("bomb_Section_Pace.docx", b"\0" * (8 * 1024 * 1024))])
    assert len(bomb) < 20_000
    with pytest.raises(ValueError, match="above the 1048576-byte limit"):
        read_course_paces(bomb, max_document_bytes=1024 * 1024)


def test_a_padded_docx_above_the_cap_is_refused_and_below_it_is_read():
    plan = default_plan(2)
    padded = report_bytes(plan, sections=[1], size=3 * 1024 * 1024)
    with pytest.raises(ValueError, match=r"unpacks to \d+ bytes, above the 2097152-byte limit"):
        read_course_paces(padded, max_document_bytes=2 * 1024 * 1024)
    [pace] = read_course_paces(padded, max_document_bytes=4 * 1024 * 1024)
    assert_pace_matches(pace, plan)


def test_member_names_never_touch_the_file_system(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    document = docx_bytes(pace_document(default_plan(3), PlannedSection(1, "Evil")))
    names = ["../../escape_Section_Pace.docx", "/abs/olute_Section_Pace.docx", "dir/sub/x_Section_Pace.docx"]
    paces = read_course_paces(stored_zip([(name, document) for name in names]))

    assert [p.source_name for p in paces] == names
    assert os.listdir(tmp_path) == []
    assert not os.path.exists(tmp_path.parent.parent / "escape_Section_Pace.docx")


def test_a_layout_table_is_not_a_module_and_blackout_rows_are_found_in_any_table():
    plan = default_plan(4)
    body = pace_document(plan, PlannedSection(1, "S")).body
    layout = "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Prepared by Canvas</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
    first_table = body.index("<w:tbl>")
    last_table = body.rindex("<w:tbl>")
    last_rows = body[last_table:].removeprefix("<w:tbl>").split("<w:tr>", 1)[1].removesuffix("</w:tbl>")
    # The blackout and skipped-days rows moved into the last module's table; a layout table added.
    merged = body[:first_table] + layout + body[first_table:last_table].removesuffix("<w:p/>")
    merged = merged.removesuffix("</w:tbl>") + "<w:tr>" + last_rows + "</w:tbl>"

    [pace] = read_course_paces(docx_bytes(PaceDocument("S_Section_Pace", merged)))

    assert_pace_matches(pace, plan)
    assert [p.module_position for p in pace.items][-1] == 4
