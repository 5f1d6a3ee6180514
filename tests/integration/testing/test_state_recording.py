"""What the emulator records and counts: requests, POSTs, connections, keep-alive."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx
import requests

from airflow_provider_canvas_reports.testing import CanvasEmulator
from tests.emulator_helpers import FAST, TEACHER, reports_url, self_url, start

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing import RecordedRequest


def test_requests_are_recorded_with_lower_case_headers_query_and_body(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    api.post(f"{reports_url(emu, 3)}?x=1", data={"parameters[section_ids][]": "4"})
    record: RecordedRequest = emu.requests[-1]
    assert (record.server, record.method, record.path, record.query) == (
        "api",
        "POST",
        "/api/v1/courses/3/reports/course_pace_docx",
        "x=1",
    )
    assert record.headers["authorization"] == f"Bearer {TEACHER}"
    assert record.body == b"parameters%5Bsection_ids%5D%5B%5D=4"
    assert record.status == 200
    assert record.time > 0


def test_post_count_counts_created_reports_per_course(emu: CanvasEmulator, api: requests.Session) -> None:
    start(api, emu, 1, sections=[1])
    start(api, emu, 1, sections=[1])
    start(api, emu, 2, sections=[1])
    api.post(reports_url(emu, 2, "foo"))
    assert (emu.post_count(1), emu.post_count(2), emu.post_count(3), emu.post_count()) == (2, 1, 0, 3)


def test_keep_alive_requests_share_one_connection(emu: CanvasEmulator, api: requests.Session) -> None:
    for _ in range(3):
        assert api.get(self_url(emu)).status_code == 200
    assert emu.connections_opened["api"] == emu.api_connections == 1
    assert len({record.connection_id for record in emu.requests}) == 1
    requests.get(self_url(emu))
    assert emu.api_connections == 2


def test_storage_connections_are_counted_separately(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.default_behaviour = FAST
    report = start(api, emu, 1, sections=[1])
    body = api.get(f"{reports_url(emu, 1)}/{report['id']}").json()
    with requests.Session() as downloads:
        for _ in range(2):
            assert downloads.get(body["file_url"]).status_code == 200
    assert emu.storage_connections == 1
    assert emu.request_counts["storage"] == 2


def test_reset_records_forgets_requests_and_counters_but_keeps_reports(
    emu: CanvasEmulator, api: requests.Session
) -> None:
    report = start(api, emu, 1, sections=[1])
    emu.reset_records()
    assert (emu.requests, emu.post_count(), emu.api_connections) == ([], 0, 0)
    assert report["id"] in emu.reports


def test_counters_work_without_recording() -> None:
    with CanvasEmulator(record_requests=False) as emu, requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {emu.token}"
        start(session, emu, 1, sections=[1])
        session.get(reports_url(emu, 1))
        assert emu.requests == []
        assert emu.request_counts["api"] == 2
        assert emu.post_count(1) == 1


def test_control_requests_are_neither_recorded_nor_throttled(emu: CanvasEmulator) -> None:
    emu.set_rate_limit_remaining(TEACHER, -100)
    response = requests.get(
        f"{emu.base_url}/__emulator__/stats", headers={"Authorization": f"Bearer {TEACHER}"}
    )
    assert response.status_code == 200
    assert "X-Rate-Limit-Remaining" not in response.headers
    assert emu.requests == []


async def test_many_concurrent_async_pollers_all_finish() -> None:
    with CanvasEmulator() as emu:
        emu.default_behaviour = FAST
        headers = {"Authorization": f"Bearer {emu.token}"}
        async with httpx.AsyncClient(base_url=emu.base_url, headers=headers) as client:

            async def run(course: int) -> str:
                created = await client.post(
                    f"/api/v1/courses/{course}/reports/course_pace_docx",
                    json={"parameters": {"section_ids": [1]}},
                )
                url = f"/api/v1/courses/{course}/reports/course_pace_docx/{created.json()['id']}"
                for _ in range(50):
                    status = (await client.get(url)).json()["status"]
                    if status == "complete":
                        return status
                    await asyncio.sleep(0.01)
                return status

            statuses = await asyncio.gather(*(run(course) for course in range(1, 51)))
        assert statuses == ["complete"] * 50
        assert emu.post_count() == 50
        assert emu.api_connections <= 100
