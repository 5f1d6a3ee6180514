"""
How any Canvas answer is read: a value, or the
:class:`~airflow_provider_canvas_reports.exceptions.CanvasError` it means (with Canvas's own words
and its ``Retry-After``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports import redact
from airflow_provider_canvas_reports.exceptions import (
    CanvasAuthError,
    CanvasBadRequestError,
    CanvasError,
    CanvasNoReportError,
    CanvasNotFoundError,
    CanvasRateLimitError,
    CanvasScopeError,
    CanvasServerError,
    CanvasUnexpectedResponseError,
)

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.client.calls import CanvasRequest


@dataclass(frozen=True, slots=True)
class RawResponse:
    """What a transport received: status, headers with lower-case names, and the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


_TAG = re.compile(r"<[^>]+>")


def _canvas_message(raw: RawResponse) -> str:
    """Canvas's own words from an error body: ``error``, ``errors[].message``, or a short text."""
    try:
        data = json.loads(raw.body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        if isinstance(data.get("error"), str):  # OAuth's error and description, or Canvas's one word
            description = data.get("error_description")
            return f"{data['error']}: {description}" if isinstance(description, str) else data["error"]
        errors = data.get("errors")
        if isinstance(errors, list):
            messages = [e.get("message") for e in errors if isinstance(e, dict) and e.get("message")]
            if messages:
                return "; ".join(str(m) for m in messages)
        if isinstance(errors, dict):
            return json.dumps(errors)[:300]
        if isinstance(data.get("message"), str):
            return data["message"]
    return short_text(raw.body, 500) or "(empty body)"


def short_text(body: bytes, limit: int) -> str:
    """An error page's words: secrets scrubbed, markup and runs of whitespace dropped, cut to ``limit``."""
    text = _TAG.sub(" ", redact.scrub(body[: limit * 8].decode("utf-8", "replace")))
    return " ".join(text.split())[:limit]


def _is_throttled(raw: RawResponse) -> bool:
    return raw.status == 429 or (raw.status == 403 and b"Rate Limit Exceeded" in raw.body[:500])


def is_generic_internal_error(raw: RawResponse) -> bool:
    """Canvas's own 500 (``error_code: internal_server_error``), not a proxy's or a load balancer's."""
    if raw.status != 500:
        return False
    try:
        data = json.loads(raw.body)
    except ValueError:
        return False
    errors = data.get("errors") if isinstance(data, dict) else None
    return isinstance(errors, list) and any(
        isinstance(e, dict) and e.get("error_code") == "internal_server_error" for e in errors
    )


#: What Canvas says when a scoped developer key's token calls outside its scopes.
_INSUFFICIENT_SCOPES = "Insufficient scopes on access token"


def asks_for_new_token(status: int, headers: Mapping[str, str]) -> bool:
    """
    Whether Canvas refused the access token itself (401 with ``WWW-Authenticate``: expired, revoked,
    invalid), so a new one may succeed. A 401 without it (a scope the key lacks) or a 403 (a right
    the user lacks) will not change with another token.
    """
    return status == 401 and any(name.lower() == "www-authenticate" for name in headers)


def error_for(request: CanvasRequest, raw: RawResponse) -> CanvasError:
    """The :class:`CanvasError` that an unsuccessful answer means."""
    message = _canvas_message(raw)
    text = f"Canvas {request.label} failed with HTTP {raw.status}: {message}"
    error_class: type[CanvasError] = CanvasError
    if raw.status == 401 and _INSUFFICIENT_SCOPES in message:
        error_class = CanvasScopeError
        needed = f"the scope {request.scope}" if request.scope else "this call's scope"
        text = (
            f"{text.rstrip('. ')}. The connection's developer key enforces scopes and lacks {needed}: add "
            "it to the key (Admin > Developer Keys > edit the key > Enforce Scopes), or use a key that has it"
        )
    elif request.none_on_500 and is_generic_internal_error(raw):
        error_class = CanvasNoReportError
    elif _is_throttled(raw):
        error_class = CanvasRateLimitError
    elif raw.status in (401, 403):
        error_class = CanvasAuthError
    elif raw.status == 404:
        error_class = CanvasNotFoundError
    elif raw.status == 400:
        error_class = CanvasBadRequestError
    elif raw.status >= 500:
        error_class = CanvasServerError
    error = error_class(text, status_code=raw.status, canvas_message=message)
    error.retry_after = retry_after(raw.headers)
    return error


def retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (it may be seconds or an HTTP date), or ``None`` without one."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        import time

        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, 3600.0)) if seconds == seconds else None


def read_response(request: CanvasRequest, raw: RawResponse) -> Any:
    """Return the value ``request`` promises from ``raw``, or raise the matching :class:`CanvasError`."""
    if not 200 <= raw.status < 300:
        raise error_for(request, raw)
    try:
        data = json.loads(raw.body)
    except ValueError:
        content_type = raw.headers.get("content-type", "unknown")
        raise CanvasUnexpectedResponseError(
            f"Canvas {request.label} answered HTTP {raw.status} with {content_type} where JSON is due: "
            f"{_canvas_message(raw)}",
            status_code=raw.status,
        ) from None
    value = request.read(data, request)
    if request.paged:
        from airflow_provider_canvas_reports.client.paging import Page, next_url

        return Page(value, next_url(raw.headers))
    return value


def rate_limit_remaining(headers: Mapping[str, str]) -> float | None:
    value = headers.get("x-rate-limit-remaining")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
