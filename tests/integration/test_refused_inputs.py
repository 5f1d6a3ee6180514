"""
Inputs that are refused before any request, or accepted safely: section ids, long file names,
hostile documents, a typo'd landing root, a file that appears under overwrite=False, and the
error family every refusal belongs to.
"""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import pytest

from airflow_provider_canvas_reports import exceptions
from airflow_provider_canvas_reports.course_pace import read_course_paces
from airflow_provider_canvas_reports.destinations import Destination, check_destination
from airflow_provider_canvas_reports.exceptions import (
    CanvasError,
    CanvasInvalidInputError,
    CanvasReportFileError,
    DestinationError,
    DestinationExistsError,
)
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import connection_json
from airflow_provider_canvas_reports.testing.pace_plans import PlannedSection, default_plan
from tests.dags import canvas_scenarios as scenarios
from tests.helpers import run_dag
from tests.pace_helpers import report_bytes


@pytest.mark.parametrize("section_ids", [["abc"], [True], [-1], [0], "1,2", "1", [1.5], [None]], ids=repr)
def test_ids_canvas_cannot_read_are_refused_before_any_request(emulator, section_ids):
    for key in ("section_ids", "enrollment_ids"):
        with pytest.raises(CanvasInvalidInputError, match=key) as raised:
            CanvasHook().start_course_report(290, "course_pace_docx", {key: section_ids})
        assert isinstance(raised.value, ValueError)
    assert emulator.requests == []  # not even the connection was tried


def test_a_string_that_is_not_a_list_names_render_template_as_native_obj(emulator):
    with pytest.raises(CanvasInvalidInputError, match="render_template_as_native_obj"):
        CanvasHook().start_course_report(290, "course_pace_docx", {"section_ids": "1, 2"})
    assert emulator.post_count() == 0


def test_a_templated_list_rendered_as_a_string_reaches_canvas_as_the_list(emulator):
    result = run_dag(scenarios.templated_sections)
    assert result.state == "success", result.task_states
    (post,) = [r for r in emulator.requests if r.method == "POST"]
    assert json.loads(post.body)["parameters"] == {"section_ids": [1, 2]}


def test_a_report_file_name_over_255_bytes_lands_shortened_the_same_way_every_run(emulator, tmp_path):
    long_name = "Ü" * 130  # 260 bytes in UTF-8: a plausible section name
    emulator.set_course_plan(292, replace(default_plan(292), sections=(PlannedSection(1, long_name),)))
    conf = {"course_id": 292, "destination": f"{tmp_path}/"}
    landed = []
    for _ in range(2):
        result = run_dag(scenarios.download, run_conf=conf)
        assert result.state == "success", result.task_states
        landed.append(result.xcom("download"))
    first, second = landed
    assert first["filename"] == second["filename"]  # deterministic: a re-run replaces the file
    assert first["original_filename"] == f"{long_name}_Section_Pace.docx"
    assert len(first["filename"].encode()) <= 200 and first["filename"].endswith(".docx")
    assert first["filename"].startswith("ÜÜÜ") and "~" in first["filename"]
    files = [p for p in tmp_path.iterdir()]
    assert [p.name for p in files] == [first["filename"]]
    assert read_course_paces(files[0])[0].context_name == long_name


def _bomb_docx(declared: int = 2_000, inflated: int = 300 << 20) -> bytes:
    """
    A .docx whose ``word/document.xml`` declares ``declared`` bytes (and the CRC of its first
    ``declared`` bytes) but inflates to ``inflated``: what a hostile archive looks like.
    """
    real = report_bytes(default_plan(1), sections=[1])
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(real)) as source, zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                out.writestr(info, source.read(info))
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        chunk = b"\0" * (1 << 20)
        deflated = b"".join(compressor.compress(chunk) for _ in range(inflated >> 20)) + compressor.flush()
        bomb = zipfile.ZipInfo("word/document.xml")
        bomb.compress_type = zipfile.ZIP_DEFLATED
        out.writestr(bomb, b"")  # a placeholder entry, patched below
    data = bytearray(buffer.getvalue())
    # Rebuild: replace the placeholder's (empty) deflate stream with the bomb and patch both headers.
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("word/document.xml")
    local = info.header_offset
    name_len, extra_len = (
        int.from_bytes(data[local + 26 : local + 28], "little"),
        int.from_bytes(data[local + 28 : local + 30], "little"),
    )
    start = local + 30 + name_len + extra_len
    end = start + info.compress_size
    data[start:end] = deflated
    crc = zlib.crc32(b"\0" * declared).to_bytes(4, "little")
    sizes = len(deflated).to_bytes(4, "little") + declared.to_bytes(4, "little")
    data[local + 14 : local + 18] = crc
    data[local + 18 : local + 26] = sizes
    shift = len(deflated) - info.compress_size
    eocd = data.rindex(b"PK\x05\x06")
    cd_offset = int.from_bytes(data[eocd + 16 : eocd + 20], "little")
    data[eocd + 16 : eocd + 20] = (cd_offset + shift).to_bytes(4, "little")
    entry = data.index(b"PK\x01\x02" + data[cd_offset + shift + 4 : cd_offset + shift + 4], cd_offset + shift)
    while not data[entry + 46 : entry + 46 + name_len] == b"word/document.xml":
        entry = data.index(b"PK\x01\x02", entry + 4)
    data[entry + 16 : entry + 20] = crc
    data[entry + 20 : entry + 28] = sizes
    return bytes(data)


