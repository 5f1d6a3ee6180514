"""
Keeping secrets out of messages: the one place that knows what a secret looks like.

The access token, a report's ``file_url`` verifier (a credential that never expires) and the
signature of the storage URL Canvas redirects to must never reach a log line, an exception's
text, XCom or a rendered field. Three layers see to it:

- :func:`remember` registers a secret the moment the provider reads it (the token from the
  connection, the verifier from a report), with Airflow's masker too, so task logs hide it;
- :func:`scrub` takes every known secret and everything that has the shape of one (a URL's query
  string, ``Bearer ...``, an ``Authorization`` header, a storage error's echoed signature) out of a
  text; every :class:`~.exceptions.CanvasError` scrubs its message and Canvas's, so an error body
  that echoes the request (a proxy's 502 page) carries nothing out;
- :func:`install_log_filters` puts a filter on the HTTP libraries' request-line loggers
  (urllib3 logs ``GET /files/1/download?verifier=... 302`` at DEBUG) that drops query strings.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from urllib.parse import parse_qsl, urlsplit

#: How many secrets are kept to scrub by value (the newest win; shapes are scrubbed regardless).
MAX_REMEMBERED = 4096
#: Shorter values are not scrubbed by value: they could be ordinary words.
MIN_SECRET_LENGTH = 8
REDACTED = "***"

_known: dict[str, None] = {}
_lock = threading.Lock()

# A path (absolute URL or not) followed by a query string: the query goes.
_QUERY = re.compile(r"((?:[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#\"'<>]*)?/[^\s?#\"'<>]*)\?[^\s\"'<>#]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
_AUTH_HEADER = re.compile(r"(?i)\b((?:proxy-)?authorization\s*[:=]\s*)[^\r\n<>\"']+")
_PARAM = re.compile(
    r"(?i)\b(verifier|signature|x-amz-signature|x-amz-credential|x-amz-security-token|sig|"
    r"access_token|refresh_token|client_secret|googleaccessid|x-goog-signature|x-goog-credential)"
    r"(=|%3D)[^&\s\"'<>]+"
)
# What S3-compatible stores echo in a SignatureDoesNotMatch body.
_XML_SECRET = re.compile(
    r"(?is)<(SignatureProvided|StringToSign|StringToSignBytes|CanonicalRequest|CanonicalRequestBytes|"
    r"AWSAccessKeyId|HostId|RequestId)>.*?</\1>"
)


def remember(secret: object) -> None:
    """
    Scrub ``secret`` from every later message, and have Airflow's masker hide it in task logs.

    On an event loop (a trigger) only the scrubbing is set up: Airflow's ``mask_secret`` talks to
    the supervisor synchronously there, which could block the loop.
    """
    if not isinstance(secret, str) or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if secret in _known:
            return
        _known[secret] = None
        while len(_known) > MAX_REMEMBERED:
            del _known[next(iter(_known))]
    try:
        asyncio.get_running_loop()
        return
    except RuntimeError:
        pass
    try:
        from airflow.providers.common.compat.sdk import mask_secret
    except ImportError:  # pragma: no cover - every supported Airflow has it
        return
    mask_secret(secret)


def remember_url(url: object) -> None:
    """Remember the values in ``url``'s query (a ``file_url``'s verifier, a signature) as secrets."""
    if not isinstance(url, str) or "?" not in url:
        return
    for _, value in parse_qsl(urlsplit(url).query, keep_blank_values=False):
        remember(value)


def scrub(text: str) -> str:
    """``text`` without any known secret or anything shaped like one."""
    if not text:
        return text
    with _lock:
        known = [secret for secret in _known if secret in text]
    for secret in sorted(known, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _XML_SECRET.sub(lambda m: f"<{m.group(1)}>{REDACTED}</{m.group(1)}>", text)
    text = _AUTH_HEADER.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _QUERY.sub(lambda m: f"{m.group(1)}?{REDACTED}", text)
    return _PARAM.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


class ScrubFilter(logging.Filter):
    """Scrubs a record's message arguments (and its message, when it has none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in args)
        elif isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        return True


#: Loggers of our HTTP libraries that log request lines with their query string.
REQUEST_LINE_LOGGERS = ("urllib3.connectionpool", "urllib3.poolmanager", "aiohttp.client")
_filter = ScrubFilter()


def install_log_filters() -> None:
    """Put :class:`ScrubFilter` on :data:`REQUEST_LINE_LOGGERS` (once; safe to call again)."""
    for name in REQUEST_LINE_LOGGERS:
        logger = logging.getLogger(name)
        if _filter not in logger.filters:
            logger.addFilter(_filter)
