"""The files domain: ``file_url`` on a third server that checks the verifier and knows no tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import requests

from airflow_provider_canvas_reports.testing import Fault, ReportBehaviour
from tests.emulator_helpers import TEACHER, complete_report

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing import CanvasEmulator


@pytest.fixture
def files_emu(emu: CanvasEmulator) -> CanvasEmulator:
    """Fast reports whose ``file_url`` is on the files domain."""
    emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0, file_host="files")
    return emu


def _authorization_headers(emu: CanvasEmulator) -> dict[str, int]:
    counts = dict.fromkeys(("api", "storage", "files"), 0)
    for record in emu.requests:
        counts[record.server] += "authorization" in record.headers
    return counts


def test_file_url_names_the_files_domain_and_the_api_stays_the_same(
    files_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, files_emu, 50, sections=[1])
    url = urlsplit(body["file_url"])
    assert f"{url.scheme}://{url.netloc}" == files_emu.files_url != files_emu.base_url
    assert url.path == f"/files/{body['attachment']['id']}/download"
    assert body["attachment"]["url"] == body["file_url"]
    assert files_emu.report_json(body["id"])["file_url"] == body["file_url"]


def test_files_domain_redirects_to_storage_and_the_download_carries_no_token(
    files_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, files_emu, 51, sections=[1])
    files_emu.reset_records()
    hop = requests.get(body["file_url"], allow_redirects=False, timeout=5)
    assert hop.status_code == 302
    assert hop.headers["Location"].startswith(f"{files_emu.storage_url}/objects/")
    data = requests.get(hop.headers["Location"], timeout=5).content
    assert data == files_emu.file_bytes(body["id"])
    assert files_emu.request_counts == {"api": 0, "storage": 1, "files": 1}
    assert files_emu.connections_opened == {"api": 0, "storage": 1, "files": 1}
    assert _authorization_headers(files_emu) == {"api": 0, "storage": 0, "files": 0}


def test_recording_shows_which_server_received_a_token(
    files_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, files_emu, 52, sections=[1])
    # A careless client: the session sends its token to the files domain (requests drops it on the
    # redirect to storage, another origin).
    assert api.get(body["file_url"], timeout=5).status_code == 200
    counts = _authorization_headers(files_emu)
    assert counts == {
        "api": len([r for r in files_emu.requests if r.server == "api"]),
        "storage": 0,
        "files": 1,
    }
    [files] = [r for r in files_emu.requests if r.server == "files"]
    assert files.headers["authorization"] == f"Bearer {TEACHER}"


def test_files_domain_checks_the_verifier_and_ignores_tokens(
    files_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, files_emu, 53, sections=[1])
    bare = body["file_url"].partition("?")[0]
    assert requests.get(f"{bare}?verifier=wrong", timeout=5).status_code == 401
    assert api.get(bare, allow_redirects=False, timeout=5).status_code == 401  # the owner's token is no help
    assert requests.get(f"{files_emu.files_url}/files/999999/download", timeout=5).status_code == 404
    assert requests.get(f"{files_emu.files_url}/api/v1/users/self", timeout=5).status_code == 404
    assert files_emu.request_counts["storage"] == 0


def test_files_domain_serves_local_files_itself(emu: CanvasEmulator, api: requests.Session) -> None:
    emu.default_behaviour = ReportBehaviour(
        created_seconds=0, running_seconds=0, file_host="files", storage="local"
    )
    body = complete_report(api, emu, 54, sections=[1])
    response = requests.get(body["file_url"], allow_redirects=False, timeout=5)
    assert response.status_code == 200
    assert response.content == emu.file_bytes(body["id"])
    assert emu.request_counts["storage"] == 0


def test_api_host_download_route_still_serves_files_domain_reports(
    files_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, files_emu, 55, sections=[1])
    on_api = f"{files_emu.base_url}{urlsplit(body['file_url']).path}?{urlsplit(body['file_url']).query}"
    assert requests.get(on_api, allow_redirects=False, timeout=5).status_code == 302


def test_faults_can_target_the_files_domain(files_emu: CanvasEmulator, api: requests.Session) -> None:
    body = complete_report(api, files_emu, 56, sections=[1])
    files_emu.add_fault(Fault("503", server="files", course_id=57))
    files_emu.add_fault(Fault("503", server="files", course_id=56))
    assert requests.get(body["file_url"], timeout=5).status_code == 503
    assert requests.get(body["file_url"], timeout=5).status_code == 200
    statuses = [(r.server, r.status) for r in files_emu.requests if r.server != "api"]
    assert statuses == [("files", 503), ("files", 302), ("storage", 200)]
    assert [fault.course_id for fault in files_emu.faults] == [57]


def test_unknown_file_host_is_rejected() -> None:
    with pytest.raises(ValueError, match="file_host"):
        ReportBehaviour(file_host="cdn")
