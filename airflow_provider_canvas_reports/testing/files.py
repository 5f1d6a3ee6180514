"""The course pace files the emulator serves: real OOXML ``.docx`` files and a ``course_pace.zip``.

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
    from datetime import datetime

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


@dataclass(frozen=True)
class PaceDocument:
    """One course pace document: its base name (without ``.docx``) and its paragraphs."""

    name: str
    paragraphs: tuple[str, ...]


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
    body = "".join(f"<w:p><w:r><w:t>{escape(text)}</w:t></w:r></w:p>" for text in doc.paragraphs)
    document = (
        _XML_HEAD + '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}<w:sectPr/></w:body></w:document>"
    )
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
