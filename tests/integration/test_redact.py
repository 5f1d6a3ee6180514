"""The access token and a report's file_url verifier leak nowhere a user can read."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.dags import canvas_scenarios as scenarios
from tests.helpers import TOKEN, places_a_user_reads, run_dag


def test_token_and_verifier_appear_in_no_log_xcom_event_or_rendered_field(emulator, tmp_path, capfd, caplog):
    import logging

    caplog.set_level(logging.DEBUG)  # urllib3's request lines included
    emulator.set_behaviour(240, ReportBehaviour(running_seconds=0.5))
    result = run_dag(scenarios.download, run_conf={"course_id": 240, "destination": f"{tmp_path}/"})
    assert result.state == "success", result.task_states

    report = CanvasHook().get_course_report(240, "course_pace_docx", result.xcom("start")["id"])
    verifier = parse_qs(urlsplit(report["file_url"]).query)["verifier"][0]
    assert len(verifier) > 16
    (signature,) = {
        parse_qs(r.query)["X-Amz-Signature"][0] for r in emulator.requests if r.server == "storage"
    }

    captured = capfd.readouterr()
    places = places_a_user_reads(result.run_id, captured.out + captured.err, caplog.text)
    assert "Landed" in places["stdout/stderr"]  # the search really covers the task logs
    assert '"GET /objects/' in places["python logs"]  # ...and urllib3's DEBUG request lines
    for where, text in places.items():
        assert TOKEN not in text, f"token found in {where}"
        assert verifier not in text, f"file_url verifier found in {where}"
        assert signature not in text, f"storage signature found in {where}"


# --- a bad day: error pages that echo the request, DEBUG logging, a storage that refuses -------------
import io  # noqa: E402
import logging  # noqa: E402
import re  # noqa: E402

import pytest  # noqa: E402

from airflow_provider_canvas_reports.exceptions import (  # noqa: E402
    CanvasAuthError,
    CanvasServerError,
    CanvasStorageRefusedError,
)
from airflow_provider_canvas_reports.testing import Fault  # noqa: E402
from tests.helpers import finished_report  # noqa: E402

#: A query value that is not the scrubbed placeholder.
_UNSCRUBBED = re.compile(r"(?i)(verifier|X-Amz-Signature)=(?!\*\*\*)[^&\s\"'<]+")


def secrets_of(report: dict) -> list[str]:
    """The token, the verifier, and (through the emulator's redirect) the storage signature."""
    import requests

    verifier = parse_qs(urlsplit(report["file_url"]).query)["verifier"][0]
    answer = requests.get(
        report["file_url"], headers={"Authorization": f"Bearer {TOKEN}"}, allow_redirects=False
    )
    signature = parse_qs(urlsplit(answer.headers["Location"]).query)["X-Amz-Signature"][0]
    return [TOKEN, verifier, signature]


def _both(capfd) -> str:
    captured = capfd.readouterr()
    return captured.out + captured.err


def assert_clean(text: str, secrets: list[str], where: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret ({secret[:4]}...) is in {where}"
    assert not _UNSCRUBBED.search(text), (
        f"an unscrubbed query value is in {where}: {_UNSCRUBBED.search(text)}"
    )


def test_a_proxy_page_echoing_the_download_url_and_headers_leaks_no_secret(emulator, caplog, capfd):
    report = finished_report(emulator, 280)
    secrets = secrets_of(report)
    emulator.reset_records()
    emulator.add_fault(Fault(kind="502_echo", count=-1, path_contains="/files/"))
    caplog.set_level(logging.DEBUG)

    with pytest.raises(CanvasServerError) as raised:
        CanvasHook(retry_limit=2).download_report_file(report, io.BytesIO())

    echoed = [r for r in emulator.requests if "/files/" in r.path]
    assert len(echoed) == 2 and {r.status for r in echoed} == {502}  # the page came, twice
    logged = caplog.text + _both(capfd)
    assert "While trying to retrieve the URL" in str(raised.value)  # the page is reported...
    assert "Authorization: ***" in str(raised.value)
    assert "retrying" in logged
    assert_clean(str(raised.value), secrets, "the exception")  # ...without what it echoed
    assert_clean(repr(raised.value.canvas_message), secrets, "canvas_message")
    assert_clean(logged, secrets, "the log (DEBUG)")


def test_a_proxy_page_echoing_the_authorization_header_of_an_api_call_leaks_no_token(emulator, caplog, capfd):
    report = finished_report(emulator, 281)
    emulator.add_fault(Fault(kind="502_echo", count=-1, method="GET", course_id=281))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(CanvasServerError) as raised:
        CanvasHook(retry_limit=2).get_course_report(281, "course_pace_docx", report["id"])
    assert "Authorization: ***" in str(raised.value)
    assert_clean(str(raised.value), [TOKEN], "the exception")
    assert_clean(caplog.text + _both(capfd), [TOKEN], "the log (DEBUG)")


def test_debug_request_lines_of_a_download_carry_no_query_string(emulator, caplog):
    report = finished_report(emulator, 282)
    secrets = secrets_of(report)
    caplog.set_level(logging.DEBUG)
    CanvasHook().download_report_file(report, io.BytesIO())
    request_lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any('"GET /files/' in line for line in request_lines)  # urllib3 did log them
    assert any('"GET /objects/' in line for line in request_lines)
    assert_clean("\n".join(request_lines), secrets, "urllib3's DEBUG lines")
    assert_clean(caplog.text, secrets, "the log (DEBUG)")


def test_a_storage_403_reads_the_report_again_for_a_fresh_file_url_and_lands(emulator, caplog, capfd):
    report = finished_report(emulator, 283)
    secrets = secrets_of(report)
    emulator.reset_records()
    emulator.add_fault(Fault(kind="storage_403", count=1, server="storage"))
    buffer = io.BytesIO()
    result = CanvasHook().download_report_file(report, buffer)
    assert result.sha256 == emulator.file_sha256(report["id"])
    assert [r.status for r in emulator.requests if r.server == "storage"] == [403, 200]
    rereads = [r for r in emulator.requests if r.method == "GET" and "/reports/" in r.path]
    assert len(rereads) == 1  # the report was read again for a fresh file_url
    logged = caplog.text + _both(capfd)
    assert "refused the signed URL" in logged
    assert_clean(logged, secrets, "the log")


def test_a_storage_that_keeps_refusing_is_a_storage_error_not_an_auth_error(emulator):
    report = finished_report(emulator, 284)
    secrets = secrets_of(report)
    emulator.add_fault(Fault(kind="storage_403", count=-1, server="storage"))
    with pytest.raises(CanvasStorageRefusedError) as raised:
        CanvasHook(retry_limit=2).download_report_file(report, io.BytesIO())
    assert not isinstance(raised.value, CanvasAuthError)
    assert "SignatureDoesNotMatch" in str(raised.value)
    assert "Not a problem with the Canvas token" in str(raised.value)
    assert_clean(str(raised.value), secrets, "the exception")


def _airflow_redact(text: str) -> str:
    """Airflow's own masker, as task logs and rendered fields go through it."""
    try:
        from airflow.providers.common.compat.sdk import redact
    except ImportError:  # common-compat releases before redact was exported (Airflow 2.11 floors)
        from airflow.utils.log.secrets_masker import redact
    return str(redact(text))


def test_reading_a_report_registers_its_verifier_with_airflows_masker(emulator):
    report = finished_report(emulator, 243)  # read over plain HTTP: nothing registered yet
    verifier = parse_qs(urlsplit(report["file_url"]).query)["verifier"][0]
    # Other tests leave secrets of their own in the masker (on Airflow 2.11 even one letter long),
    # so the verifier is compared as a whole: not masked as one before the read, masked after.
    assert _airflow_redact(verifier) != "***"
    CanvasHook().get_course_report(243, "course_pace_docx", report["id"])
    assert _airflow_redact(verifier) == "***"
    assert verifier not in _airflow_redact(f"the report's file is at {report['file_url']}")
