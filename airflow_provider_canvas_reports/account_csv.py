"""
Read Canvas account reports (one ``.csv``, or a ``.zip`` of them) as a stream of checked records.

Canvas writes its CSVs with Ruby's CSV library: UTF-8, ``\\n`` line ends, a header line, and fields
holding commas, quotes or line breaks quoted (``"Smith, Jr."``, ``"Ana ""AJ"" Lee"``, a name
with a line break in it). A part is read in blocks of whole records of about
:data:`BLOCK_BYTES`, never whole, so memory stays flat in the size of the file. A block ends at a
line break outside quotes: a quote opens or closes a quoted field, and a doubled quote inside one
does both, so a line break ends a record exactly when an even number of quotes precede it.

Every block is checked before anyone sees it, and a problem is a :class:`~.CanvasReportFileError`
naming the file, the ZIP member and the line: bytes that are not UTF-8, a NUL byte, a record
whose number of fields differs from the header's (a ragged row, a blank line), broken quoting, a
quoted field still open at the end of the file. A UTF-8 byte order mark before the header is
accepted. A header-only part is valid: it has no rows.

Two views of the records: :meth:`CsvPart.row_batches` (lists of fields, for ``executemany``) and
:meth:`CsvPart.csv_blocks` (the CSV text itself, each record led by constant fields, for a
database's bulk path such as PostgreSQL's ``COPY ... FROM STDIN``). A block without quotes is
checked with a few byte-string scans; only blocks with quotes go through :mod:`csv`.

In a ZIP, every member whose name ends in ``.csv`` is a part, read one at a time through the
archive (never extracted to disk); other members are listed in :attr:`AccountReportFile.skipped`.
A truncated ZIP is refused (see :func:`~.archives.open_zip`), and a member whose bytes fail their
CRC check fails when its end is read.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from dataclasses import dataclass
from operator import methodcaller
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_canvas_reports.archives import Source, is_zip, open_zip, opened
from airflow_provider_canvas_reports.exceptions import CanvasReportFileError

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator
    from types import TracebackType

#: Bytes read from a part at a time; a block holds the whole records among them.
BLOCK_BYTES = 1 << 20
#: Longest record read (a quoted field that never closes would otherwise fill memory).
MAX_RECORD_BYTES = 16 << 20

_BOM = b"\xef\xbb\xbf"
_COMMAS = methodcaller("count", b",")
_SPLIT = methodcaller("split", ",")


@dataclass(frozen=True)
class PartInfo:
    """
    One CSV of a report file.

    :param name: the ZIP member's name (``users.csv``), or the file's base name for a plain CSV.
    :param label: how messages name it: the file, and ``!member`` for a ZIP member.
    """

    name: str
    label: str

    @property
    def stem(self) -> str:
        """The name without folders and without ``.csv`` (``users``)."""
        base = self.name.replace("\\", "/").rsplit("/", 1)[-1]
        return base[:-4] if base.lower().endswith(".csv") else base


class AccountReportFile:
    """
    An account report file opened for reading: its CSV parts, each readable any number of times.

    ``with AccountReportFile(source) as report:`` then ``report.parts``, ``report.skipped`` and
    ``report.open(part)``. The file is read lazily: opening it reads a ZIP's directory only.

    :param source: a path, the file's bytes, or a binary file object.
    :raises CanvasReportFileError: the file is empty, a broken or truncated ZIP, or a ZIP without
        any ``.csv`` member.
    """

    def __init__(self, source: Source) -> None:
        self._source = source
        self._context: Any = None
        self._stream: IO[bytes] | None = None
        self._archive: zipfile.ZipFile | None = None
        self._members: dict[str, zipfile.ZipInfo] = {}
        self.name = ""
        #: Whether the file is a ZIP (of CSVs), not one CSV.
        self.is_zip = False
        #: The CSV parts, in archive order.
        self.parts: list[PartInfo] = []
        #: ZIP members that are not CSVs (folders excluded): not read.
        self.skipped: list[str] = []

    def __enter__(self) -> AccountReportFile:
        self._context = opened(self._source, "an account report (a .csv or a ZIP of CSVs)")
        self._stream, self.name = self._context.__enter__()
        try:
            self.is_zip = is_zip(self._stream)
            if self.is_zip:
                self._archive = open_zip(self._stream, self.name, "neither a .csv nor a ZIP of CSVs")
                self._list_members(self._archive)
            else:
                self.parts = [PartInfo(os.path.basename(self.name) or self.name, self.name)]
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._archive is not None:
            self._archive.close()
            self._archive = None
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(kind, value, tb)

    def _list_members(self, archive: zipfile.ZipFile) -> None:
        for info in archive.infolist():
            if info.is_dir():
                continue
            base = info.filename.rsplit("/", 1)[-1]
            if info.filename.lower().endswith(".csv") and not base.startswith("._"):
                self._members[info.filename] = info
                self.parts.append(PartInfo(info.filename, f"{self.name}!{info.filename}"))
            else:
                self.skipped.append(info.filename)
        if not self.parts:
            listed = ", ".join(self.skipped[:5]) or "nothing"
            raise CanvasReportFileError(f"{self.name}: a ZIP without any .csv member (it holds {listed})")

    def open(self, part: PartInfo) -> CsvPart:
        """
        Start reading ``part``: its header is read and checked; its records stream from the
        returned object (read them before opening another part of a ZIP).

        :raises CanvasReportFileError: the part has no header, or its header is not valid.
        """
        if self._stream is None:
            raise RuntimeError("open the report file first (use it as a context manager)")
        if self._archive is None:
            self._stream.seek(0)
            return CsvPart(part, self._stream, owned=False)
        try:
            member = self._archive.open(self._members[part.name])
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise CanvasReportFileError(f"{part.label}: cannot be read: a broken ZIP ({exc})") from exc
        try:
            return CsvPart(part, member, owned=True)
        except BaseException:
            member.close()
            raise


class CsvPart:
    """
    One CSV being read: its :attr:`header` (read when opened) and its records, as
    :meth:`row_batches` or :meth:`csv_blocks` (one of them, once). ``with`` closes a ZIP member.
    """

    def __init__(self, info: PartInfo, stream: IO[bytes], owned: bool) -> None:
        self.info = info
        self._stream = stream
        self._owned = owned
        self._blocks = _record_blocks(stream, info.label)
        self.header: list[str] = self._read_header()

    def __enter__(self) -> CsvPart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading (a ZIP member's stream is closed; a plain file stays open)."""
        self._blocks.close()
        if self._owned:
            self._stream.close()

    @property
    def label(self) -> str:
        return self.info.label

    def _read_header(self) -> list[str]:
        first = next(self._blocks, None)
        if first is None:
            raise CanvasReportFileError(f"{self.label}: empty, no header line")
        data, _ = first
        if data.startswith(_BOM):
            data = data[len(_BOM) :]
        end = _record_end(data)
        head, rest = data[:end], data[end:]
        text = _decoded(head, 1, self.label)
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
        except csv.Error as exc:
            raise CanvasReportFileError(f"{self.label} line 1: the header is not valid CSV ({exc})") from exc
        header = rows[0] if rows else []
        if not header or header == [""]:
            raise CanvasReportFileError(f"{self.label} line 1: the header line is empty")
        self._width = len(header)
        self._pending = (rest, 1 + head.count(b"\n")) if rest else None
        return header

    def _checked_blocks(self, parse: bool) -> Iterator[tuple[bytes, int, list[list[str]] | None]]:
        """``(block, its first line, its records or None)``, each checked. ``parse``: always parse."""
        blocks = self._blocks if self._pending is None else _chain(self._pending, self._blocks)
        self._pending = None
        for data, first_line in blocks:
            text = _decoded(data, first_line, self.label)
            if b"\0" in data:
                line = first_line + data.count(b"\n", 0, data.index(b"\0"))
                raise CanvasReportFileError(f"{self.label} line {line}: a NUL byte (not a text file)")
            if b'"' not in data and b"\r" not in data:
                lines = data.split(b"\n")
                del lines[-1]  # the block ends with its last record's line break
                if set(map(_COMMAS, lines)) != {self._width - 1} or b"" in lines:
                    self._fail_width(text, first_line)
                rows = None
                if parse:
                    fields = text.split("\n")
                    del fields[-1]
                    rows = list(map(_SPLIT, fields))
                yield data, first_line, rows
                continue
            reader = csv.reader(io.StringIO(text, newline=""), strict=True)
            try:
                records = list(reader)
            except csv.Error as exc:
                line = first_line + reader.line_num - 1
                raise CanvasReportFileError(f"{self.label} line {line}: not valid CSV ({exc})") from exc
            if set(map(len, records)) != {self._width}:
                self._fail_width(text, first_line)
            yield data, first_line, records

    def _fail_width(self, text: str, first_line: int) -> None:
        """Raise for the first record of a block whose width differs from the header's."""
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        start = 0
        for record in reader:
            if len(record) != self._width:
                line = first_line + start
                what = "a blank line" if not record else f"{len(record)} fields"
                raise CanvasReportFileError(
                    f"{self.label} line {line}: {what} where the header has {self._width} (a ragged row)"
                )
            start = reader.line_num
        raise AssertionError("no ragged record in a block that has one")  # pragma: no cover

    def row_batches(self, size: int) -> Iterator[list[list[str]]]:
        """The records as lists of fields (strings; an empty field is ``""``), at most ``size`` a batch."""
        for _, _, records in self._checked_blocks(parse=True):
            assert records is not None
            for start in range(0, len(records), size):
                yield records[start : start + size]

    def csv_blocks(self, lead: bytes) -> Iterator[tuple[bytes, int]]:
        """
        The records as CSV text, each line that starts a record led by ``lead`` (constant fields
        already written as CSV, ending in a comma): ``(bytes, number of records)`` per block.
        """
        for data, _, records in self._checked_blocks(parse=False):
            breaks = data.count(b"\n")
            if records is None or len(records) == breaks:  # one line per record
                yield lead + data[:-1].replace(b"\n", b"\n" + lead) + b"\n", breaks
            else:
                yield _lead_records(data, lead), len(records)


