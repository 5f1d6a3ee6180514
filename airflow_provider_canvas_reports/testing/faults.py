"""Applying injected faults around a request's normal handling."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING

from airflow_provider_canvas_reports.testing import responses
from airflow_provider_canvas_reports.testing.http import Response
from airflow_provider_canvas_reports.testing.models import FAULTS_AFTER_ACTION, FAULTS_BEFORE_ACTION
from airflow_provider_canvas_reports.testing.storage import misaligned_range

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from airflow_provider_canvas_reports.testing.http import Request
    from airflow_provider_canvas_reports.testing.interface import ServerState
    from airflow_provider_canvas_reports.testing.models import Fault


def fault_response(
    fault: Fault, server: str, error_report_id: Callable[[], int], request: Request | None = None
) -> Response:
    """The answer of a fault that replaces the normal one (before or after the request was processed)."""
    kind = fault.kind.removesuffix("_after_action")
    if kind == "502_echo" and request is not None:
        return responses.echoing_gateway_error(request)
    if kind == "storage_403" and request is not None:
        return responses.signature_mismatch(request)
    if kind == "422":
        return responses.json_response(422, {"errors": [{"message": "unprocessable"}]})
    if kind == "json_cut":
        return responses.cut_json()
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
    if kind == "throttle_retry_after":
        return responses.throttled(retry_after=fault.delay)
    if kind == "throttle_429":
        return responses.throttled_429(retry_after=fault.delay)
    return Response(0, abort=True)  # reset


async def serve_with_faults(
    state: ServerState, server: str, request: Request, action: Callable[[], Response | Awaitable[Response]]
) -> Response:
    """Record the request, then answer it through ``action``, applying at most one matching fault.

    A fault refused before processing answers instead of ``action``; ``slow`` waits, then runs it,
    and so does ``hold``, until the faults are cleared;
    the others run ``action`` (the server processes the request) and then lose, delay, cut short or
    misplace its answer.
    """
    record = state.record(server, request)
    fault = state.take_fault(server, request)
    if fault is not None and fault.kind in FAULTS_BEFORE_ACTION:
        response = fault_response(fault, server, state.next_error_report_id, request)
    else:
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.kind == "hold":
            await _held(state, fault.delay)
        answered = action()
        response = await answered if inspect.isawaitable(answered) else answered
        if fault is not None:
            response = await _after_action(fault, server, response, state)
    if record is not None:
        record.status = response.status
    return response


async def _held(state: ServerState, limit: float) -> None:
    """Wait until the faults are cleared, at most ``limit`` seconds."""
    clears = state.fault_clears
    loop = asyncio.get_running_loop()
    end = loop.time() + limit
    while state.fault_clears == clears and loop.time() < end:
        await asyncio.sleep(0.02)


async def _after_action(fault: Fault, server: str, response: Response, state: ServerState) -> Response:
    if fault.kind in FAULTS_AFTER_ACTION:
        return fault_response(fault, server, state.next_error_report_id)
    if fault.kind == "delay_response_after_action":
        await asyncio.sleep(fault.delay)
    elif fault.kind in ("truncate", "stall"):
        length = response.content_length
        cut = length // 2 if fault.truncate_at is None else fault.truncate_at
        if fault.kind == "truncate":
            response.truncate_at = cut
        else:
            response.pause = (cut, fault.delay)
    elif fault.kind == "bad_content_range":
        return misaligned_range(response)
    return response
