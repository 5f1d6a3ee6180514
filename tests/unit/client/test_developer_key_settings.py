"""A connection authenticates with an access token (the password) or a developer key (three extras)."""

from __future__ import annotations

import pytest

from airflow_provider_canvas_reports.client.settings import DeveloperKey, build_settings

HOST = "https://school.instructure.com"
KEY = {"client_id": "170000000000042", "client_secret": "secret-of-the-key", "refresh_token": "1~refresh"}


def test_the_three_extras_make_a_developer_key_and_the_password_stays_empty():
    settings = build_settings(HOST, None, KEY, {})
    assert settings.developer_key == DeveloperKey(**KEY)
    assert settings.token == ""
    assert "secret-of-the-key" not in repr(settings) and "1~refresh" not in repr(settings)


def test_airflow_2_form_keys_work_too():
    extras = {f"extra__canvas__{name}": value for name, value in KEY.items()}
    assert build_settings(HOST, "", extras, {}).developer_key == DeveloperKey(**KEY)


def test_a_password_alone_is_a_personal_token():
    settings = build_settings(HOST, "personal-token-1234", {}, {})
    assert (settings.token, settings.developer_key) == ("personal-token-1234", None)


def test_part_of_a_developer_key_is_refused_naming_what_is_missing():
    with pytest.raises(ValueError, match="'client_secret', 'refresh_token' too"):
        build_settings(HOST, None, {"client_id": "1"}, {})


def test_a_password_and_a_developer_key_together_are_refused():
    with pytest.raises(ValueError, match="both a password"):
        build_settings(HOST, "personal-token-1234", KEY, {})


def test_no_credentials_at_all_are_refused_naming_both_ways():
    with pytest.raises(ValueError, match="access token in the password, or a developer key"):
        build_settings(HOST, "", {}, {})


def test_two_connections_with_one_key_share_their_pooled_client_and_tokens():
    first = build_settings(HOST, None, KEY, {"timeout": 30})
    second = build_settings(HOST, None, KEY, {"timeout": 30, "retry_limit": 2})
    assert first.credentials_key == second.credentials_key and first.pool_key == second.pool_key
    other = build_settings(HOST, None, {**KEY, "refresh_token": "1~other"}, {})
    assert other.credentials_key != first.credentials_key