# ------------------------------------------------------------------------------------ blocks
def _record_blocks(stream: IO[bytes], label: str) -> Generator[tuple[bytes, int], None, None]:
    """``(bytes, first line)`` of consecutive blocks of whole records, each ending in a line break."""
    line = 1
    rest = b""
    while True:
        try:
            chunk = stream.read(BLOCK_BYTES)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # CRC, zlib, a cut stream
            raise CanvasReportFileError(f"{label}: cannot be read: a broken file or ZIP ({exc})") from exc
        except Exception as exc:  # zlib.error and the like
            raise CanvasReportFileError(f"{label}: cannot be read ({exc})") from exc
        if not chunk:
            break
        data = rest + chunk if rest else chunk
        end = _record_end(data, last=True)
        if end == 0:
            if len(data) > MAX_RECORD_BYTES:
                raise CanvasReportFileError(
                    f"{label} line {line}: a record longer than {MAX_RECORD_BYTES} bytes "
                    "(a quoted field that never closes?)"
                )
            rest = data
            continue
        block, rest = data[:end], data[end:]
        yield block, line
        line += block.count(b"\n")
    if rest:
        if rest.count(b'"') % 2:
            raise CanvasReportFileError(
                f"{label} line {line}: a quoted field is still open at the end of the file (cut short?)"
            )
        yield (rest if rest.endswith(b"\n") else rest + b"\n"), line


