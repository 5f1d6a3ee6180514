"""Applying injected faults around a request's normal handling."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.testing import responses
from airflow_provider_canvas_reports.testing.http import Response

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_canvas_reports.testing.emulator import CanvasEmulator
    from airflow_provider_canvas_reports.testing.http import Request
    from airflow_provider_canvas_reports.testing.models import Fault

#: Faults answered instead of the request (the action is not performed).
_EARLY = frozenset({"500", "502", "503", "504", "html_200", "throttle", "throttle_429", "reset"})


def early_response(fault: Fault, server: str, error_report_id: Callable[[], int]) -> Response:
    """The answer of a fault that replaces the normal handling."""
    kind = fault.kind
    if kind == "500":
        if server == "storage":
            return responses.s3_error(
                500, "InternalError", "We encountered an internal error. Please try again."
            )
        return responses.server_error(error_report_id())
    if kind in ("502", "503", "504"):
        return responses.gateway_error(int(kind))
    if kind == "html_200":
        return responses.maintenance_page()
    if kind == "throttle":
        return responses.throttled()
    if kind == "throttle_429":
        return responses.throttled_429()
    return Response(0, abort=True)  # reset


async def serve_with_faults(
    emulator: CanvasEmulator, server: str, request: Request, action: Callable[[], Response]
) -> Response:
    """Record the request, apply at most one matching fault, and run ``action`` unless a fault answers."""
    record = emulator._record(server, request)
    fault = emulator._take_fault(server, request)
    response: Response | None = None
    if fault is not None:
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        elif fault.kind in _EARLY:
            response = early_response(fault, server, emulator._next_error_report_id)
    if response is None:
        response = action()
        if fault is not None and fault.kind == "delay_response_after_action":
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind in ("truncate", "stall"):
            length = response.content_length
            cut = length // 2 if fault.truncate_at is None else fault.truncate_at
            if fault.kind == "truncate":
                response.truncate_at = cut
            else:
                response.pause = (cut, fault.delay)
    if record is not None:
        record.status = response.status
    return response
