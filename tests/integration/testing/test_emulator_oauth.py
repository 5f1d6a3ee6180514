"""The emulator's developer keys: ``POST /login/oauth2/token``, access tokens that expire, and
scoped keys (a call outside the key's scopes is a 401 without ``WWW-Authenticate``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from airflow_provider_canvas_reports.testing import CanvasEmulator, EmulatorControl

KEY = {
    "client_id": "10000000000042",
    "client_secret": "s3cr3t-client-secret",
    "refresh_token": "1~refresh-abc",
}


@pytest.fixture
def emu() -> Iterator[CanvasEmulator]:
    with CanvasEmulator(tokens={}) as emulator:
        yield emulator


def token_call(emu: CanvasEmulator, **overrides: str) -> requests.Response:
    form = {"grant_type": "refresh_token", **KEY, **overrides}
    return requests.post(f"{emu.base_url}/login/oauth2/token", data=form)


def me(emu: CanvasEmulator, token: str, path: str = "/api/v1/users/self") -> requests.Response:
    return requests.get(f"{emu.base_url}{path}", headers={"Authorization": f"Bearer {token}"})


def test_a_refresh_token_gives_an_hour_long_access_token_and_no_new_refresh_token(emu):
    emu.add_developer_key(**KEY)
    answer = token_call(emu)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert "refresh_token" not in body
    assert me(emu, body["access_token"]).json()["id"] == body["user"]["id"]
    assert emu.tokens_issued(KEY["client_id"]) == 1


def test_an_expired_access_token_gets_401_with_www_authenticate(emu):
    emu.add_developer_key(**KEY)
    token = token_call(emu).json()["access_token"]
    assert emu.expire_access_tokens() == 1
    answer = me(emu, token)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="canvas-lms"'
    assert me(emu, token_call(emu).json()["access_token"]).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "status", "error", "description"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", "invalid client"),
        ({"client_id": "999"}, 401, "invalid_client", "unknown client"),
        ({"refresh_token": "1~unknown"}, 400, "invalid_request", "refresh_token not found"),
        ({"grant_type": "client_credentials"}, 400, "unsupported_grant_type", None),
    ],
)
def test_a_rejected_key_or_grant_is_answered_as_canvas_answers_it(emu, overrides, status, error, description):
    emu.add_developer_key(**KEY)
    answer = token_call(emu, **overrides)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    if description:
        assert answer.json()["error_description"] == description
    assert emu.tokens_issued() == 0


def test_other_oauth_servers_call_an_unknown_refresh_token_invalid_grant(emu):
    emu.add_developer_key(**KEY)
    emu.oauth_grant_error = "invalid_grant"
    assert token_call(emu, refresh_token="1~gone").json()["error"] == "invalid_grant"


def test_a_scoped_key_may_call_only_its_routes(emu):
    scopes = ["url:GET|/api/v1/users/:id", "url:GET|/api/v1/courses/:course_id/sections"]
    emu.add_developer_key(**KEY, scopes=scopes)
    token = token_call(emu).json()["access_token"]
    assert me(emu, token).status_code == 200
    assert me(emu, token, "/api/v1/courses/5/sections").status_code == 200
    refused = me(emu, token, "/api/v1/courses/5/reports/course_pace_docx")
    assert refused.status_code == 401
    assert refused.json() == {"errors": [{"message": "Insufficient scopes on access token."}]}
    assert "WWW-Authenticate" not in refused.headers


def test_developer_keys_over_the_control_api(emu):
    control = EmulatorControl(emu.base_url)
    control.add_developer_key(**KEY, expires_in=120)
    body = token_call(emu).json()
    assert body["expires_in"] == 120
    assert control.tokens_issued() == 1
    assert control.expire_access_tokens() == 1
    assert me(emu, body["access_token"]).status_code == 401


def test_a_stopped_emulator_comes_back_on_its_ports_with_its_state(emu):
    emu.add_developer_key(**KEY)
    token = token_call(emu).json()["access_token"]
    port = emu.port
    emu.stop()
    with pytest.raises(requests.ConnectionError):
        me(emu, token)
    emu.start()
    assert emu.port == port
    assert me(emu, token).status_code == 200