def _record_end(data: bytes, last: bool = False) -> int:
    """
    Where the first (or, with ``last``, the last) record of ``data`` ends: just after a line break
    with an even number of quotes before it; 0 if none does.
    """
    if not last:
        end = data.find(b"\n") + 1
        while end and data.count(b'"', 0, end) % 2:
            end = data.find(b"\n", end) + 1
        return end if end else len(data)
    end = data.rfind(b"\n") + 1
    quotes = data.count(b'"', 0, end)
    while end and quotes % 2:
        previous = data.rfind(b"\n", 0, end - 1) + 1
        quotes -= data.count(b'"', previous, end)
        end = previous
    return end


def _decoded(data: bytes, first_line: int, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = first_line + data.count(b"\n", 0, exc.start)
        raise CanvasReportFileError(
            f"{label} line {line}: not UTF-8 (byte {data[exc.start : exc.start + 1]!r}: {exc.reason}); "
            "Canvas writes UTF-8"
        ) from None


def _chain(first: tuple[bytes, int], rest: Iterator[tuple[bytes, int]]) -> Iterator[tuple[bytes, int]]:
    yield first
    yield from rest


def _lead_records(data: bytes, lead: bytes) -> bytes:
    """``lead`` before every line of ``data`` that starts a record (not inside a quoted field)."""
    out = []
    inside = False
    for line in data.split(b"\n")[:-1]:
        out.append(line if inside else lead + line)
        if line.count(b'"') % 2:
            inside = not inside
    return b"\n".join(out) + b"\n"


__all__ = ["BLOCK_BYTES", "MAX_RECORD_BYTES", "AccountReportFile", "CsvPart", "PartInfo"]
