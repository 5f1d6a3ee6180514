"""DownloadCourseReportOperator in DAGs run with ``dag.test()``, writing real files."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest

from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour
from tests.dags import canvas_scenarios as scenarios
from tests.dags.download_keep_existing import keep_existing
from tests.helpers import finished_report, run_dag

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def download(emulator, report, destination, course_id) -> object:
    return run_dag(
        scenarios.download_only,
        run_conf={"course_id": course_id, "report_id": report["id"], "destination": str(destination)},
    )


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_single_section_lands_one_docx_with_its_sha256(emulator, tmp_path):
    report = finished_report(emulator, 230)
    result = download(emulator, report, f"{tmp_path}/landing/", 230)

    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    filename = report["attachment"]["display_name"]
    path = tmp_path / "landing" / filename
    assert filename.endswith(".docx")
    assert landed == {
        "uri": f"file://{path}",  # as ObjectStoragePath writes it: Canvas's names have spaces
        "filename": filename,
        "size": report["attachment"]["size"],
        "sha256": emulator.file_sha256(report["id"]),
        "content_type": DOCX,
        "report_id": report["id"],
        "course_id": 230,
        "report_type": "course_pace_docx",
    }
    assert hashlib.sha256(path.read_bytes()).hexdigest() == landed["sha256"]
    assert zipfile.ZipFile(path).testzip() is None
    assert files_in(tmp_path / "landing") == [filename]


def test_the_uri_of_a_file_in_a_folder_with_spaces_reopens_with_object_storage_path(emulator, tmp_path):
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    report = finished_report(emulator, 241)
    folder = tmp_path / "Canvas Reports #1 (Zoë)"
    result = download(emulator, report, f"{folder}/", 241)

    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    path = folder / report["attachment"]["display_name"]
    assert landed["uri"] == f"file://{path}"
    reopened = ObjectStoragePath(landed["uri"])
    assert hashlib.sha256(reopened.read_bytes()).hexdigest() == landed["sha256"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == landed["sha256"]


# A writer as the download writes its part file: created, locked, half written; it waits on stdin.
PART_WRITER = """
import fcntl, sys
handle = open(sys.argv[1], "xb")
fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
handle.write(b"x" * 100_000)
handle.flush()
print("writing", flush=True)
sys.stdin.read()
"""


def part_writer(part: Path) -> subprocess.Popen:
    writer = subprocess.Popen(
        [sys.executable, "-c", PART_WRITER, str(part)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline() == "writing\n"
    return writer


def test_a_part_file_left_by_a_killed_try_is_removed_and_a_living_writers_is_not(emulator, tmp_path, caplog):
    report = finished_report(emulator, 242)
    target = tmp_path / "out" / "pace.docx"
    target.parent.mkdir()
    killed = part_writer(target.with_name(".pace.docx.0123456789ab.part"))
    killed.kill()  # SIGKILL: no clean-up runs, the kernel drops its lock
    assert killed.wait() == -signal.SIGKILL
    living = part_writer(target.with_name(".pace.docx.ba9876543210.part"))
    other_target = target.with_name(".notes.docx.0123456789ab.part")
    other_target.write_bytes(b"not this target's")
    try:
        result = download(emulator, report, target, 242)
        assert result.state == "success", result.task_states
        assert files_in(target.parent) == sorted(
            [".notes.docx.0123456789ab.part", ".pace.docx.ba9876543210.part", "pace.docx"]
        )
        assert hashlib.sha256(target.read_bytes()).hexdigest() == emulator.file_sha256(report["id"])
        assert "pace.docx.0123456789ab.part (100000 bytes), left by an earlier try" in caplog.text
    finally:
        living.stdin.close()
        living.wait()


def test_several_sections_land_a_zip_of_docx_files(emulator, tmp_path):
    report = finished_report(emulator, 231, sections=(1, 2, 3))
    result = download(emulator, report, tmp_path / "course_pace.zip", 231)
    assert result.state == "success", result.task_states
    with zipfile.ZipFile(tmp_path / "course_pace.zip") as archive:
        members = archive.namelist()
        assert archive.testzip() is None
    assert len(members) == 3
    assert all(name.endswith(".docx") for name in members)


def test_storage_never_sees_authorization(emulator, tmp_path):
    report = finished_report(emulator, 232)
    result = download(emulator, report, f"{tmp_path}/", 232)
    assert result.state == "success", result.task_states
    storage = [r for r in emulator.requests if r.server == "storage"]
    assert storage, "the download must go through the storage redirect"
    assert all("authorization" not in r.headers for r in storage)
    canvas_file_gets = [r for r in emulator.requests if r.server == "api" and "/download" in r.path]
    assert len(canvas_file_gets) == 1


def test_bytes_served_by_canvas_itself_also_land(emulator, tmp_path):
    report = finished_report(emulator, 233, storage="local")
    result = download(emulator, report, f"{tmp_path}/", 233)
    assert result.state == "success", result.task_states
    assert result.xcom("download")["sha256"] == emulator.file_sha256(report["id"])
    assert not [r for r in emulator.requests if r.server == "storage"]


def test_truncated_transfer_is_retried_and_lands_complete(emulator, tmp_path):
    report = finished_report(emulator, 234, file_size=3_000_000)
    emulator.add_fault(Fault(kind="truncate", server="storage", count=2))
    result = download(emulator, report, f"{tmp_path}/", 234)
    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    assert landed["size"] == report["attachment"]["size"]
    assert landed["sha256"] == emulator.file_sha256(report["id"])
    assert len([r for r in emulator.requests if r.server == "storage"]) == 3
    assert files_in(tmp_path) == [report["attachment"]["display_name"]]


def test_persistent_truncation_fails_and_leaves_nothing(emulator, tmp_path):
    report = finished_report(emulator, 235, file_size=1_000_000)
    emulator.add_fault(Fault(kind="truncate", server="storage", count=-1))
    result = download(emulator, report, f"{tmp_path}/out/", 235)
    assert result.state == "failed"
    assert files_in(tmp_path / "out") == []


def test_report_not_complete_is_a_clear_error_and_writes_nothing(emulator, tmp_path, capfd):
    # Held in 'running' from the moment it is made: no 'created' phase for a fast machine to catch.
    emulator.set_behaviour(236, ReportBehaviour(hold=True, created_seconds=0))
    report = CanvasHook().start_course_report(236, "course_pace_docx", {"section_ids": [1]})
    result = download(emulator, report, f"{tmp_path}/out/", 236)
    assert result.state == "failed"
    assert f"report {report['id']} of course 236 is 'running', not complete" in capfd.readouterr().out
    assert not (tmp_path / "out").exists()


def test_existing_destination_without_overwrite_is_left_alone(emulator, tmp_path, capfd):
    report = finished_report(emulator, 237)
    target = tmp_path / report["attachment"]["display_name"]
    target.write_bytes(b"yesterday's file")
    result = run_dag(
        keep_existing, run_conf={"course_id": 237, "report_id": report["id"], "destination": f"{tmp_path}/"}
    )
    assert result.state == "failed"
    assert "already exists and overwrite=False" in capfd.readouterr().out
    assert target.read_bytes() == b"yesterday's file"
    assert not [r for r in emulator.requests if r.server == "storage"]


def _rss_bytes() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_large_file_streams_in_flat_memory(emulator, tmp_path):
    size = 200 * 2**20
    report = finished_report(emulator, 238, file_size=size)
    assert report["attachment"]["size"] >= size
    baseline = _rss_bytes()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_bytes())
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with open(tmp_path / "big.docx", "wb") as handle:
        result = CanvasHook().download_report_file(report, handle)
    done.set()
    sampler.join()
    assert result.size == report["attachment"]["size"]
    assert result.sha256 == emulator.file_sha256(report["id"])
    assert os.path.getsize(tmp_path / "big.docx") == result.size
    assert peak - baseline < 64 * 2**20, f"RSS grew by {(peak - baseline) / 2**20:.0f} MiB"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Section 1_Section_Pace.docx", "Section 1_Section_Pace.docx"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a/b\\c.docx", "a_b_c.docx"),
        (".hidden.zip", "hidden.zip"),
        ("x\n.docx", "x_.docx"),
    ],
)
def test_attachment_names_become_plain_file_names(name, expected):
    from airflow_provider_canvas_reports.destinations import safe_filename

    assert safe_filename(name) == expected


@pytest.mark.parametrize("name", ["", "..", " . ", None])
def test_unusable_attachment_names_are_refused(name):
    from airflow_provider_canvas_reports.destinations import safe_filename

    with pytest.raises(ValueError, match="filename"):
        safe_filename(name)


def test_object_storage_destinations_are_written_atomically(emulator):
    """Any ObjectStoragePath URI works; fsspec's in-memory filesystem stands in for s3:// here."""
    from airflow.providers.common.compat.sdk import ObjectStoragePath
    from fsspec.implementations.memory import MemoryFileSystem

    try:
        from airflow.sdk.io.store import attach
    except ImportError:  # Airflow 2
        from airflow.io.store import attach
    attach(protocol="memory", alias="memory", fs=MemoryFileSystem())

    report = finished_report(emulator, 239, sections=(1, 2))
    result = download(emulator, report, "memory://landing/canvas/", 239)
    assert result.state == "success", result.task_states
    landed = result.xcom("download")
    assert landed["uri"].startswith("memory://")
    path = ObjectStoragePath(landed["uri"])
    assert path.name == "course_pace.zip"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == landed["sha256"] == emulator.file_sha256(report["id"])
    assert [p.name for p in ObjectStoragePath("memory://landing/canvas/").iterdir()] == ["course_pace.zip"]
