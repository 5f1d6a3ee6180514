"""The control API under ``/__emulator__/``: the test API over HTTP.

Control requests need no token and are never recorded, throttled or faulted.

| call | effect |
|---|---|
| ``GET /__emulator__/stats`` | counters: posts per course and account, requests and connections per server |
| ``GET /__emulator__/urls`` | ``{"base_url", "storage_url", "files_url"}`` |
| ``GET /__emulator__/requests`` | recorded requests (bodies as latin-1 strings) |
| ``POST /__emulator__/faults`` | add a fault (JSON of :class:`Fault`) |
| ``DELETE /__emulator__/faults`` | clear faults |
| ``PUT /__emulator__/behaviour`` | ``{"course_id": null or int, ...ReportBehaviour fields}`` |
| ``PUT /__emulator__/account_behaviour`` | ``{"account_id": null or int, ...ReportBehaviour fields}`` |
| ``PUT /__emulator__/account_report_types`` | ``{"account_id": int, "report_types": [...] or null}`` |
| ``PUT /__emulator__/course_plan`` | ``{"course_id": int, "plan": CoursePlan.to_dict() or null}`` |
| ``GET /__emulator__/reports/<id>`` | the report JSON (not counted as a read) |
| ``POST /__emulator__/reports/<id>/finish`` | ``{"outcome": "complete"}`` |
| ``POST /__emulator__/rate_limit`` | ``{"token": ..., "remaining": float}`` |
| ``PUT /__emulator__/throttle`` | ``{"request_seconds": 0.1, ...}`` (``set_throttle``) |
| ``POST /__emulator__/catalog/courses`` | one listed course: ``{"course_id": int, ...add_catalog_course}`` |
| ``POST /__emulator__/catalog/term_courses`` | ``{"count": int, ...add_term_courses}``: their ids |
| ``POST /__emulator__/developer_keys`` | ``{"client_id", "client_secret", "refresh_token", ...}`` |
| ``POST /__emulator__/expire_access_tokens`` | end every developer key access token now |
| ``POST /__emulator__/revoke`` | ``{"token": ...}`` |
| ``POST /__emulator__/reset_records`` | forget records and counters |
| ``POST /__emulator__/reset`` | full reset (reports, faults, behaviour, throttle, records) |
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports.testing.models import Fault, ReportBehaviour
from airflow_provider_canvas_reports.testing.pace_plans import CoursePlan
from airflow_provider_canvas_reports.testing.responses import json_response

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.http import Request, Response
    from airflow_provider_canvas_reports.testing.state import EmulatorState

PREFIX = "/__emulator__/"


def handle(emu: EmulatorState, request: Request) -> Response:
    """Answer one control request."""
    route = request.path[len(PREFIX) :].strip("/")
    method = request.method
    try:
        payload: Any = json.loads(request.body) if request.body.strip() else {}
        return _dispatch(emu, method, route, payload)
    except (ValueError, TypeError) as exc:
        return json_response(400, {"error": str(exc)})
    except KeyError as exc:
        return json_response(404, {"error": f"not found: {exc}"})


def _dispatch(emu: EmulatorState, method: str, route: str, payload: Any) -> Response:
    ok = json_response(200, {"ok": True})
    if (method, route) == ("GET", "stats"):
        return json_response(200, emu.stats())
    if (method, route) == ("GET", "urls"):
        return json_response(200, emu.urls())
    if (method, route) == ("GET", "requests"):
        return json_response(200, [record.to_dict() for record in emu.requests])
    if (method, route) == ("POST", "faults"):
        return json_response(200, emu.add_fault(Fault.from_dict(payload)).to_dict())
    if (method, route) == ("DELETE", "faults"):
        emu.clear_faults()
        return ok
    if (method, route) == ("PUT", "behaviour"):
        values = dict(payload)
        course_id = values.pop("course_id", None)
        emu.set_behaviour(None if course_id is None else int(course_id), ReportBehaviour.from_dict(values))
        return ok
    if (method, route) == ("PUT", "account_behaviour"):
        values = dict(payload)
        account_id = values.pop("account_id", None)
        emu.set_account_behaviour(
            None if account_id is None else int(account_id), ReportBehaviour.from_dict(values)
        )
        return ok
    if (method, route) == ("PUT", "account_report_types"):
        emu.set_account_report_types(int(payload["account_id"]), payload.get("report_types"))
        return ok
    if (method, route) == ("PUT", "course_plan"):
        plan = payload.get("plan")
        emu.set_course_plan(int(payload["course_id"]), None if plan is None else CoursePlan.from_dict(plan))
        return ok
    if route.startswith("reports/"):
        report_id, _, action = route[len("reports/") :].partition("/")
        if method == "GET" and not action:
            return json_response(200, emu.report_json(int(report_id)))
        if method == "POST" and action == "finish":
            emu.finish_report(int(report_id), str(payload.get("outcome", "complete")))
            return ok
    if (method, route) == ("POST", "rate_limit"):
        emu.set_rate_limit_remaining(str(payload["token"]), float(payload["remaining"]))
        return ok
    if (method, route) == ("PUT", "throttle"):
        emu.set_throttle(**{str(k): float(v) for k, v in dict(payload).items()})
        return ok
    if (method, route) == ("POST", "catalog/courses"):
        values = dict(payload)
        emu.add_catalog_course(int(values.pop("course_id")), **values)
        return ok
    if (method, route) == ("POST", "catalog/term_courses"):
        values = dict(payload)
        return json_response(200, emu.add_term_courses(int(values.pop("count")), **values))
    if (method, route) == ("POST", "developer_keys"):
        values = dict(payload)
        emu.add_developer_key(
            str(values.pop("client_id")),
            str(values.pop("client_secret")),
            str(values.pop("refresh_token")),
            **values,
        )
        return ok
    if (method, route) == ("POST", "expire_access_tokens"):
        return json_response(200, {"expired": emu.expire_access_tokens()})
    if (method, route) == ("POST", "revoke"):
        emu.revoke(str(payload["token"]))
        return ok
    if (method, route) == ("POST", "reset_records"):
        emu.reset_records()
        return ok
    if (method, route) == ("POST", "reset"):
        emu.reset()
        return ok
    return json_response(404, {"error": f"no control route {method} {PREFIX}{route}"})
