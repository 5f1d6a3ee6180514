"""What ``airflow providers list`` and the connection form know about this provider."""

from __future__ import annotations

from typing import Any

from airflow_provider_canvas_reports import __version__
from airflow_provider_canvas_reports.client.settings import (
    DEFAULTS,
    DEVELOPER_KEY_EXTRAS,
    MINIMUMS,
    SECRET_EXTRAS,
    default_text,
)

_PACKAGE = "airflow_provider_canvas_reports"
#: Where the documentation lives: ``project.urls.Documentation`` in pyproject.toml says the same.
DOCUMENTATION_URL = "https://airflow-provider-canvas-reports.example.org/docs/"


def _field(name: str, label: str, description: str) -> dict[str, Any]:
    """A form field for the extra ``name``; its type and the default it shows come from ``DEFAULTS``."""
    default = DEFAULTS[name]
    if isinstance(default, bool):
        schema: dict[str, Any] = {"type": ["boolean", "null"], "default": default}
    elif isinstance(default, int):
        schema = {"type": ["integer", "null"], "minimum": MINIMUMS.get(name, 1)}
    else:
        schema = {"type": ["number", "null"], "minimum": 0}
    return {"label": label, "description": f"{description} Default: {default_text(name)}.", "schema": schema}


_DEVELOPER_KEY_FIELDS = {
    "client_id": (
        "Developer key: client ID",
        "Instead of an access token (leave the password empty): the developer key's ID, from Admin > "
        "Developer Keys. Canvas makes access tokens from it, the secret and the refresh token.",
    ),
    "client_secret": (
        "Developer key: client secret",
        "The developer key's secret (its Key, shown under Show Key).",
    ),
    "refresh_token": (
        "Developer key: refresh token",
        "A refresh token a user authorised for the key (see the developer keys how-to); it does not expire.",
    ),
}


def _developer_key_field(name: str) -> dict[str, Any]:
    """A developer key extra: text, and a password field for the secrets (masked by Airflow)."""
    label, description = _DEVELOPER_KEY_FIELDS[name]
    schema: dict[str, Any] = {"type": ["string", "null"]}
    if name in SECRET_EXTRAS:
        schema["format"] = "password"
    return {"label": label, "description": description, "schema": schema}


#: Extra connection fields: the developer key (the alternative to an access token), then one per
#: setting the hook reads from the extras (declarative, read by Airflow 3's UI without importing
#: the hook; Airflow 2.11's form is built from it by the hook).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    **{name: _developer_key_field(name) for name in DEVELOPER_KEY_EXTRAS},
    "timeout": _field("timeout", "Read timeout (s)", "Seconds to wait for each read of Canvas's answer."),
    "connect_timeout": _field(
        "connect_timeout", "Connect timeout (s)", "Seconds to wait for a connection to Canvas."
    ),
    "retry_limit": _field(
        "retry_limit", "Attempts per call", "Tries per Canvas call, the first included; 1 = never retry."
    ),
    "retry_max_seconds": _field(
        "retry_max_seconds",
        "Retry window (s)",
        "No retry starts once this many seconds passed since the first try.",
    ),
    "retry_backoff_seconds": _field(
        "retry_backoff_seconds",
        "First retry wait (s)",
        "Wait before the first retry; doubles each time, with jitter.",
    ),
    "retry_backoff_max_seconds": _field(
        "retry_backoff_max_seconds",
        "Longest retry wait (s)",
        "The wait between retries never grows past this.",
    ),
    "rate_limit_threshold": _field(
        "rate_limit_threshold",
        "Slow down below",
        "Pause between calls when X-Rate-Limit-Remaining falls below this.",
    ),
    "rate_limit_max_pause_seconds": _field(
        "rate_limit_max_pause_seconds",
        "Longest throttle pause (s)",
        "The pause when Canvas's rate-limit bucket is empty; shorter when it is less so.",
    ),
    "max_connections": _field(
        "max_connections",
        "Pooled connections",
        "Connections kept open to Canvas per process (per event loop in triggers).",
    ),
    "verify_ssl": {
        "label": "Verify TLS certificates",
        "description": "true, false, or the path of a CA bundle file (for a private certificate "
        f"authority). Turn off only for a test instance. Default: {default_text('verify_ssl')}.",
        "schema": {"type": ["string", "null"]},
    },
    "allow_http": _field(
        "allow_http",
        "Allow plain http://",
        "Allow an unencrypted http:// Canvas URL off loopback (never in production).",
    ),
    "upload_part_size_mib": _field(
        "upload_part_size_mib",
        "Upload part size (MiB)",
        "MiB per part when a report lands in object storage (at least 5, S3's smallest part).",
    ),
    "upload_window": _field(
        "upload_window",
        "Parts uploading at once",
        "Parts of a landing upload in flight at once (S3, Azure Blob); memory is about "
        "(this + 1) times the part size.",
    ),
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "login"],
    "relabeling": {"host": "Canvas URL", "password": "Access token"},
    "placeholders": {
        "host": "https://school.instructure.com",
        "password": "Canvas access token, or leave empty and fill the Developer key fields",
        "client_id": "170000000000123",
        **{name: default_text(name) for name in DEFAULTS if not isinstance(DEFAULTS[name], bool)},
        "verify_ssl": f"{default_text('verify_ssl')} (or /path/to/ca-bundle.pem)",
    },
}


def get_provider_info() -> dict[str, Any]:
    """The provider's metadata, in the shape of Airflow's ``provider_info.schema.json``."""
    return {
        "package-name": "airflow-provider-canvas-reports",
        "name": "Canvas LMS",
        "description": "Start, wait for, land and load `Canvas LMS <https://www.instructure.com/canvas>`__ "
        "course and account reports.",
        "versions": [__version__],
        "documentation-url": DOCUMENTATION_URL,
        "integrations": [
            {
                "integration-name": "Canvas LMS",
                "external-doc-url": "https://canvas.instructure.com/doc/api/course_reports.html",
                "tags": ["service"],
            }
        ],
        "operators": [
            {
                "integration-name": "Canvas LMS",
                "python-modules": [
                    f"{_PACKAGE}.operators.course_report",
                    f"{_PACKAGE}.operators.account_report",
                    f"{_PACKAGE}.operators.course_pace",
                    f"{_PACKAGE}.operators.discovery",
                ],
            }
        ],
        "sensors": [
            {
                "integration-name": "Canvas LMS",
                "python-modules": [f"{_PACKAGE}.sensors.course_report", f"{_PACKAGE}.sensors.account_report"],
            }
        ],
        "hooks": [{"integration-name": "Canvas LMS", "python-modules": [f"{_PACKAGE}.hooks.canvas"]}],
        "triggers": [
            {
                "integration-name": "Canvas LMS",
                "python-modules": [f"{_PACKAGE}.triggers.report", f"{_PACKAGE}.triggers.course_report"],
            }
        ],
        "extra-links": [f"{_PACKAGE}.links.CanvasCourseLink"],
        "connection-types": [
            {
                "connection-type": "canvas",
                "hook-class-name": f"{_PACKAGE}.hooks.canvas.CanvasHook",
                "hook-name": "Canvas LMS",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
    }
