"""A held report that finishes on its own after a number of status reads: a deferral at any speed."""

from __future__ import annotations

import requests

from airflow_provider_canvas_reports.testing import CanvasEmulator, ReportBehaviour


def test_a_held_report_completes_on_its_second_status_read():
    with CanvasEmulator(tokens={"t-teacher-1": "teacher"}) as emu, requests.Session() as session:
        emu.set_behaviour(None, ReportBehaviour(hold=True, reads_to_finish=2, created_seconds=0))
        session.headers["Authorization"] = "Bearer t-teacher-1"
        url = f"{emu.base_url}/api/v1/courses/5/reports/course_pace_docx"
        report = session.post(url, json={"parameters": {"section_ids": [1]}}).json()
        statuses = [session.get(f"{url}/{report['id']}").json()["status"] for _ in range(3)]
        assert statuses == ["running", "complete", "complete"]
        assert session.get(url).json()["status"] == "complete"  # the last report: not a status read


def test_a_held_account_report_completes_on_its_second_status_read():
    with CanvasEmulator() as emu, requests.Session() as session:
        emu.set_account_behaviour(None, ReportBehaviour(hold=True, reads_to_finish=2, created_seconds=0))
        session.headers["Authorization"] = f"Bearer {emu.token}"
        url = f"{emu.base_url}/api/v1/accounts/self/reports/grade_export_csv"
        report = session.post(url, json={"parameters": {}}).json()
        statuses = [session.get(f"{url}/{report['id']}").json()["status"] for _ in range(3)]
        assert statuses == ["running", "complete", "complete"]
        assert session.get(url).json()[0]["status"] == "complete"  # the runs list: not a status read
