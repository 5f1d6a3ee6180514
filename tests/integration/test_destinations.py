"""
A destination that cannot be written fails the download before anything is fetched: one try (no
retry can fix it), a message naming the destination as given, and nothing created.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dags import canvas_data_stack as stack
from tests.helpers import run_dag


def _under_a_file(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "landing").write_text("a file, not a folder")
    return f"{tmp_path}/landing/2024-01-01/", f"{tmp_path}/landing is a file"


def _folder_without_slash(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "landing").mkdir()
    return f"{tmp_path}/landing", "is a folder; end the destination with '/'"


def _unwritable_folder(tmp_path: Path) -> tuple[str, str]:
    # sysfs refuses new files to everyone, root included: an unwritable folder on any Linux.
    return "/sys/", "cannot write in /sys"


def _parent_cannot_be_created(tmp_path: Path) -> tuple[str, str]:
    return "/sys/canvas/landing/report.zip", "cannot create the folder /sys/canvas/landing in /sys"


@pytest.mark.parametrize(
    "case", [_under_a_file, _folder_without_slash, _unwritable_folder, _parent_cannot_be_created]
)
def test_unwritable_destination_fails_once_before_any_request(emulator, tmp_path, capfd, case):
    destination, problem = case(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())

    result = run_dag(stack.retried, run_conf={"course_id": 243, "report_id": 1, "destination": destination})

    assert (result.state, result.task_tries["download"]) == ("failed", 1)
    out = capfd.readouterr().out
    assert f"Cannot write the report to destination {destination!r}" in out
    assert problem in out
    assert ".part" not in out
    assert emulator.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_a_missing_parent_is_created_when_the_file_lands(emulator, tmp_path):
    from tests.helpers import download_conf, finished_report

    report = finished_report(emulator, 244, sections=(1, 2))
    result = run_dag(stack.retried, run_conf=download_conf(244, report, tmp_path / "a" / "b" / "pace.zip"))
    assert result.state == "success", result.task_states
    assert (tmp_path / "a" / "b" / "pace.zip").stat().st_size == report["attachment"]["size"]
    assert sorted(p.name for p in (tmp_path / "a" / "b").iterdir()) == ["pace.zip"]


@pytest.mark.parametrize(
    ("uri", "path"),
    [
        ("/data/Canvas Reports/x.zip", "/data/Canvas Reports/x.zip"),
        ("relative/x.zip", "relative/x.zip"),
        ("file:///data/Canvas Reports/x.zip", "/data/Canvas Reports/x.zip"),
        ("file:///data/Canvas%20Reports/x.zip", "/data/Canvas Reports/x.zip"),
        ("local:///data/x.zip", "/data/x.zip"),
        ("FILE:///data/x.zip", "/data/x.zip"),
        ("file:/data/x.zip", "/data/x.zip"),
        ("s3://bucket/x.zip", None),
        ("s3://aws_default@bucket/x.zip", None),
        ("gs://bucket/x.zip", None),
    ],
)
def test_one_function_decides_whether_a_uri_is_local(uri, path):
    from airflow_provider_canvas_reports.destinations import Destination, local_path_of
    from airflow_provider_canvas_reports.lineage import file_name

    assert local_path_of(uri) == path
    if path is not None:  # every reader agrees with it
        assert file_name(uri) == ("file", path)
        assert str(Destination(uri).local) == str(Path(path).absolute())