def test_a_docx_member_that_inflates_far_past_its_declared_size_is_refused_with_flat_memory(tmp_path):
    bomb = tmp_path / "Section 1_Section_Pace.docx"
    bomb.write_bytes(_bomb_docx())
    assert bomb.stat().st_size < 2 << 20  # small on disk, 300 MB inflated
    tracemalloc.start()
    try:
        with pytest.raises(CanvasReportFileError, match=r"Section 1_Section_Pace\.docx"):
            read_course_paces(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, f"peak {peak >> 20} MiB while refusing"
    wrapped = io.BytesIO()
    with zipfile.ZipFile(wrapped, "w") as course_pace_zip:
        course_pace_zip.writestr("Section 1_Section_Pace.docx", bomb.read_bytes())
    with pytest.raises(CanvasReportFileError, match=r"course_pace.zip!Section 1|Section 1_Section_Pace"):
        read_course_paces(io.BytesIO(wrapped.getvalue()))


def test_check_destination_refuses_a_typo_before_anything_is_written(tmp_path):
    (tmp_path / "landing").write_text("a file where the landing folder should be")
    with pytest.raises(DestinationError, match="landing is a file") as raised:
        check_destination(f"{tmp_path}/landing/2024-01-01/")
    assert isinstance(raised.value, (CanvasError, ValueError))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landing"]
    check_destination(f"{tmp_path}/fresh/{{{{ ds }}}}/")  # a folder yet to be made is fine
    assert not (tmp_path / "fresh").exists()


def test_a_file_that_appears_during_a_write_with_overwrite_false_fails_and_changes_nothing(tmp_path):
    target = Destination(f"{tmp_path}/").file("report.docx")
    with pytest.raises(DestinationExistsError, match="overwrite=False") as raised:
        with target.atomic_writer(overwrite=False) as handle:
            handle.write(b"new bytes")
            (tmp_path / "report.docx").write_bytes(b"someone else's file")
    assert isinstance(raised.value, CanvasError)
    assert (tmp_path / "report.docx").read_bytes() == b"someone else's file"
    assert [p.name for p in tmp_path.iterdir()] == ["report.docx"]  # no part file left


def test_every_error_the_provider_defines_is_a_canvas_error():
    classes = [
        value
        for value in vars(exceptions).values()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == exceptions.__name__
    ]
    assert len(classes) > 10
    assert all(issubclass(c, CanvasError) for c in classes), [
        c for c in classes if not issubclass(c, CanvasError)
    ]


def test_a_connection_that_cannot_be_used_is_a_canvas_error_and_a_value_error(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_BROKEN", connection_json("http://canvas.example.com"))
    with pytest.raises(exceptions.CanvasConnectionConfigError, match="plain http") as raised:
        CanvasHook("canvas_broken").settings  # noqa: B018
    assert isinstance(raised.value, CanvasError) and isinstance(raised.value, ValueError)


def test_a_report_without_a_file_url_is_refused_as_invalid_input():
    with pytest.raises(CanvasInvalidInputError, match="no file_url"):
        CanvasHook().download_report_file({"id": 1, "status": "running"}, io.BytesIO())


def test_a_bare_value_error_no_longer_escapes_the_family(tmp_path):
    with pytest.raises(CanvasInvalidInputError):
        Destination("   ")
    assert Path(tmp_path).exists()
