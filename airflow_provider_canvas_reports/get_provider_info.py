"""What ``airflow providers list`` and the connection form know about this provider."""

from __future__ import annotations

from typing import Any

from airflow_provider_canvas_reports import __version__

_PACKAGE = "airflow_provider_canvas_reports"


def _number(label: str, description: str, default: float, *, whole: bool = False) -> dict[str, Any]:
    return {
        "label": label,
        "description": f"{description} Default: {default}.",
        "schema": {"type": ["integer" if whole else "number", "null"], "minimum": 1 if whole else 0},
    }


#: Extra connection fields (declarative, read by Airflow 3's UI without importing the hook).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "timeout": _number("Read timeout (s)", "Seconds to wait for each read of Canvas's answer.", 60),
    "connect_timeout": _number("Connect timeout (s)", "Seconds to wait for a connection to Canvas.", 10),
    "retry_limit": _number(
        "Attempts per call", "Tries per Canvas call, the first included; 1 = never retry.", 6, whole=True
    ),
    "retry_max_seconds": _number(
        "Retry window (s)", "No retry starts once this many seconds passed since the first try.", 300
    ),
    "retry_backoff_seconds": _number(
        "First retry wait (s)", "Wait before the first retry; doubles each time, with jitter.", 1
    ),
    "rate_limit_threshold": _number(
        "Slow down below", "Pause between calls when X-Rate-Limit-Remaining falls below this.", 100
    ),
    "max_connections": _number(
        "Pooled connections",
        "Connections kept open to Canvas per process (per event loop in triggers).",
        8,
        whole=True,
    ),
    "verify_ssl": {
        "label": "Verify TLS certificates",
        "description": "Turn off only for a test instance with a self-signed certificate.",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
    "allow_http": {
        "label": "Allow plain http://",
        "description": "Allow an unencrypted http:// Canvas URL off loopback (never in production).",
        "schema": {"type": ["boolean", "null"], "default": False},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "login"],
    "relabeling": {"host": "Canvas URL", "password": "Access token"},
    "placeholders": {
        "host": "https://school.instructure.com",
        "password": "Canvas access token (Account > Settings > New access token)",
        "timeout": "60",
        "retry_limit": "6",
    },
}


def get_provider_info() -> dict[str, Any]:
    """The provider's metadata, in the shape of Airflow's ``provider_info.schema.json``."""
    return {
        "package-name": "airflow-provider-canvas-reports",
        "name": "Canvas LMS",
        "description": "Start, wait for and download `Canvas LMS <https://www.instructure.com/canvas>`__ "
        "course reports.",
        "versions": [__version__],
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
                    f"{_PACKAGE}.operators.course_pace",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "Canvas LMS", "python-modules": [f"{_PACKAGE}.sensors.course_report"]}
        ],
        "hooks": [{"integration-name": "Canvas LMS", "python-modules": [f"{_PACKAGE}.hooks.canvas"]}],
        "triggers": [
            {"integration-name": "Canvas LMS", "python-modules": [f"{_PACKAGE}.triggers.course_report"]}
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
