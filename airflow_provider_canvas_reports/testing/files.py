"""The course pace files the emulator serves: real OOXML ``.docx`` files and a ``course_pace.zip``.

Each document follows the structure of Canvas's template (see :func:`pace_document`): header
paragraphs, one table per module, then a table of blackout dates and skipped weekdays, with the
content of a :class:`~.pace_plans.CoursePlan`.

Both are ZIP archives written by hand around :class:`~.vfile.VirtualFile` segments, so a 1 GiB file
costs a few kilobytes of memory: small XML parts are deflated, the padding part is stored, and
its CRC comes from :func:`~.vfile.padding_crc32`. Sizes stay below 4 GiB (no ZIP64 records).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from airflow_provider_canvas_reports.testing.vfile import Padding, Segment, VirtualFile

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date, datetime

    from airflow_provider_canvas_reports.testing.pace_plans import CoursePlan, PlannedSection, PlannedStudent

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_CONTENT_TYPE = "application/zip"

_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = (
    _XML_HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_ROOT_RELS = (
    _XML_HEAD + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)
_DOCUMENT_RELS = (
    _XML_HEAD + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/customXml" Target="../customXml/item1.xml"/>'
    "</Relationships>"
)
_PADDING_OPEN = (_XML_HEAD + '<padding xmlns="urn:canvas-emulator:padding">').encode()
_PADDING_CLOSE = b"</padding>"


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


@dataclass(frozen=True)
class PaceDocument:
    """One course pace document: its base name (without ``.docx``) and its WordprocessingML body."""

    name: str
    body: str


def pace_documents(
    plan: CoursePlan, section_ids: Iterable[str], enrollment_ids: Iterable[str]
) -> list[PaceDocument]:
    """The documents a report asking for these ids produces: sections first, then students.

    Ids the plan does not know are left out, as Canvas leaves out sections and enrollments that do
    not exist in the course.
    """
    contexts: list[PlannedSection | PlannedStudent] = []
    contexts += [s for s in (plan.section(int(i)) for i in section_ids) if s is not None]
    contexts += [s for s in (plan.student(int(i)) for i in enrollment_ids) if s is not None]
    return [pace_document(plan, context) for context in contexts]


def pace_document(plan: CoursePlan, context: PlannedSection | PlannedStudent) -> PaceDocument:
    """A section's (``<name>_Section_Pace``) or a student's (``<name>'s_Pace``) pace document.

    Paragraphs: course name; section or student name; ``N students in this section`` or
    ``On Pace``/``Off Pace``; ``MM/DD/YYYY Start Date``; ``MM/DD/YYYY End Date``; ``N Assignments``;
    ``N weeks, N days``. One table per module: its name across the first row, then (optionally) a
    column-title row, then ``title + points | days | MM/DD/YYYY | Published/Unpublished`` per item,
    each table followed by an empty paragraph. Last, one ``Black Out Dates: <title> |
    MM/DD/YYYY-MM/DD/YYYY`` row per blackout and a ``Skipped Dates | Sat/Sun`` row.
    """
    from airflow_provider_canvas_reports.testing.pace_plans import PlannedSection

    scheduled = plan.schedule()
    end = plan.resolved_end_date
    weeks, days = divmod((end - plan.start_date).days, 7)
    if isinstance(context, PlannedSection):
        name = f"{context.name}_Section_Pace"
        status = f"{context.students} students in this section"
    else:
        name = f"{context.name}'s_Pace"
        status = "On Pace" if context.on_pace else "Off Pace"
    assignments = sum(1 for s in scheduled if s.item.kind != "page")
    parts = [
        _paragraph(plan.course_name),
        _paragraph(context.name),
        _paragraph(status),
        _paragraph(f"{_us(plan.start_date)} Start Date"),
        _paragraph(f"{_us(end)} End Date"),
        _paragraph(f"{assignments} Assignments"),
        _paragraph(f"{weeks} weeks, {days} days"),
    ]
    for position, module in enumerate(plan.modules, start=1):
        rows = [_row([[module.name]], span=True)]
        if plan.column_titles:
            rows.append(_row([["Assignment"], ["Duration (days)"], ["Due Date"], ["Status"]]))
        for entry in (s for s in scheduled if s.module_position == position):
            item = entry.item
            if plan.points_in_title_paragraph:
                title = [f"{item.title} {item.points_text}"]
            else:
                title = [item.title, item.points_text]
            state = "Published" if item.published else "Unpublished"
            rows.append(_row([title, [str(item.duration_days)], [_us(entry.due_date)], [state]]))
        parts += [_table(rows), _paragraph("")]
    plan_rows = [
        _row([[f"Black Out Dates: {b.title}"], [f"{_us(b.start)}-{_us(b.end)}"]]) for b in plan.blackout_dates
    ]
    plan_rows.append(_row([["Skipped Dates"], ["/".join(plan.skipped_days)]]))
    parts.append(_table(plan_rows, columns=2))
    return PaceDocument(name, "".join(parts))


def _us(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def _paragraph(text: str) -> str:
    if not text:
        return "<w:p/>"
    return f'<w:p><w:r><w:t xml:space="preserve">{escape(text)}</w:t></w:r></w:p>'


def _row(cells: list[list[str]], span: bool = False) -> str:
    if span:  # one cell merged across the four columns, as the module name row is
        body = "".join(_paragraph(text) for text in cells[0])
        return f'<w:tr><w:tc><w:tcPr><w:gridSpan w:val="4"/></w:tcPr>{body}</w:tc></w:tr>'
    tcs = "".join(f"<w:tc>{''.join(_paragraph(text) for text in cell)}</w:tc>" for cell in cells)
    return f"<w:tr>{tcs}</w:tr>"


def _table(rows: list[str], columns: int = 4) -> str:
    grid = '<w:gridCol w:w="2000"/>' * columns
    properties = '<w:tblPr><w:tblW w:w="0" w:type="auto"/></w:tblPr>'
    return f"<w:tbl>{properties}<w:tblGrid>{grid}</w:tblGrid>{''.join(rows)}</w:tbl>"


@dataclass(frozen=True)
class ReportFile:
    """A generated report file, as the attachment describes it."""

    display_name: str
    content_type: str
    content: VirtualFile


def build_course_pace_file(documents: list[PaceDocument], target_size: int, when: datetime) -> ReportFile:
    """One ``<name>.docx`` for a single document, else ``course_pace.zip`` of one ``.docx`` each.

    The result is ``target_size`` bytes long whenever that is above the minimal structure size.
    """
    if not documents:
        raise ValueError("a course pace report needs at least one section or enrollment")
    if len(documents) == 1:
        doc = documents[0]
        return ReportFile(f"{doc.name}.docx", DOCX_CONTENT_TYPE, build_docx(doc, target_size, when))
    names = [f"{doc.name}.docx" for doc in documents]
    overhead = zip_size([(name, 0) for name in names])
    share, extra = divmod(max(0, target_size - overhead), len(documents))
    members: list[tuple[str, bytes | VirtualFile]] = [
        (name, build_docx(doc, share + (extra if i == len(documents) - 1 else 0), when))
        for i, (name, doc) in enumerate(zip(names, documents, strict=True))
    ]
    return ReportFile("course_pace.zip", ZIP_CONTENT_TYPE, build_zip(members, when))


def build_docx(doc: PaceDocument, target_size: int, when: datetime) -> VirtualFile:
    """A valid WordprocessingML package, padded (by a custom XML part) to ``target_size`` bytes."""
    document = _XML_HEAD + f'<w:document xmlns:w="{_W}"><w:body>{doc.body}<w:sectPr/></w:body></w:document>'

    parts: list[tuple[str, bytes]] = [
        ("[Content_Types].xml", _CONTENT_TYPES.encode()),
        ("_rels/.rels", _ROOT_RELS.encode()),
        ("word/document.xml", document.encode()),
        ("word/_rels/document.xml.rels", _DOCUMENT_RELS.encode()),
    ]

    padding_name = "customXml/item1.xml"
    minimal = zip_size(
        [(name, len(_deflate(data)[0])) for name, data in parts]
        + [(padding_name, len(_PADDING_OPEN) + len(_PADDING_CLOSE))]
    )
    padding = VirtualFile([_PADDING_OPEN, Padding(max(0, target_size - minimal)), _PADDING_CLOSE])
    return build_zip([*parts, (padding_name, padding)], when)


def zip_size(members: list[tuple[str, int]]) -> int:
    """Size of the archive :func:`build_zip` writes for members of these stored sizes."""
    total = 22
    for name, size in members:
        encoded = len(name.encode())
        total += 30 + encoded + size + 46 + encoded
    return total


@lru_cache(maxsize=64)
def _deflate(data: bytes) -> tuple[bytes, int]:
    """Raw deflate and CRC-32 of a small part (cached: most parts are the same in every file)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(), zlib.crc32(data)


def build_zip(members: list[tuple[str, bytes | VirtualFile]], when: datetime) -> VirtualFile:
    """A ZIP archive: ``bytes`` members are deflated, :class:`VirtualFile` members stored."""
    dos_time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    dos_date = ((max(when.year, 1980) - 1980) << 9) | (when.month << 5) | when.day
    segments: list[Segment] = []
    central: list[bytes] = []
    offset = 0
    for name, data in members:
        encoded = name.encode()
        flags = 0 if encoded.isascii() else 0x800
        if isinstance(data, VirtualFile):
            method, crc, usize, payload = 0, data.crc32(), data.size, list(data.segments)
        else:
            packed, crc = _deflate(data)
            method, usize, payload = 8, len(data), [packed]
        csize = sum(len(p) if isinstance(p, bytes) else p.length for p in payload)
        local = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            flags,
            method,
            dos_time,
            dos_date,
            crc,
            csize,
            usize,
            len(encoded),
            0,
        )
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                flags,
                method,
                dos_time,
                dos_date,
                crc,
                csize,
                usize,
                len(encoded),
                0,
                0,
                0,
                0,
                0o100644 << 16,
                offset,
            )
            + encoded
        )
        segments.extend([local + encoded, *payload])
        offset += len(local) + len(encoded) + csize
    directory = b"".join(central)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), offset, 0)
    segments.append(directory + end)
    return VirtualFile(segments)
