"""Canvas's (and its neighbours') exact response bodies."""

from __future__ import annotations

import json
import secrets
from typing import Any
from xml.sax.saxutils import escape

from airflow_provider_canvas_reports.testing.http import Request, Response
from airflow_provider_canvas_reports.testing.throttle import THROTTLED_429_BODY, THROTTLED_BODY

JSON_TYPE = "application/json; charset=utf-8"
WWW_AUTHENTICATE = ("WWW-Authenticate", 'Bearer realm="canvas-lms"')
NOT_FOUND_MESSAGE = "The specified resource does not exist."


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    """Compact JSON, as Rails renders it."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, [("Content-Type", JSON_TYPE), *(headers or [])], body)


def unauthenticated() -> Response:
    """401 for a request without a token."""
    payload = {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}
    return json_response(401, payload, [WWW_AUTHENTICATE])


def bad_token(message: str) -> Response:
    """401 for an invalid, revoked or expired token."""
    return json_response(401, {"errors": [{"message": message}]}, [WWW_AUTHENTICATE])


def insufficient_scopes() -> Response:
    """401 for a call outside a scoped key's scopes: no ``WWW-Authenticate`` (a new token won't help)."""
    return json_response(401, {"errors": [{"message": "Insufficient scopes on access token."}]})


def unauthorized() -> Response:
    """403 when the user lacks the right (or the report is someone else's)."""
    payload = {
        "status": "unauthorized",
        "errors": [{"message": "user not authorized to perform that action"}],
    }
    return json_response(403, payload)


def not_found() -> Response:
    """404 for an unknown course, report, file or route."""
    return json_response(404, {"errors": [{"message": NOT_FOUND_MESSAGE}]})


def server_error(error_report_id: int) -> Response:
    """Canvas's JSON 500."""
    payload = {
        "errors": [{"message": "An error occurred.", "error_code": "internal_server_error"}],
        "error_report_id": error_report_id,
    }
    return json_response(500, payload)


def throttled(remaining: str = "0.0", retry_after: float | None = None) -> Response:
    """Canvas's throttle answer: 403, plain text, no Retry-After (unless one is asked for)."""
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("X-Rate-Limit-Remaining", remaining)]
    if retry_after is not None:
        headers.append(("Retry-After", f"{retry_after:g}"))
    return Response(403, headers, THROTTLED_BODY)


def throttled_429(retry_after: float = 1.0) -> Response:
    """The newer documented throttle answer: 429 with Retry-After."""
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Retry-After", f"{retry_after:g}"),
        ("X-Rate-Limit-Remaining", "0.0"),
    ]
    return Response(429, headers, THROTTLED_429_BODY)


def gateway_error(status: int) -> Response:
    """A load balancer's HTML error page (502/503/504)."""
    phrase = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}[status]
    body = f"<html><body><h1>{status} {phrase}</h1></body></html>\n".encode()
    return Response(status, [("Content-Type", "text/html")], body)


def echoing_gateway_error(request: Request) -> Response:
    """
    A proxy's 502 page that names the URL asked for (query string and all) and echoes the request
    headers, as Squid's error pages do: everything a client puts in its request comes back.
    """
    url = request.path + (f"?{request.query}" if request.query else "")
    headers = "\n".join(f"{name.title()}: {value}" for name, value in sorted(request.headers.items()))
    body = (
        "<html><head><title>ERROR: The requested URL could not be retrieved</title></head><body>"
        f'<p>While trying to retrieve the URL: <a href="{escape(url)}">{escape(url)}</a></p>'
        f"<pre>{escape(headers)}</pre><p>Connection to upstream failed</p></body></html>\n"
    ).encode()
    return Response(502, [("Content-Type", "text/html")], body)


def signature_mismatch(request: Request) -> Response:
    """S3's 403 for a signed URL it does not accept, echoing the signature it was given."""
    from urllib.parse import parse_qs

    signature = (parse_qs(request.query).get("X-Amz-Signature") or ["0" * 64])[0]
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The '
        "request signature we calculated does not match the signature you provided.</Message>"
        f"<SignatureProvided>{escape(signature)}</SignatureProvided>"
        f"<StringToSign>AWS4-HMAC-SHA256 {escape(request.query)}</StringToSign>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    ).encode()
    return Response(403, [("Content-Type", "application/xml")], body)


def cut_json() -> Response:
    """A 200 whose JSON ends early (a proxy that lost the rest), with a truthful Content-Length."""
    return Response(200, [("Content-Type", JSON_TYPE)], b'{"id":1,"parameters":{"section_ids":[1')


def maintenance_page() -> Response:
    """A 200 HTML page where JSON was expected (a proxy's maintenance page)."""
    body = (
        b"<!DOCTYPE html><html><head><title>Canvas is undergoing maintenance</title></head>"
        b"<body><h1>We'll be back soon</h1><p>Canvas is down for scheduled maintenance.</p></body></html>\n"
    )
    return Response(200, [("Content-Type", "text/html; charset=utf-8")], body)


def redirect(location: str) -> Response:
    """Rails's 302 with its small HTML body."""
    body = f'<html><body>You are being <a href="{escape(location)}">redirected</a>.</body></html>'.encode()
    return Response(302, [("Location", location), ("Content-Type", "text/html; charset=utf-8")], body)


def s3_error(status: int, code: str, message: str) -> Response:
    """An S3-style XML error."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    ).encode()
    return Response(status, [("Content-Type", "application/xml")], body)
