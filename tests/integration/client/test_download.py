"""The report-file download over real HTTP: where the token goes, resumed ranges, progress lines."""

from __future__ import annotations

import hashlib
import io
import logging

import pytest

from airflow_provider_canvas_reports.client.download import ProgressLog, ReportFileDownloader, human_size
from airflow_provider_canvas_reports.client.settings import CanvasSettings
from airflow_provider_canvas_reports.exceptions import CanvasTransportError
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import Fault, connection_json
from tests.helpers import finished_report


def authorization_seen(emulator) -> dict[str, int]:
    """How many requests each of the emulator's servers received with an ``Authorization`` header."""
    seen = {"api": 0, "storage": 0, "files": 0}
    for record in emulator.requests:
        seen[record.server] += "authorization" in record.headers
    return seen


def download(report: dict) -> tuple[bytes, object]:
    buffer = io.BytesIO()
    result = CanvasHook().download_report_file(report, buffer)
    return buffer.getvalue(), result


def test_file_url_on_the_canvas_origin_gets_the_token_and_storage_does_not(emulator):
    report = finished_report(emulator, 260)
    emulator.reset_records()
    data, result = download(report)
    assert hashlib.sha256(data).hexdigest() == result.sha256 == emulator.file_sha256(report["id"])
    assert authorization_seen(emulator) == {"api": 1, "storage": 0, "files": 0}
    assert emulator.request_counts == {"api": 1, "storage": 1, "files": 0}


def test_files_domain_download_sends_the_token_nowhere(emulator):
    report = finished_report(emulator, 261, file_host="files")
    assert report["file_url"].startswith(emulator.files_url)
    emulator.reset_records()
    data, result = download(report)
    assert hashlib.sha256(data).hexdigest() == result.sha256 == emulator.file_sha256(report["id"])
    assert emulator.request_counts == {"api": 0, "storage": 1, "files": 1}
    assert authorization_seen(emulator) == {"api": 0, "storage": 0, "files": 0}


def test_another_origin_on_the_same_server_gets_no_token(emulator, monkeypatch):
    """Canvas configured as ``localhost``: a ``file_url`` naming ``127.0.0.1`` is another origin."""
    port = emulator.base_url.rsplit(":", 1)[1]
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(f"http://localhost:{port}"))
    report = finished_report(emulator, 262)
    assert report["file_url"].startswith("http://127.0.0.1:")
    emulator.reset_records()
    data, result = download(report)
    assert hashlib.sha256(data).hexdigest() == result.sha256 == emulator.file_sha256(report["id"])
    assert emulator.request_counts["api"] == 1
    assert authorization_seen(emulator) == {"api": 0, "storage": 0, "files": 0}


@pytest.mark.parametrize(
    ("url", "gets_token"),
    [
        ("https://school.instructure.com/files/1/download?verifier=v", True),
        ("https://SCHOOL.instructure.com:443/files/1/download", True),
        ("http://school.instructure.com/files/1/download", False),
        ("https://school.instructure.com:8443/files/1/download", False),
        ("https://files.school.instructure.com/files/1/download", False),
        ("https://school.instructure.com.evil.example/files/1/download", False),
        ("https://storage.example/objects/x?X-Amz-Signature=s", False),
    ],
)
def test_only_the_configured_scheme_host_and_port_get_the_token(url, gets_token):
    import requests

    canvas = requests.Session()
    downloader = ReportFileDownloader(
        canvas, CanvasSettings("https://school.instructure.com", "t"), logging.getLogger()
    )
    assert (downloader.session_for(url) is canvas) is gets_token
    assert "Authorization" not in downloader.storage_session.headers


def test_resume_answered_from_the_wrong_byte_restarts_from_zero(emulator):
    report = finished_report(emulator, 263, file_size=3_000_000)
    emulator.add_fault(Fault(kind="truncate", server="storage", count=1))
    emulator.add_fault(Fault(kind="bad_content_range", server="storage", count=1))
    emulator.reset_records()
    data, result = download(report)
    assert result.size == len(data) == report["attachment"]["size"]
    assert hashlib.sha256(data).hexdigest() == result.sha256 == emulator.file_sha256(report["id"])
    storage = [r for r in emulator.requests if r.server == "storage"]
    # cut short; resumed with a Range but answered from another byte; the whole file again
    assert [("range" in r.headers, r.status) for r in storage] == [(False, 200), (True, 206), (False, 200)]


def test_resume_answered_from_the_right_byte_continues(emulator):
    report = finished_report(emulator, 264, file_size=3_000_000)
    emulator.add_fault(Fault(kind="truncate", server="storage", count=1, truncate_at=1_000_000))
    emulator.reset_records()
    data, result = download(report)
    assert hashlib.sha256(data).hexdigest() == result.sha256 == emulator.file_sha256(report["id"])
    storage = [r for r in emulator.requests if r.server == "storage"]
    assert [r.headers.get("range") for r in storage] == [None, "bytes=1000000-"]
    assert [r.status for r in storage] == [200, 206]


def test_unreachable_file_url_names_the_host_and_cause_but_never_the_verifier(
    emulator, monkeypatch, closed_port
):
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(emulator.base_url, retry_limit=2))
    report = {"id": 1, "file_url": f"http://127.0.0.1:{closed_port}/files/9/download?verifier=sekrit"}
    with pytest.raises(CanvasTransportError) as caught:
        CanvasHook().download_report_file(report, io.BytesIO())
    message = str(caught.value)
    assert message.startswith(f"Report file GET http://127.0.0.1:{closed_port}/files/9/download failed: ")
    assert "connection refused" in message
    assert "sekrit" not in message and "verifier" not in message


@pytest.mark.parametrize(
    ("size", "text"),
    [(0, "0 bytes"), (512, "512 bytes"), (20_000, "19.5 KiB"), (3 * 2**20, "3.0 MiB"), (2**30, "1.0 GiB")],
)
def test_sizes_read_in_the_unit_that_fits(size, text):
    assert human_size(size) == text


def test_progress_of_a_small_file_reads_in_kib(caplog):
    log = logging.getLogger("canvas-progress-test")
    with caplog.at_level(logging.INFO, logger="canvas-progress-test"):
        ProgressLog(log, 20_000)(20_000, final=True)
        ProgressLog(log, None)(700, final=True)
    assert caplog.messages[0].startswith("Downloaded 19.5 KiB of 19.5 KiB (100.0%), ")
    assert caplog.messages[1].startswith("Downloaded 700 bytes, ")
