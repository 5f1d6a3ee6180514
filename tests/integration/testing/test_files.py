"""Report files: DOCX vs ZIP, exact sizes, the verified download URL, the storage host and ranges."""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import requests

from airflow_provider_canvas_reports.testing import ReportBehaviour
from tests.emulator_helpers import complete_report

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing import CanvasEmulator

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OOXML_PARTS = {"[Content_Types].xml", "_rels/.rels", "word/document.xml"}


def _download(file_url: str) -> requests.Response:
    """Follow the verified URL to storage, without credentials, as a client should."""
    response = requests.get(file_url, timeout=10)
    assert response.status_code == 200, response.text
    return response


def _assert_docx(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        assert docx.testzip() is None
        assert set(docx.namelist()) >= OOXML_PARTS
        assert b"<w:document" in docx.read("word/document.xml")


def test_one_section_gives_one_docx(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    body = complete_report(api, fast_emu, 40, sections=[7])
    attachment = body["attachment"]
    assert attachment["display_name"] == "Section 7_Section_Pace.docx"
    assert attachment["content-type"] == DOCX
    assert attachment["upload_status"] == "success"
    response = _download(body["file_url"])
    assert response.headers["Content-Type"] == DOCX
    _assert_docx(response.content)


def test_one_enrollment_gives_one_docx_named_after_the_user(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, fast_emu, 41, enrollments=[9])
    assert body["attachment"]["display_name"] == "Student 9's_Pace.docx"
    _assert_docx(_download(body["file_url"]).content)


def test_several_sections_and_enrollments_give_a_zip_of_docx_files(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, fast_emu, 42, sections=[1, 2], enrollments=[5])
    assert body["attachment"]["display_name"] == "course_pace.zip"
    assert body["attachment"]["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(_download(body["file_url"]).content)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == [
            "Section 1_Section_Pace.docx",
            "Section 2_Section_Pace.docx",
            "Student 5's_Pace.docx",
        ]
        for name in names:
            _assert_docx(archive.read(name))


def test_attachment_size_is_the_exact_byte_count_and_hash_matches(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    fast_emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0, file_size=123_457)
    body = complete_report(api, fast_emu, 43, sections=[1])
    data = _download(body["file_url"]).content
    assert len(data) == body["attachment"]["size"] == 123_457
    assert hashlib.sha256(data).hexdigest() == fast_emu.file_sha256(body["id"])
    assert fast_emu.file_bytes(body["id"]) == data


def test_multi_megabyte_zip_has_correct_crcs(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    fast_emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0, file_size=5_000_000)
    body = complete_report(api, fast_emu, 44, sections=[1], enrollments=[2])
    data = _download(body["file_url"]).content
    assert len(data) == 5_000_000
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            _assert_docx(archive.read(name))


def test_large_file_streams_with_matching_size_and_sha256(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    size = 48 * 1024 * 1024 + 3
    fast_emu.default_behaviour = ReportBehaviour(created_seconds=0, running_seconds=0, file_size=size)
    body = complete_report(api, fast_emu, 45, sections=[1])
    digest, received = hashlib.sha256(), 0
    with requests.get(body["file_url"], stream=True, timeout=30) as response:
        assert int(response.headers["Content-Length"]) == size
        for chunk in response.iter_content(1 << 20):
            digest.update(chunk)
            received += len(chunk)
    assert received == size
    assert digest.hexdigest() == fast_emu.file_sha256(body["id"])


def test_file_url_redirects_to_signed_storage_url(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    body = complete_report(api, fast_emu, 46, sections=[1])
    assert body["file_url"].startswith(
        f"{fast_emu.base_url}/files/{body['attachment']['id']}/download?verifier="
    )
    assert len(parse_qs(urlsplit(body["file_url"]).query)["verifier"][0].split(".")) == 3
    response = requests.get(body["file_url"], allow_redirects=False)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{fast_emu.storage_url}/objects/")
    query = parse_qs(urlsplit(location).query)
    assert query["X-Amz-Expires"] == ["300"] and query["X-Amz-Signature"][0]


def test_download_needs_no_authorization_but_needs_the_verifier(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, fast_emu, 47, sections=[1])
    download = f"{fast_emu.base_url}/files/{body['attachment']['id']}/download"
    assert requests.get(body["file_url"], allow_redirects=False).status_code == 302
    assert requests.get(download, allow_redirects=False).status_code == 401
    assert requests.get(f"{download}?verifier=wrong", allow_redirects=False).status_code == 401
    assert requests.get(f"{fast_emu.base_url}/files/1/download?verifier=x").status_code == 404


def test_storage_rejects_requests_with_authorization(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    body = complete_report(api, fast_emu, 48, sections=[1])
    location = requests.get(body["file_url"], allow_redirects=False).headers["Location"]
    response = requests.get(location, headers={"Authorization": "Bearer teacher-token"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/xml"
    assert "<Code>InvalidArgument</Code>" in response.text
    assert "Only one auth mechanism allowed" in response.text


def test_storage_rejects_a_wrong_signature_or_key(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    body = complete_report(api, fast_emu, 49, sections=[1])
    location = requests.get(body["file_url"], allow_redirects=False).headers["Location"]
    path, _, _ = location.partition("?")
    bad_signature = requests.get(f"{path}?X-Amz-Signature=forged&X-Amz-Expires=300")
    assert bad_signature.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in bad_signature.text
    bad_key = requests.get(location.replace("/objects/", "/objects/x"))
    assert bad_key.status_code == 403


def test_storage_serves_open_ended_and_bounded_ranges(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, fast_emu, 50, sections=[1])
    full = fast_emu.file_bytes(body["id"])
    size = len(full)

    def ranged(spec: str) -> requests.Response:
        return requests.get(body["file_url"], headers={"Range": spec})

    tail = ranged("bytes=1000-")
    assert tail.status_code == 206
    assert tail.headers["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
    assert tail.content == full[1000:]
    head = ranged("bytes=0-9")
    assert (head.status_code, head.content) == (206, full[:10])
    assert ranged(f"bytes={size}-").status_code == 416


def test_storage_head_gives_length_without_body(fast_emu: CanvasEmulator, api: requests.Session) -> None:
    body = complete_report(api, fast_emu, 51, sections=[1])
    location = requests.get(body["file_url"], allow_redirects=False).headers["Location"]
    response = requests.head(location)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == body["attachment"]["size"]
    assert response.content == b""


def test_local_storage_serves_the_bytes_from_the_api_host(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    fast_emu.set_behaviour(52, ReportBehaviour(created_seconds=0, running_seconds=0, storage="local"))
    body = complete_report(api, fast_emu, 52, sections=[1])
    response = requests.get(body["file_url"], allow_redirects=False)
    assert response.status_code == 200
    assert response.content == fast_emu.file_bytes(body["id"])
    assert fast_emu.request_counts["storage"] == 0


def _redirected_requests(emu: CanvasEmulator) -> list[Any]:
    return [r for r in emu.requests if r.server == "storage"]


def test_clients_following_the_redirect_drop_authorization(
    fast_emu: CanvasEmulator, api: requests.Session
) -> None:
    body = complete_report(api, fast_emu, 53, sections=[1])
    response = api.get(body["file_url"])
    assert response.status_code == 200
    assert all("authorization" not in r.headers for r in _redirected_requests(fast_emu))
