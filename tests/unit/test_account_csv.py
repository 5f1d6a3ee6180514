"""The streaming account report reader: what it gives back, and every bad input it refuses (no server)."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime, timezone

import pytest

from airflow_provider_canvas_reports import account_csv
from airflow_provider_canvas_reports.account_csv import AccountReportFile
from airflow_provider_canvas_reports.exceptions import CanvasReportFileError
from airflow_provider_canvas_reports.testing.csv_files import (
    HEADERS,
    build_account_report_file,
    build_csv,
    csv_rows,
)

WHEN = datetime(2026, 3, 1, tzinfo=timezone.utc)


def read_rows(source, batch=1000):
    """``{part name: (header, rows)}`` through ``row_batches``."""
    found = {}
    with AccountReportFile(source) as report:
        for info in report.parts:
            with report.open(info) as part:
                found[info.name] = (part.header, [row for rows in part.row_batches(batch) for row in rows])
    return found


def read_copy_text(source, lead=b"L,"):
    """``{part name: records parsed back from csv_blocks}``, and the record counts it reported."""
    found = {}
    with AccountReportFile(source) as report:
        for info in report.parts:
            with report.open(info) as part:
                blocks = list(part.csv_blocks(lead))
            text = b"".join(data for data, _ in blocks).decode()
            found[info.name] = (list(csv.reader(io.StringIO(text, newline=""))), sum(n for _, n in blocks))
    return found


def zip_of(members, method=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 64 bytes: every file spans many, and quoted line breaks fall on their edges."""
    monkeypatch.setattr(account_csv, "BLOCK_BYTES", 64)


@pytest.mark.parametrize("part", sorted(HEADERS))
def test_rows_are_the_generated_rows_whatever_the_block_size(part, monkeypatch):
    data = build_csv(part, 257, seed=5, account_id=9).read()
    expected = list(csv_rows(part, 257, 5, 9))
    for block in (64, 1000, 1 << 20):
        monkeypatch.setattr(account_csv, "BLOCK_BYTES", block)
        ((header, rows),) = read_rows(data, batch=100).values()
        assert header == HEADERS[part]
        assert rows == expected
        ((records, count),) = read_copy_text(data, lead=b'7,"a,b",').values()
        assert records == [["7", "a,b", *row] for row in expected]
        assert count == 257


def test_the_generated_rows_hold_what_trips_csv_readers():
    rows = [cell for part in HEADERS for row in csv_rows(part, 50, 0, 1) for cell in row]
    assert any("\n" in cell for cell in rows)
    assert any('"' in cell for cell in rows)
    assert any("," in cell for cell in rows)
    assert any(not cell.isascii() for cell in rows)
    assert "" in rows


def test_a_zip_gives_each_csv_member_and_lists_the_others(tmp_path):
    report = build_account_report_file("provisioning_csv", ["users", "courses"], 12, 3, 4, WHEN)
    with zipfile.ZipFile(io.BytesIO(report.content.read())) as archive:
        members = [(name, archive.read(name)) for name in archive.namelist()]
    path = tmp_path / "provisioning.zip"
    path.write_bytes(zip_of([*members, ("notes.txt", b"hello"), ("folder/", b"")]))
    with AccountReportFile(path) as opened:
        assert opened.is_zip
        assert [p.name for p in opened.parts] == ["users.csv", "courses.csv"]
        assert [p.stem for p in opened.parts] == ["users", "courses"]
        assert opened.parts[0].label == f"{path}!users.csv"
        assert opened.skipped == ["notes.txt"]
    found = read_rows(path)
    assert found["courses.csv"][1] == list(csv_rows("courses", 12, 3, 4))


def test_a_utf8_byte_order_mark_is_not_part_of_the_header():
    data = b"\xef\xbb\xbfstudent name,score\nZo\xc3\xab,1\n"
    assert read_rows(data) == {"<bytes>": (["student name", "score"], [["Zoë", "1"]])}


