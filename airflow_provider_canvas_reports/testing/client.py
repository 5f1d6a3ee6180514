"""
Talking to a running emulator from tests: ``EmulatorControl`` (its control API, from any
process), ``run_report`` (a report started and polled over HTTP as a client would) and
``connection_json`` (an Airflow ``canvas`` connection pointing at it).
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports.testing.models import Fault, RecordedRequest, ReportBehaviour

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.pace_plans import CoursePlan


#: Statuses after which a report changes no more.
TERMINAL_STATUSES = frozenset({"complete", "error", "aborted", "deleted"})


def run_report(
    base_url: str,
    token: str,
    path: str,
    parameters: dict[str, Any] | None = None,
    *,
    timeout: float = 30.0,
    interval: float = 0.02,
) -> dict[str, Any]:
    """
    Start a report over HTTP as a client does, and poll it until it ends.

    >>> run_report(emu.base_url, emu.token, "courses/1/reports/course_pace_docx", {"section_ids": [1]})
    ... # doctest: +SKIP

    :param base_url: the emulator's API URL (``emu.base_url``).
    :param token: a token that may read reports (``emu.token``).
    :param path: ``courses/:id/reports/:type`` or ``accounts/:id/reports/:type``.
    :param parameters: the report's parameters (sent as JSON).
    :param timeout: seconds to wait for a terminal status.
    :param interval: seconds between status reads.
    :return: the report's JSON once its status is terminal (``complete``, ``error``, ...).
    :raises TimeoutError: if it is still going after ``timeout`` seconds.
    """
    url = f"{base_url.rstrip('/')}/api/v1/{path.strip('/')}"
    report = _json_call("POST", url, token, {"parameters": parameters or {}})
    deadline = time.monotonic() + timeout
    while report.get("status") not in TERMINAL_STATUSES:
        if time.monotonic() > deadline:
            raise TimeoutError(f"report {report.get('id')} still {report.get('status')} after {timeout} s")
        time.sleep(interval)
        report = _json_call("GET", f"{url}/{report['id']}", token)
    return report


def connection_json(base_url: str, token: str = "emulator-token", **extra: Any) -> str:
    """
    An Airflow ``canvas`` connection to the emulator, in the JSON form of ``AIRFLOW_CONN_*``
    variables, with retries fast enough for tests (``extra`` adds or overrides extras).
    """
    extras = {
        "retry_backoff_seconds": 0.01,
        "retry_backoff_max_seconds": 0.05,
        "rate_limit_max_pause_seconds": 0.05,
        **extra,
    }
    return json.dumps({"conn_type": "canvas", "host": base_url, "password": token, "extra": extras})


def _json_call(method: str, url: str, token: str, payload: Any = None) -> dict[str, Any]:
    data = None if payload is None else json.dumps(payload).encode()
    headers = {"Authorization": f"Bearer {token}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


class EmulatorControl:
    """Mirror of the in-process test API, over HTTP (``/__emulator__/`` on the API port).

    ``base_url`` is the emulator's API URL, e.g. ``http://127.0.0.1:8765``.
    """

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, route: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"{self.base_url}/__emulator__/{route}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"} if data is not None else {},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            return json.loads(response.read() or b"null")

    def stats(self) -> dict[str, Any]:
        """``{"post_count", "post_counts", "request_count", "requests", "connections", "reports"}``."""
        return dict(self._call("GET", "stats"))

    def urls(self) -> dict[str, str]:
        """``{"base_url", "storage_url", "files_url"}`` of the emulator's three servers."""
        return dict(self._call("GET", "urls"))

    def post_count(self, course_id: int | None = None) -> int:
        """POSTs that created a report, for one course or in total."""
        stats = self.stats()
        if course_id is None:
            return int(stats["post_count"])
        return int(stats["post_counts"].get(str(course_id), 0))

    def requests(self) -> list[RecordedRequest]:
        """Recorded requests."""
        return [RecordedRequest.from_dict(item) for item in self._call("GET", "requests")]

    def connections_opened(self) -> dict[str, int]:
        """TCP connections accepted per server."""
        return dict(self.stats()["connections"])

    def add_fault(self, fault: Fault | None = None, **fields: Any) -> Fault:
        """Inject a fault: ``add_fault(Fault("503"))`` or ``add_fault(kind="503", count=2)``."""
        fault = fault if fault is not None else Fault(**fields)
        return Fault.from_dict(self._call("POST", "faults", fault.to_dict()))

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._call("DELETE", "faults")

    def set_behaviour(
        self, course_id: int | None, behaviour: ReportBehaviour | None = None, **fields: Any
    ) -> None:
        """Behaviour of new reports of ``course_id`` (None: the default)."""
        behaviour = behaviour if behaviour is not None else ReportBehaviour(**fields)
        self._call("PUT", "behaviour", {"course_id": course_id, **behaviour.to_dict()})

    def account_post_count(self, account_id: int | None = None) -> int:
        """POSTs that created an account report, for one account or in total."""
        counts = self.stats()["account_post_counts"]
        return sum(counts.values()) if account_id is None else int(counts.get(str(account_id), 0))

    def set_account_behaviour(
        self, account_id: int | None, behaviour: ReportBehaviour | None = None, **fields: Any
    ) -> None:
        """Behaviour of new account reports of ``account_id`` (None: every account)."""
        behaviour = behaviour if behaviour is not None else ReportBehaviour(**fields)
        self._call("PUT", "account_behaviour", {"account_id": account_id, **behaviour.to_dict()})

    def set_account_report_types(self, account_id: int, report_types: list[str] | None) -> None:
        """Which report types ``account_id`` offers (None: the emulator's default four)."""
        self._call("PUT", "account_report_types", {"account_id": account_id, "report_types": report_types})

    def set_course_plan(self, course_id: int, plan: CoursePlan | None) -> None:
        """What pace documents of ``course_id``'s new reports hold (None: the default plan)."""
        payload = {"course_id": course_id, "plan": None if plan is None else plan.to_dict()}
        self._call("PUT", "course_plan", payload)

    def report_json(self, report_id: int) -> dict[str, Any]:
        """The report as GET would show it now."""
        return dict(self._call("GET", f"reports/{report_id}"))

    def finish_report(self, report_id: int, outcome: str = "complete") -> None:
        """End a held report now."""
        self._call("POST", f"reports/{report_id}/finish", {"outcome": outcome})

    def set_rate_limit_remaining(self, token: str, value: float) -> None:
        """Set a token's throttle bucket."""
        self._call("POST", "rate_limit", {"token": token, "remaining": value})

    def set_throttle(self, **settings: float) -> None:
        """Throttle settings by name (``request_seconds``, ``up_front_cost``, ``request_cost``, ...)."""
        self._call("PUT", "throttle", settings)

    def add_catalog_course(self, course_id: int, **fields: Any) -> None:
        """A course the account course list shows (``section_ids``, ``enrollment_term_id``, ...)."""
        self._call("POST", "catalog/courses", {"course_id": course_id, **fields})

    def add_term_courses(self, count: int, **fields: Any) -> list[int]:
        """``count`` published courses of a term (``first_id``, ``enrollment_term_id``, ...): their ids."""
        made = self._call("POST", "catalog/term_courses", {"count": count, **fields})
        return [int(course_id) for course_id in made]

    def add_developer_key(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        *,
        role: str = "admin",
        scopes: list[str] | None = None,
        expires_in: int = 3600,
    ) -> None:
        """A developer key and a refresh token for it (see ``CanvasEmulator.add_developer_key``)."""
        payload = {
            "client_id": client_id,
            "client_secret": client_secret,
            "refresh_token": refresh_token,
            "role": role,
            "scopes": scopes,
            "expires_in": expires_in,
        }
        self._call("POST", "developer_keys", payload)

    def expire_access_tokens(self) -> int:
        """End every developer key access token now; return how many were live."""
        return int(self._call("POST", "expire_access_tokens")["expired"])

    def tokens_issued(self, client_id: str | None = None) -> int:
        """Access tokens the token endpoint made, for one developer key or in total."""
        issued = self.stats()["tokens_issued"]
        return sum(issued.values()) if client_id is None else int(issued.get(client_id, 0))

    def revoke(self, token: str) -> None:
        """Make a token answer 401 ``Revoked access token.``."""
        self._call("POST", "revoke", {"token": token})

    def reset_records(self) -> None:
        """Forget recorded requests and zero the counters."""
        self._call("POST", "reset_records")

    def reset(self) -> None:
        """Full reset: reports, faults, behaviour, throttle and records."""
        self._call("POST", "reset")
