"""
Read Canvas course pace reports into rows.

A ``course_pace_docx`` report is one ``.docx`` (one section or student) or a ``course_pace.zip`` of
them. Canvas fills a Word template: paragraphs with the course name, the section's or student's
name, ``N students in this section`` or ``On Pace``/``Off Pace``, ``MM/DD/YYYY Start Date`` and
``MM/DD/YYYY End Date``; then one table per module (a first row naming the module, then one row per
item: title and points, duration in days, due date, published state); then a last table of
blackout dates and skipped weekdays.

Rows are recognised by their shape, never by a table's index: an item row is any row ending in
``<days> | MM/DD/YYYY | Published/Unpublished``; a blackout row starts with ``Black Out Dates``;
the skipped-days row starts with ``Skipped Dates``. The Word package itself is read by
`python-docx <https://python-docx.readthedocs.io>`_, which walks the body's paragraphs and tables
in document order and exposes each table cell's paragraphs (titles and points come in one
paragraph or two).

Limits on hostile input: a document is refused when its ``.docx`` or the sum of its parts'
sizes is above ``max_document_bytes`` (:data:`MAX_DOCUMENT_BYTES`; real course pace documents are
tens of kilobytes). Every part is inflated in small chunks and counted as it goes, so a part that
declares a few bytes and inflates to gigabytes is refused as soon as the limit is passed, with
memory flat; python-docx then reads a copy made of exactly the bytes that were counted. ZIP
members are read one at a time, by name only: nothing is extracted to disk.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, TYPE_CHECKING

from airflow_provider_canvas_reports.archives import Source, open_zip, opened
from airflow_provider_canvas_reports.exceptions import CanvasReportFileError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from docx.table import Table

#: Largest ``.docx`` (and largest sum of its unpacked parts) read, in bytes.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

_DATE = r"(\d{1,2}/\d{1,2}/\d{4})"
_DATE_ONLY = re.compile(rf"^{_DATE}$")
_DATE_RANGE = re.compile(rf"{_DATE}\s*[-\u2013\u2014]\s*{_DATE}")
_DAYS = re.compile(r"^\d+$")
_STATE = re.compile(r"^(published|unpublished)$", re.IGNORECASE)
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
_POINTS_ONLY = re.compile(rf"^(?:{_NUMBER}\s+points?|view|\[x\]\s*points?)$", re.IGNORECASE)
_POINTS_SUFFIX = re.compile(rf"^(.*?)\s+(?:{_NUMBER}\s+points?|view|\[x\]\s*points?)$", re.IGNORECASE | re.S)
_BLACKOUT = re.compile(r"^black\s*-?\s*out\s+dates?\s*:?\s*(.*)$", re.IGNORECASE | re.S)
_SKIPPED = re.compile(r"^skipped\s+(?:dates|days)\s*:?\s*(.*)$", re.IGNORECASE | re.S)
_STUDENTS = re.compile(r"(\d[\d,]*)\s+students?\b", re.IGNORECASE)
_ON_PACE = re.compile(r"\b(on|off)\s+pace\b", re.IGNORECASE)
_START = re.compile(r"\bstart\s+date\b", re.IGNORECASE)
_END = re.compile(r"\bend\s+date\b", re.IGNORECASE)
_SECTION_FILE = re.compile(r"_section_pace\.docx$", re.IGNORECASE)
_STUDENT_FILE = re.compile(r"'s_pace\.docx$", re.IGNORECASE)


@dataclass(frozen=True)
class PaceItem:
    """One paced module item.

    :param module: the module's name.
    :param module_position: the module's place in the pace, from 1.
    :param position: the item's place in its module, from 1.
    :param title: the item's title.
    :param points: points possible; None for pages (``View``) and where Canvas leaves ``[x] Points``.
    :param duration_days: days the pace gives the item.
    :param due_date: the item's due date.
    :param published: whether the item is published.
    """

    module: str
    module_position: int
    position: int
    title: str
    points: float | None
    duration_days: int
    due_date: date
    published: bool


@dataclass(frozen=True)
class BlackoutDate:
    """A blackout period: no item is due from ``start`` to ``end`` (inclusive)."""

    title: str
    start: date
    end: date


@dataclass(frozen=True)
class CoursePace:
    """One course pace document: a section's or a student's pace.

    :param course_name: the course's name.
    :param context_type: ``"section"`` or ``"student"``.
    :param context_name: the section's or the student's name.
    :param students: students in the section (None for a student's pace).
    :param on_pace: whether the student is on pace (None for a section's pace).
    :param start_date: the pace's start date.
    :param end_date: the pace's end date.
    :param items: the paced items, in module and item order.
    :param blackout_dates: the blackout periods.
    :param skipped_days: the skipped weekdays as Canvas names them (e.g. ``["Sat", "Sun"]``).
    :param source_name: the file, or the ZIP member, the pace was read from.
    """

    course_name: str
    context_type: str
    context_name: str
    students: int | None
    on_pace: bool | None
    start_date: date
    end_date: date
    items: list[PaceItem]
    blackout_dates: list[BlackoutDate]
    skipped_days: list[str]
    source_name: str


def read_course_paces(source: Source, *, max_document_bytes: int = MAX_DOCUMENT_BYTES) -> list[CoursePace]:
    """
    Read every course pace in a report file.

    :param source: a path, the file's bytes, or a binary file object, holding one ``.docx`` or a
        ``course_pace.zip`` of them.
    :param max_document_bytes: refuse a document whose ``.docx`` or unpacked parts are larger.
    :return: one :class:`CoursePace` per document, in archive order.
    :raises ValueError: the source is not a course pace report (naming the source and why).
    """
    return list(iter_course_paces(source, max_document_bytes=max_document_bytes))


def iter_course_paces(
    source: Source, *, max_document_bytes: int = MAX_DOCUMENT_BYTES
) -> Iterator[CoursePace]:
    """
    Like :func:`read_course_paces`, one document at a time (memory stays flat in their number).

    :param source: a path, the file's bytes, or a binary file object.
    :param max_document_bytes: refuse a document whose ``.docx`` or unpacked parts are larger.
    """
    with opened(source, _NOT_A_REPORT) as (stream, name):
        archive = _zip(stream, name)
        with archive:
            if _is_docx(archive):
                document = _repacked(archive, name, max_document_bytes)
                yield parse_course_pace(document, os.path.basename(name) or name, label=name)
                return
            members = [info for info in archive.infolist() if _is_document_member(info)]
            if not members:
                raise CanvasReportFileError(
                    f"{name}: neither a .docx nor a ZIP of .docx course pace documents"
                )
            for info in members:
                if info.file_size > max_document_bytes:
                    raise CanvasReportFileError(
                        f"{name}: member {info.filename!r} is {info.file_size} bytes unpacked, "
                        f"above the {max_document_bytes}-byte limit"
                    )
                data = _read_member(archive, info, name, max_document_bytes)
                member = io.BytesIO(data)
                label = f"{name}!{info.filename}"
                with _zip(member, label) as inner:
                    if not _is_docx(inner):
                        raise CanvasReportFileError(f"{label}: not a Word document")
                    document = _repacked(inner, label, max_document_bytes)
                del data, member
                yield parse_course_pace(document, info.filename, label=label)


def parse_course_pace(docx_file: IO[bytes], source_name: str, *, label: str | None = None) -> CoursePace:
    """
    Parse one course pace ``.docx``.

    :param docx_file: a seekable binary file object holding the ``.docx``.
    :param source_name: the name the pace is known by (stored in :attr:`CoursePace.source_name`).
    :param label: how errors name the document (default: ``source_name``).
    :raises ValueError: the document is not a course pace.
    """
    import docx

    label = label or source_name

    try:
        document = docx.Document(docx_file)
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # python-docx/lxml raise many kinds on malformed packages
        raise CanvasReportFileError(f"{label}: not a readable Word document ({exc})") from exc
    try:
        return _Reader(source_name, label).read(blocks)
    except ValueError:
        raise
    except Exception as exc:  # defensive: a shape we did not foresee must still name the source
        raise CanvasReportFileError(
            f"{label}: not a course pace document ({type(exc).__name__}: {exc})"
        ) from exc


# --------------------------------------------------------------------------------------- reading
class _Reader:
    """Turns a document's blocks (paragraphs and tables, in order) into a :class:`CoursePace`."""

    def __init__(self, source_name: str, label: str) -> None:
        self.source_name = source_name
        self.label = label
        self.lines: list[str] = []
        self.items: list[PaceItem] = []
        self.blackouts: list[BlackoutDate] = []
        self.skipped: list[str] = []
        self.modules = 0
        self.pace_tables = 0

    def fail(self, why: str) -> CanvasReportFileError:
        return CanvasReportFileError(f"{self.label}: {why}")

    def read(self, blocks: Sequence[object]) -> CoursePace:
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        for block in blocks:
            if isinstance(block, Paragraph):
                self._add_lines([block.text])
            elif isinstance(block, Table):
                self._table(block)
        if not self.pace_tables:
            raise self.fail("no course pace tables (module items, blackout dates) in the document")
        return self._pace()

    def _add_lines(self, texts: list[str]) -> None:
        self.lines.extend(line for text in texts if (line := " ".join(text.split())))

    def _table(self, table: Table) -> None:
        rows = [[[p.text for p in cell.paragraphs] for cell in row.cells] for row in table.rows]
        texts = [[_cell_text(cell) for cell in row] for row in rows]
        plan_rows = [row for row in texts if _is_plan_row(row)]
        for row in plan_rows:  # blackout and skipped-days rows, wherever they are
            self._plan_row(row)
        self.pace_tables += bool(plan_rows)
        if plan_rows and len(plan_rows) == sum(1 for row in texts if any(row)):
            return
        item_rows = [index for index, row in enumerate(texts) if _item_shape(row) is not None]
        first = texts[0] if texts else []
        # A module table without items still has its name across the first row of its 4 columns.
        if not item_rows and not (_is_module_header(first) and len(first) >= 4):
            if not plan_rows:
                self._add_lines([text for row in texts for text in _distinct(row)])
            return
        self.pace_tables += 1
        self.modules += 1
        module = "" if not first or 0 in item_rows else first[0]
        position = 0
        for index in item_rows:
            position += 1
            self.items.append(self._item(module, position, rows[index], texts[index]))

    def _item(self, module: str, position: int, cells: list[list[str]], texts: list[str]) -> PaceItem:
        state = _item_shape(texts)
        assert state is not None
        title, points = _title_and_points(cells[state - 3])
        return PaceItem(
            module=module,
            module_position=self.modules,
            position=position,
            title=title,
            points=points,
            duration_days=int(texts[state - 2]),
            due_date=self._date(texts[state - 1]),
            published=texts[state].lower() == "published",
        )

    def _plan_row(self, row: list[str]) -> None:
        if not any(row):
            return
        label, rest = row[0], " ".join(text for text in _distinct(row)[1:])
        blackout = _BLACKOUT.match(label)
        if blackout:
            found = _DATE_RANGE.search(f"{label} {rest}")
            if found is None:
                single = re.search(_DATE, f"{label} {rest}")
                if single is None:
                    raise self.fail(f"blackout row without dates: {row!r}")
                start = end = self._date(single.group(1))
                title_text = blackout.group(1).replace(single.group(1), "")
            else:
                start, end = self._date(found.group(1)), self._date(found.group(2))
                title_text = blackout.group(1).replace(found.group(0), "")
            self.blackouts.append(BlackoutDate(" ".join(title_text.split()), start, end))
            return
        skipped = _SKIPPED.match(label)
        if skipped:
            days = f"{skipped.group(1)}/{rest}"
            self.skipped = [day.strip() for day in re.split(r"[/,]", days) if day.strip()]

    def _date(self, text: str) -> date:
        try:
            return datetime.strptime(text.strip(), "%m/%d/%Y").date()
        except ValueError:
            raise self.fail(f"not a MM/DD/YYYY date: {text!r}") from None

    def _pace(self) -> CoursePace:
        if len(self.lines) < 2:
            raise self.fail("no course name and section or student name before the pace tables")
        course_name, context_name = self.lines[0], self.lines[1]
        students: int | None = None
        on_pace: bool | None = None
        start: date | None = None
        end: date | None = None
        rest = self.lines[2:]
        for index, line in enumerate(rest):
            if students is None and (found := _STUDENTS.search(line)):
                students = int(found.group(1).replace(",", ""))
            if on_pace is None and (found := _ON_PACE.search(line)):
                on_pace = found.group(1).lower() == "on"
            if start is None and _START.search(line):
                start = self._labelled_date(rest, index)
            if end is None and _END.search(line):
                end = self._labelled_date(rest, index)
        if start is None or end is None:
            raise self.fail("no 'MM/DD/YYYY Start Date' and 'MM/DD/YYYY End Date' in the document")
        if students is not None:
            context_type = "section"
        elif on_pace is not None:
            context_type = "student"
        elif _SECTION_FILE.search(self.source_name):
            context_type = "section"
        elif _STUDENT_FILE.search(self.source_name):
            context_type = "student"
        else:
            raise self.fail("neither a section's pace (N students) nor a student's (On/Off Pace)")
        return CoursePace(
            course_name=course_name,
            context_type=context_type,
            context_name=context_name,
            students=students,
            on_pace=on_pace,
            start_date=start,
            end_date=end,
            items=self.items,
            blackout_dates=self.blackouts,
            skipped_days=self.skipped,
            source_name=self.source_name,
        )

    def _labelled_date(self, lines: list[str], index: int) -> date:
        """The date in a labelled line, or in a bare-date line right before or after it."""
        found = re.search(_DATE, lines[index])
        if found:
            return self._date(found.group(1))
        for near in (index - 1, index + 1):
            if 0 <= near < len(lines) and _DATE_ONLY.match(lines[near]):
                return self._date(lines[near])
        raise self.fail(f"no date next to {lines[index]!r}")


def _cell_text(paragraphs: list[str]) -> str:
    return " ".join(" ".join(text.split()) for text in paragraphs if text.strip())


def _distinct(row: list[str]) -> list[str]:
    """Cell texts without the repeats a horizontally merged cell produces."""
    out: list[str] = []
    for text in row:
        if text and (not out or out[-1] != text):
            out.append(text)
    return out


def _item_shape(row: list[str]) -> int | None:
    """Index of the published cell of an item row (``title | days | date | state``), else None."""
    for index in range(len(row) - 1, 2, -1):
        if (
            _STATE.match(row[index])
            and _DATE_ONLY.match(row[index - 1])
            and _DAYS.match(row[index - 2])
            and row[index - 3]
        ):
            return index
    return None


def _is_plan_row(row: list[str]) -> bool:
    return bool(row) and bool(_BLACKOUT.match(row[0]) or _SKIPPED.match(row[0]))


def _is_module_header(row: list[str]) -> bool:
    """A module table's first row: one name (merged across the row, or in the first cell only)."""
    distinct = _distinct(row)
    return len(distinct) == 1 and distinct[0] == row[0]


def _title_and_points(paragraphs: list[str]) -> tuple[str, float | None]:
    texts = [" ".join(text.split()) for text in paragraphs if text.strip()]
    if not texts:
        return "", None
    if len(texts) > 1 and _POINTS_ONLY.match(texts[-1]):
        return " ".join(texts[:-1]), _points(texts[-1])
    text = " ".join(texts)
    found = _POINTS_SUFFIX.match(text)
    if found is None:
        return text, None
    points = found.group(2)
    return found.group(1).strip(), (None if points is None else float(points.replace(",", "")))


def _points(text: str) -> float | None:
    found = re.match(_NUMBER, text)
    return None if found is None else float(found.group(1).replace(",", ""))


# ---------------------------------------------------------------------------------- containers
_NOT_A_REPORT = "a course pace report"


def _zip(stream: IO[bytes], name: str) -> zipfile.ZipFile:
    return open_zip(stream, name, "neither a .docx nor a course_pace.zip")


def _is_docx(archive: zipfile.ZipFile) -> bool:
    return "word/document.xml" in archive.NameToInfo or "[Content_Types].xml" in archive.NameToInfo


def _is_document_member(info: zipfile.ZipInfo) -> bool:
    return not info.is_dir() and info.filename.lower().endswith(".docx")


def _check_parts(archive: zipfile.ZipFile, name: str, limit: int) -> None:
    total = sum(info.file_size for info in archive.infolist())
    if total > limit:
        raise CanvasReportFileError(
            f"{name}: the document unpacks to {total} bytes, above the {limit}-byte limit"
        )


#: Bytes inflated per step when a member is read: what one step can add to memory.
_READ_CHUNK = 64 * 1024


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limit: int) -> bytes:
    """
    The member's bytes, inflated :data:`_READ_CHUNK` at a time and refused as soon as they pass
    ``limit`` (whatever size the archive declares), or when the ZIP is broken (CRC, truncation).
    """
    data = bytearray()
    try:
        with archive.open(info) as member:
            while chunk := member.read(_READ_CHUNK):
                data += chunk
                if len(data) > limit:
                    raise CanvasReportFileError(
                        f"{name}: member {info.filename!r} inflates past the {limit}-byte limit "
                        f"(it declares {info.file_size} bytes)"
                    )
    except CanvasReportFileError:
        raise
    except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError, RuntimeError (encrypted), ...
        raise CanvasReportFileError(
            f"{name}: member {info.filename!r} cannot be read: a broken ZIP ({exc})"
        ) from exc
    return bytes(data)


def _repacked(archive: zipfile.ZipFile, name: str, limit: int) -> IO[bytes]:
    """
    A copy of a ``.docx`` made of its parts as read by :func:`_read_member`, at most ``limit``
    bytes in all: python-docx inflates each part whole, so it must only ever see parts whose size
    was counted, not what the archive declares.
    """
    _check_parts(archive, name, limit)
    copy = io.BytesIO()
    left = limit
    with zipfile.ZipFile(copy, "w", zipfile.ZIP_STORED) as out:
        for info in archive.infolist():
            if info.is_dir():
                continue
            data = _read_member(archive, info, name, left)
            left -= len(data)
            out.writestr(info.filename, data)
    copy.seek(0)
    return copy


__all__ = [
    "MAX_DOCUMENT_BYTES",
    "BlackoutDate",
    "CoursePace",
    "PaceItem",
    "iter_course_paces",
    "parse_course_pace",
    "read_course_paces",
]
