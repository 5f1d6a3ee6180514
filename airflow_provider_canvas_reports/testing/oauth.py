"""``POST /login/oauth2/token`` with ``grant_type=refresh_token``, as canvas-lms answers it.

A developer key's client id and secret and a refresh token made for it give an access token that
lives ``expires_in`` seconds; the refresh token stays the same (Canvas sends no new one). A wrong
or unknown client is a 401 ``invalid_client``; an unknown refresh token a 400 ``invalid_request``
"refresh_token not found" (other OAuth servers say ``invalid_grant``, which the emulator can be
told to say instead).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from airflow_provider_canvas_reports.testing import responses

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.http import Request, Response
    from airflow_provider_canvas_reports.testing.interface import ServerState

TOKEN_PATH = "/login/oauth2/token"


def _params(request: Request) -> dict[str, Any]:
    """The request's parameters, as Rails reads them: the query, then a form or JSON body."""
    params: dict[str, Any] = dict(parse_qsl(request.query, keep_blank_values=True))
    content_type = request.headers.get("content-type", "").lower()
    if "json" in content_type and request.body.strip():
        try:
            body = json.loads(request.body)
        except ValueError:
            body = None
        if isinstance(body, dict):
            params.update(body)
    elif request.body:
        params.update(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def _error(status: int, error: str, description: str) -> Response:
    return responses.json_response(status, {"error": error, "error_description": description})


def token(state: ServerState, request: Request, now: float) -> Response:
    """Exchange a refresh token for an access token (any other grant type is refused)."""
    if request.method != "POST":
        return responses.not_found()
    params = _params(request)
    if params.get("grant_type") != "refresh_token":
        unsupported = "The grant_type you requested is not currently supported"
        return _error(400, "unsupported_grant_type", unsupported)
    key = state.developer_key(str(params.get("client_id", "")))
    if key is None:
        return _error(401, "invalid_client", "unknown client")
    if params.get("client_secret") != key.client_secret:
        return _error(401, "invalid_client", "invalid client")
    grant = state.refresh_grant(str(params.get("refresh_token", "")))
    if grant is None or grant[0] != key.client_id:
        return _error(400, state.oauth_grant_error, "refresh_token not found")
    user = grant[1]
    access_token = state.issue_access_token(key.client_id, user, now)
    body = {
        "access_token": access_token,
        "token_type": "Bearer",
        "user": {"id": user.id, "name": user.name, "global_id": str(10_000_000_000_000 + user.id)},
        "canvas_region": "us-east-1",
        "expires_in": key.expires_in,
    }
    return responses.json_response(200, body)
