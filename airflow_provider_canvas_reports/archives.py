"""
Landed report files as streams: a path, the bytes or a file object opened for reading, and a
ZIP archive opened so that a truncated one is refused.

Both report readers use this (:mod:`~airflow_provider_canvas_reports.course_pace` for ``.docx``
files and their ZIPs, :mod:`~airflow_provider_canvas_reports.account_csv` for CSVs and their
ZIPs). A ZIP is read through its central directory and its members one at a time, by name:
nothing is extracted to disk.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Union

from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError, CanvasReportFileError

if TYPE_CHECKING:
    from collections.abc import Iterator

#: What the readers accept: a path, the bytes, or a binary file object.
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

#: A stream that cannot seek is copied to a temporary file; up to this many bytes stay in memory.
SPOOL_BYTES = 8 * 1024 * 1024

#: How every ZIP (and so every ``.docx``) starts: a local file header, or an empty archive's end.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@contextmanager
def opened(source: Source, what: str) -> Iterator[tuple[IO[bytes], str]]:
    """
    A seekable binary stream over ``source`` and a name for messages. An empty source is refused
    (``what`` names what it should have been, e.g. ``"a course pace report"``).

    :raises CanvasReportFileError: the source is empty.
    :raises CanvasInvalidInputError: the source is neither a path, bytes nor a binary file object.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if not data:
            raise CanvasReportFileError(f"<bytes>: empty, not {what}")
        yield io.BytesIO(data), "<bytes>"
        return
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise CanvasReportFileError(f"{path}: empty file, not {what}")
            yield handle, path
        return
    if not hasattr(source, "read"):
        raise CanvasInvalidInputError(
            f"expected a path, bytes or a binary file object, not {type(source).__name__}"
        )
    name = str(getattr(source, "name", None) or getattr(source, "path", None) or "<stream>")
    if seekable(source):
        start = source.tell()
        if not source.read(1):
            raise CanvasReportFileError(f"{name}: empty, not {what}")
        source.seek(start)
        yield source, name
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        shutil.copyfileobj(source, spool)
        if not spool.tell():
            raise CanvasReportFileError(f"{name}: empty, not {what}")
        spool.seek(0)
        yield spool, name  # type: ignore[misc]


def seekable(stream: IO[bytes]) -> bool:
    """Whether ``stream`` can seek (a broken or closed stream cannot)."""
    try:
        return bool(stream.seekable())
    except (AttributeError, OSError, ValueError):
        return False


def is_zip(stream: IO[bytes]) -> bool:
    """Whether a seekable stream starts like a ZIP archive (its position is kept)."""
    start = stream.tell()
    head = stream.read(4)
    stream.seek(start)
    return head in ZIP_MAGIC


def open_zip(stream: IO[bytes], name: str, what: str) -> zipfile.ZipFile:
    """
    ``stream`` as a ZIP archive, refusing a truncated one. ``what`` says what else the file could
    have been, for the message when it is no ZIP at all (e.g. ``"neither a .docx nor a
    course_pace.zip"``).

    :raises CanvasReportFileError: not a ZIP, or a broken or truncated one.
    """
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        raise CanvasReportFileError(f"{name}: not a ZIP archive: {what} ({exc})") from exc
    except (OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise CanvasReportFileError(f"{name}: a broken ZIP archive ({exc})") from exc
    # zipfile accepts bytes before the first member (self-extracting archives). A truncated
    # archive can look like that: a stored member near its end then passes for the whole file,
    # and zipfile reads it as an archive of fewer members.
    if archive.filelist and min(info.header_offset for info in archive.filelist) != 0:
        archive.close()
        raise CanvasReportFileError(
            f"{name}: a broken or truncated ZIP archive (data before its first member)"
        )
    return archive


__all__ = ["SPOOL_BYTES", "Source", "is_zip", "open_zip", "opened", "seekable"]
