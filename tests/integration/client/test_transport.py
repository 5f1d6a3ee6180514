"""Connection errors name the URL (never its query) and the cause, in the sync and the async transport."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from airflow_provider_canvas_reports.exceptions import CanvasTransportError
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from airflow_provider_canvas_reports.testing import Fault, connection_json

PATH = "/api/v1/courses/101/reports/course_pace_docx/7"
#: ``.invalid`` never resolves (RFC 6761), and the resolver says so at once.
UNRESOLVABLE = "cnvas.example.invalid"


def use_canvas(monkeypatch, base_url: str, **extra: object) -> None:
    """Point ``canvas_default`` at ``base_url``: one attempt, short timeouts."""
    extra = {"retry_limit": 1, "connect_timeout": 0.5, "timeout": 0.5, **extra}
    monkeypatch.setenv("AIRFLOW_CONN_CANVAS_DEFAULT", connection_json(base_url, **extra))


def sync_error() -> str:
    with pytest.raises(CanvasTransportError) as caught:
        CanvasHook().get_course_report(101, "course_pace_docx", 7)
    return str(caught.value)


async def async_error() -> str:
    with pytest.raises(CanvasTransportError) as caught:
        await CanvasHook().aget_course_report(101, "course_pace_docx", 7)
    return str(caught.value)


@pytest.fixture
def answers_tls_with_http() -> Iterator[int]:
    """A plain-HTTP server that answers anything it cannot parse, a TLS hello included, with a 400."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so that the thread sees ``stop`` soon
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                conn.recv(4096)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    listener.close()


async def test_refused_connection_names_url_and_cause(monkeypatch, closed_port):
    use_canvas(monkeypatch, f"http://127.0.0.1:{closed_port}")
    where = f"127.0.0.1:{closed_port}"
    expected = f"Canvas GET http://{where}{PATH} failed: connection refused by {where}"
    assert sync_error().startswith(expected)
    assert (await async_error()).startswith(expected)


async def test_unknown_host_is_a_dns_failure(monkeypatch):
    use_canvas(monkeypatch, f"https://{UNRESOLVABLE}")
    expected = f"Canvas GET https://{UNRESOLVABLE}{PATH} failed: could not resolve host {UNRESOLVABLE} (DNS)"
    assert sync_error() == expected
    assert await async_error() == expected


async def test_https_against_a_plain_http_server_is_a_tls_failure(monkeypatch, answers_tls_with_http):
    use_canvas(monkeypatch, f"https://127.0.0.1:{answers_tls_with_http}")
    for message in (sync_error(), await async_error()):
        assert message.startswith(
            f"Canvas GET https://127.0.0.1:{answers_tls_with_http}{PATH} failed: TLS handshake"
        )
        assert "(TLS; is it a plain http:// server?)" in message


async def test_https_against_the_emulators_http_port_says_tls(emulator, monkeypatch):
    """The emulator waits for a request line that a TLS hello never completes: a handshake timeout."""
    port = emulator.base_url.rsplit(":", 1)[1]
    use_canvas(monkeypatch, f"https://127.0.0.1:{port}", connect_timeout=0.3, timeout=0.3)
    for message in (sync_error(), await async_error()):
        assert message.startswith(f"Canvas GET https://127.0.0.1:{port}{PATH} failed: ")
        assert "TLS" in message and "plain http:// server" in message


async def test_no_answer_in_time_is_a_read_timeout(emulator, monkeypatch):
    use_canvas(monkeypatch, emulator.base_url, timeout=0.2)
    emulator.add_fault(Fault(kind="slow", delay=2.0, count=-1))
    where = emulator.base_url.removeprefix("http://")
    cause = f"timed out after 0.2 s waiting for {where} to answer (read timeout)"
    expected = f"Canvas GET {emulator.base_url}{PATH} failed: {cause}"
    assert sync_error() == expected
    assert await async_error() == expected


async def test_reset_connection_is_named(emulator, monkeypatch):
    use_canvas(monkeypatch, emulator.base_url)
    emulator.add_fault(Fault(kind="reset", count=-1))
    for message in (sync_error(), await async_error()):
        assert message.startswith(f"Canvas GET {emulator.base_url}{PATH} failed: ")
        assert "reset" in message or "closed the connection" in message


def test_a_refused_start_is_known_never_to_have_reached_canvas(monkeypatch, closed_port):
    """Refused means nothing was sent: a start may be tried again without looking for its report."""
    use_canvas(monkeypatch, f"http://127.0.0.1:{closed_port}", retry_limit=2, retry_backoff_seconds=0.01)
    with pytest.raises(CanvasTransportError) as caught:
        CanvasHook().start_course_report(101, "course_pace_docx", {"section_ids": [1]})
    assert caught.value.maybe_processed is False
    assert "POST http://127.0.0.1:" in str(caught.value)