def test_a_header_only_csv_has_no_rows():
    assert read_rows(b"a,b\n") == {"<bytes>": (["a", "b"], [])}
    assert read_rows(b"a,b") == {"<bytes>": (["a", "b"], [])}
    assert read_copy_text(b"a,b\n") == {"<bytes>": ([], 0)}


def test_crlf_line_ends_and_a_last_line_without_one_are_read():
    data = b'a,b\r\n1,"x\r\ny"\r\n2,3'
    assert read_rows(data)["<bytes>"][1] == [["1", "x\r\ny"], ["2", "3"]]
    assert read_copy_text(data)["<bytes>"] == ([["L", "1", "x\r\ny"], ["L", "2", "3"]], 2)


BAD = {
    "a short row": (b"a,b,c\n1,2,3\n4,5\n", "line 3: 2 fields where the header has 3"),
    "a long row after a quoted line break": (
        b'a,b\n1,"x\ny"\n2,3,4\n',
        "line 4: 3 fields where the header has 2",
    ),
    "a blank line": (b"a,b\n1,2\n\n3,4\n", "line 3: a blank line where the header has 2"),
    "bytes that are not UTF-8": (b"a,b\n1,2\n3,caf\xe9\n", "line 3: not UTF-8"),
    "a NUL byte": (b"a,b\n1,2\x00\n", "line 2: a NUL byte"),
    "a quote in the middle of a quoted field": (b'a,b\n1,"x"y\n', "line 2: not valid CSV"),
    "a quoted field never closed": (b'a,b\n1,2\n3,"x\n', "line 3: a quoted field is still open"),
    "an empty header": (b"\n1,2\n", "line 1: the header line is empty"),
    "nothing at all": (b"", "empty"),
}


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("view", ["row_batches", "csv_blocks"])
def test_bad_input_names_the_file_and_line(case, view, tmp_path, small_blocks):
    data, message = BAD[case]
    path = tmp_path / "grades.csv"
    path.write_bytes(data)
    read = read_rows if view == "row_batches" else read_copy_text
    with pytest.raises(CanvasReportFileError, match=message) as raised:
        read(path)
    assert str(path) in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_bad_member_is_named_with_its_archive_and_line(tmp_path):
    path = tmp_path / "provisioning.zip"
    path.write_bytes(zip_of([("users.csv", b"a,b\n1,2\n"), ("enrollments.csv", b"a,b\n1,2\n3\n")]))
    with pytest.raises(CanvasReportFileError, match=r"provisioning\.zip!enrollments\.csv line 3: 1 fields"):
        read_rows(path)


def test_a_truncated_zip_is_refused_not_read_as_fewer_members(tmp_path):
    members = [(f"part{i}.csv", b"a,b\n" + b"1,2\n" * 200) for i in range(3)]
    data = zip_of(members, method=zipfile.ZIP_STORED)
    for cut in (len(data) - 10, len(data) // 2, 900):
        path = tmp_path / "cut.zip"
        path.write_bytes(data[:cut])
        with pytest.raises(CanvasReportFileError, match="ZIP"):
            read_rows(path)


def test_a_member_whose_bytes_fail_their_crc_is_refused(tmp_path):
    data = bytearray(zip_of([("users.csv", b"a,b\n" + b"1,2\n" * 100)], method=zipfile.ZIP_STORED))
    at = data.index(b"1,2\n")
    data[at] = ord("9")
    path = tmp_path / "corrupt.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(CanvasReportFileError, match=r"users\.csv: cannot be read"):
        read_rows(path)


def test_a_zip_without_a_csv_is_refused(tmp_path):
    path = tmp_path / "other.zip"
    path.write_bytes(zip_of([("notes.txt", b"x")]))
    with pytest.raises(CanvasReportFileError, match=r"without any \.csv member"):
        read_rows(path)


def test_a_quoted_field_longer_than_the_limit_is_refused(monkeypatch, small_blocks):
    monkeypatch.setattr(account_csv, "MAX_RECORD_BYTES", 1000)
    with pytest.raises(CanvasReportFileError, match="line 2: a record longer than 1000 bytes"):
        read_rows(b'a,b\n1,"' + b"x" * 5000 + b'"\n')
