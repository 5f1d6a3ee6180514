"""Injected faults: every kind, and the filters that choose which requests they hit."""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests

from airflow_provider_canvas_reports.testing import Fault
from tests.emulator_helpers import complete_report, reports_url, self_url, start

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing import CanvasEmulator

THROTTLED = "403 Forbidden (Rate Limit Exceeded)"


def test_500_fault_answers_canvas_json_once(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_fault(Fault("500"))
    failed = api.get(self_url(emu))
    assert failed.status_code == 500
    body = failed.json()
    assert body["errors"] == [{"message": "An error occurred.", "error_code": "internal_server_error"}]
    assert isinstance(body["error_report_id"], int)
    assert api.get(self_url(emu)).status_code == 200


@pytest.mark.parametrize(
    ("kind", "phrase"), [("502", "Bad Gateway"), ("503", "Service Unavailable"), ("504", "")]
)
def test_gateway_faults_answer_html(
    emu: CanvasEmulator, api: requests.Session, kind: str, phrase: str
) -> None:
    emu.add_fault(Fault(kind))
    response = api.get(reports_url(emu, 1))
    assert response.status_code == int(kind)
    assert response.headers["Content-Type"].startswith("text/html")
    assert f"<h1>{kind} {phrase}" in response.text


def test_html_200_fault_answers_a_maintenance_page_where_json_is_due(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.add_fault(Fault("html_200"))
    response = api.get(reports_url(emu, 1))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


def test_throttle_fault_answers_canvas_403_text(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_fault(Fault("throttle"))
    response = api.get(reports_url(emu, 1))
    assert response.status_code == 403
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.strip() == THROTTLED
    assert "Retry-After" not in response.headers


def test_throttle_429_fault_answers_with_retry_after(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_fault(Fault("throttle_429"))
    response = api.get(reports_url(emu, 1))
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert "Rate Limit Exceeded" in response.text


def test_reset_fault_drops_the_connection_without_performing_the_action(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.add_fault(Fault("reset", method="POST"))
    with pytest.raises(requests.ConnectionError):
        api.post(reports_url(emu, 1), json={"parameters": {"section_ids": [1]}})
    assert emu.post_count() == 0
    assert emu.requests[-1].status == 0


def test_slow_fault_delays_the_answer(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_fault(Fault("slow", delay=0.3))
    with pytest.raises(requests.Timeout):
        api.get(self_url(emu), timeout=0.1)
    emu.add_fault(Fault("slow", delay=0.2))
    began = time.monotonic()
    assert api.get(self_url(emu)).status_code == 200
    assert time.monotonic() - began >= 0.2


def test_hold_fault_keeps_the_request_waiting_until_the_faults_are_cleared(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    unheld = api.get(reports_url(emu, 1))  # the answer it holds back: no report yet (Canvas's 500)
    emu.add_fault(Fault("hold", path_contains="/reports/", delay=120))
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(requests.get, reports_url(emu, 1), headers=dict(api.headers), timeout=60)
        deadline = time.monotonic() + 30
        while sum("/reports/" in r.path for r in emu.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sum("/reports/" in r.path for r in emu.requests) == 2, "the held request never arrived"
        assert api.get(self_url(emu)).status_code == 200  # other requests are answered meanwhile
        assert not held.done()
        emu.clear_faults()
        assert held.result(timeout=30).status_code == unheld.status_code


def test_hold_fault_lets_go_after_its_delay(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_fault(Fault("hold", delay=0.2))
    began = time.monotonic()
    assert api.get(self_url(emu)).status_code == 200
    assert time.monotonic() - began >= 0.2


def test_delayed_answer_after_action_still_creates_the_report(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.add_fault(Fault("delay_response_after_action", method="POST", delay=0.5))
    with pytest.raises(requests.Timeout):
        api.post(reports_url(emu, 7), json={"parameters": {"section_ids": [1]}}, timeout=0.15)
    assert emu.post_count(7) == 1
    assert len(emu.reports) == 1


def test_truncate_fault_sends_full_length_header_but_partial_body(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, fast_emu, 8, sections=[1])
    location = requests.get(body["file_url"], allow_redirects=False).headers["Location"]
    fast_emu.add_fault(Fault("truncate", server="storage", truncate_at=1000))
    parts = urlsplit(location)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    assert int(response.getheader("Content-Length")) == body["attachment"]["size"]
    with pytest.raises(http.client.IncompleteRead) as error:
        response.read()
    assert len(error.value.partial) == 1000
    connection.close()


def test_truncate_defaults_to_half_the_body(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    body = complete_report(api, fast_emu, 9, sections=[1])
    fast_emu.add_fault(Fault("truncate", server="storage"))
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(body["file_url"])
    assert requests.get(body["file_url"]).content == fast_emu.file_bytes(body["id"])


def test_stall_fault_pauses_the_body_midway(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    """The first ``truncate_at`` bytes arrive at once; the rest waits ``delay`` seconds (here: for good)."""
    body = complete_report(api, fast_emu, 10, sections=[1])
    location = requests.get(body["file_url"], allow_redirects=False).headers["Location"]
    fast_emu.add_fault(Fault("stall", server="storage", truncate_at=1000, delay=300))
    parts = urlsplit(location)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request("GET", f"{parts.path}?{parts.query}")
    response = connection.getresponse()
    assert int(response.getheader("Content-Length")) == body["attachment"]["size"]
    assert response.read(1000) == fast_emu.file_bytes(body["id"])[:1000]
    assert connection.sock is not None
    connection.sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        response.read(1)
    connection.close()


def test_stall_fault_then_sends_the_rest(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    body = complete_report(api, fast_emu, 11, sections=[1])
    fast_emu.add_fault(Fault("stall", server="storage", delay=0.01))
    assert requests.get(body["file_url"]).content == fast_emu.file_bytes(body["id"])
    assert [r.status for r in fast_emu.requests if r.server == "storage"] == [200]


def test_faults_hit_only_matching_requests_and_count_down(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_fault(Fault("503", count=2, course_id=5, method="GET", path_contains="/reports/"))
    report = start(api, emu, 5, sections=[1])
    other = start(api, emu, 6, sections=[1])
    assert api.get(f"{reports_url(emu, 6)}/{other['id']}").status_code == 200
    statuses = [api.get(f"{reports_url(emu, 5)}/{report['id']}").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_fault_course_filter_matches_alternate_ids(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_course(77, sis_course_id="S77")
    emu.add_fault(Fault("502", course_id=77))
    assert api.get(reports_url(emu, "sis_course_id:S77")).status_code == 502


def test_forever_fault_hits_until_cleared(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_fault(Fault("504", count=-1))
    assert {api.get(self_url(emu)).status_code for _ in range(4)} == {504}
    emu.clear_faults()
    assert api.get(self_url(emu)).status_code == 200


def test_storage_faults_do_not_touch_the_api(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    report = start(api, fast_emu, 10, sections=[1])
    fast_emu.add_fault(Fault("500", server="storage"))
    body = api.get(f"{reports_url(fast_emu, 10)}/{report['id']}").json()
    failed = requests.get(body["file_url"])
    assert failed.status_code == 500
    assert "<Code>InternalError</Code>" in failed.text


def test_unknown_fault_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")


def test_500_after_action_makes_the_report_and_answers_canvas_500(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.add_fault(Fault("500_after_action", method="POST"))
    failed = api.post(reports_url(emu, 60), json={"parameters": {"section_ids": [1]}})
    assert failed.status_code == 500
    assert failed.json()["errors"] == [
        {"message": "An error occurred.", "error_code": "internal_server_error"}
    ]
    assert emu.post_count(60) == 1
    [made] = emu.reports.values()
    assert api.get(reports_url(emu, 60)).json()["id"] == made.id
    assert [r.status for r in emu.requests] == [500, 200]


def test_reset_after_action_makes_the_report_and_drops_the_connection(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    emu.add_fault(Fault("reset_after_action", method="POST"))
    with pytest.raises(requests.ConnectionError):
        api.post(reports_url(emu, 61), json={"parameters": {"section_ids": [1]}})
    assert emu.post_count(61) == 1
    assert emu.requests[-1].status == 0
    assert api.get(reports_url(emu, 61)).status_code == 200


def test_refused_faults_make_no_report(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.add_fault(Fault("500", method="POST"))
    emu.add_fault(Fault("502", method="POST"))
    statuses = [
        api.post(reports_url(emu, 62), json={"parameters": {"section_ids": [1]}}).status_code for _ in "ab"
    ]
    assert statuses == [500, 502]
    assert emu.post_count() == 0 and emu.reports == {}


def test_bad_content_range_answers_206_from_another_byte(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, fast_emu, 63, sections=[1])
    data, size = fast_emu.file_bytes(body["id"]), body["attachment"]["size"]
    fast_emu.add_fault(Fault("bad_content_range", server="storage", count=2))
    assert requests.get(body["file_url"], timeout=5).content == data  # not ranged: not hit
    shifted = requests.get(body["file_url"], headers={"Range": "bytes=1000-"}, timeout=5)
    assert shifted.status_code == 206
    assert shifted.headers["Content-Range"] == f"bytes 500-{size - 1}/{size}"
    assert shifted.content == data[500:]
    from_zero = requests.get(body["file_url"], headers={"Range": "bytes=0-99"}, timeout=5)
    assert (from_zero.headers["Content-Range"], from_zero.content) == (f"bytes 1-99/{size}", data[1:100])
    honest = requests.get(body["file_url"], headers={"Range": "bytes=1000-"}, timeout=5)
    assert honest.headers["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
    assert fast_emu.faults == []
