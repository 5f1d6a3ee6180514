"""The connection form, the hook and the docs agree on the extras and their defaults (settings.DEFAULTS)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_0_PLUS

from airflow_provider_canvas_reports.client.settings import (
    DEFAULTS,
    DEVELOPER_KEY_EXTRAS,
    CanvasSettings,
    build_settings,
    default_text,
)
from airflow_provider_canvas_reports.get_provider_info import (
    CONN_FIELDS,
    UI_FIELD_BEHAVIOUR,
    get_provider_info,
)

DOCS_EXT = Path(__file__).resolve().parents[2] / "docs" / "_ext"


def settings_from(extras: dict) -> CanvasSettings:
    return build_settings("https://school.instructure.com", "token", extras, {})


def test_every_extra_the_hook_reads_is_in_the_form_with_its_default():
    assert set(CONN_FIELDS) == set(DEFAULTS) | set(DEVELOPER_KEY_EXTRAS)
    for name in DEFAULTS:
        field = CONN_FIELDS[name]
        assert field["description"].endswith(f"Default: {default_text(name)}."), name
        if not isinstance(DEFAULTS[name], bool):
            assert UI_FIELD_BEHAVIOUR["placeholders"][name].startswith(default_text(name)), name


def test_the_hook_uses_the_defaults_when_no_extra_is_set():
    settings = settings_from({})
    assert {name: getattr(settings, name) for name in DEFAULTS} == DEFAULTS


def test_the_docs_list_every_extra_with_the_default_the_hook_uses_and_what_it_means():
    """The Connections page's table is generated from these rows (docs/_ext/canvas_docs_data.py)."""
    spec = importlib.util.spec_from_file_location("canvas_docs_data", DOCS_EXT / "canvas_docs_data.py")
    assert spec is not None and spec.loader is not None
    docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(docs)
    rows = docs.connection_extras()
    assert {row["name"]: row["default"] for row in rows if row["name"] in DEFAULTS} == {
        name: default_text(name) for name in DEFAULTS
    }
    assert {row["name"] for row in rows} == set(DEFAULTS) | set(CONN_FIELDS)
    for row in rows:
        assert row["meaning"] and "Default:" not in row["meaning"], row


@pytest.mark.parametrize(
    ("typed", "expected"), [("true", True), ("False", False), ("0", False), ("yes", True)]
)
def test_verify_ssl_takes_true_or_false_as_typed_in_the_form(typed, expected):
    assert settings_from({"verify_ssl": typed}).verify_ssl is expected
    assert settings_from({"extra__canvas__verify_ssl": typed}).verify_ssl is expected  # Airflow 2 form keys


def test_verify_ssl_takes_a_ca_bundle_path(tmp_path):
    bundle = tmp_path / "school-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert settings_from({"verify_ssl": f" {bundle} "}).verify_ssl == str(bundle)


def test_verify_ssl_refuses_a_path_that_does_not_exist(tmp_path):
    with pytest.raises(ValueError, match=r"'verify_ssl' must be true, false or the path of a CA bundle"):
        settings_from({"verify_ssl": str(tmp_path / "missing.pem")})


def test_the_form_field_for_verify_ssl_is_text_not_a_checkbox():
    assert CONN_FIELDS["verify_ssl"]["schema"]["type"] == ["string", "null"]


def test_the_form_offers_a_developer_key_beside_the_access_token_with_its_secrets_masked():
    assert list(CONN_FIELDS)[:3] == ["client_id", "client_secret", "refresh_token"]
    assert [CONN_FIELDS[name]["label"] for name in DEVELOPER_KEY_EXTRAS] == [
        "Developer key: client ID",
        "Developer key: client secret",
        "Developer key: refresh token",
    ]
    assert {
        name for name in DEVELOPER_KEY_EXTRAS if CONN_FIELDS[name]["schema"].get("format") == "password"
    } == {
        "client_secret",
        "refresh_token",
    }
    assert UI_FIELD_BEHAVIOUR["relabeling"]["password"] == "Access token"
    assert "Developer key" in UI_FIELD_BEHAVIOUR["placeholders"]["password"]


def test_the_form_of_the_airflow_line_hides_the_developer_key_secrets_as_passwords():
    if AIRFLOW_V_3_0_PLUS:
        # Airflow 3 draws the form from conn-fields (the test above); its webserver has no widgets.
        assert "conn-fields" in get_provider_info()["connection-types"][0]
        return
    from wtforms import PasswordField, StringField

    from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

    widgets = CanvasHook.get_connection_form_widgets()
    assert set(widgets) == set(CONN_FIELDS)
    assert {name for name, field in widgets.items() if field.field_class is PasswordField} == {
        "client_secret",
        "refresh_token",
    }
    assert widgets["client_id"].field_class is StringField
