"""Course pace documents made by the emulator's generator from known plans, and what they must read as."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.course_pace import BlackoutDate, PaceItem
from airflow_provider_canvas_reports.testing.files import PaceDocument, build_docx, build_zip, pace_documents

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.pace_plans import CoursePlan

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def report_bytes(plan: CoursePlan, sections=(), students=(), size: int = 0) -> bytes:
    """The report file Canvas would send: one .docx for one context, else course_pace.zip."""
    from airflow_provider_canvas_reports.testing.files import build_course_pace_file

    documents = pace_documents(plan, [str(i) for i in sections], [str(i) for i in students])
    return build_course_pace_file(documents, size, WHEN).content.read()


def docx_bytes(document: PaceDocument, size: int = 0) -> bytes:
    return build_docx(document, size, WHEN).read()


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """A ZIP of these members (as Python's zipfile writes it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def stored_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A ZIP as the emulator writes it (bytes members deflated)."""
    return build_zip(list(members), WHEN).read()


def expected_items(plan: CoursePlan) -> list[PaceItem]:
    return [
        PaceItem(
            module=s.module,
            module_position=s.module_position,
            position=s.position,
            title=s.item.title,
            points=s.item.expected_points,
            duration_days=s.item.duration_days,
            due_date=s.due_date,
            published=s.item.published,
        )
        for s in plan.schedule()
    ]


def expected_blackouts(plan: CoursePlan) -> list[BlackoutDate]:
    return [BlackoutDate(b.title, b.start, b.end) for b in plan.blackout_dates]
