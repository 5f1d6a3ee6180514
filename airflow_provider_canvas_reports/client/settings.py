"""
How a ``canvas`` connection (plus hook arguments) becomes the settings every request uses.

Problems raise a plain :class:`ValueError`, which :class:`~.hooks.canvas.CanvasHook` turns into
:class:`~.exceptions.CanvasConnectionConfigError` naming the connection: this module is imported
while Airflow loads the provider's info, before the error family can be.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

#: The connection extras that hold an OAuth2 developer key (with an empty password): the key's
#: client id and secret, and a refresh token made for it. The connection form reads them from here.
DEVELOPER_KEY_EXTRAS = ("client_id", "client_secret", "refresh_token")
#: Which of them are secrets (registered with the masker, never shown).
SECRET_EXTRAS = frozenset({"client_secret", "refresh_token"})

#: Connection extras a user may set, with their defaults: the one place they are written. The
#: hook, the connection form (``get_provider_info``) and the docs' Connections page all read them here.
#: Hook arguments of the same name win over the extras.
DEFAULTS: dict[str, Any] = {
    "connect_timeout": 10.0,
    "timeout": 60.0,
    "retry_limit": 6,
    "retry_max_seconds": 300.0,
    "retry_backoff_seconds": 1.0,
    "retry_backoff_max_seconds": 60.0,
    "rate_limit_threshold": 100.0,
    "rate_limit_max_pause_seconds": 10.0,
    "max_connections": 8,
    "verify_ssl": True,
    "allow_http": False,
    "upload_part_size_mib": 8,
    "upload_window": 4,
}
#: Smallest value of a whole-number extra (others: 0). S3 refuses parts under 5 MiB.
MINIMUMS: dict[str, int] = {
    "retry_limit": 1,
    "max_connections": 1,
    "upload_part_size_mib": 5,
    "upload_window": 1,
}


@dataclass(frozen=True)
class DeveloperKey:
    """
    An OAuth2 developer key and a refresh token made for it: what gets access tokens from
    ``POST <canvas>/login/oauth2/token`` (``grant_type=refresh_token``).

    :param client_id: the key's id (Admin > Developer Keys; not a secret).
    :param client_secret: the key's secret.
    :param refresh_token: a refresh token a user authorised for this key (it does not expire).
    """

    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)


@dataclass(frozen=True)
class CanvasSettings:
    """
    Everything a transport needs to talk to one Canvas instance.

    :param base_url: ``https://school.instructure.com``, without a trailing slash.
    :param token: the personal access token (empty with a developer key); only ever put in the
        ``Authorization`` header.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param timeout: seconds to wait for each read of an answer.
    :param retry_limit: attempts in all for one call, the first included (1 = never retry).
    :param retry_max_seconds: no new attempt starts once this much time has passed since the first.
    :param retry_backoff_seconds: first wait before retrying; doubles each time, with jitter.
    :param retry_backoff_max_seconds: longest single wait.
    :param rate_limit_threshold: below this ``X-Rate-Limit-Remaining``, pause before the next call.
    :param rate_limit_max_pause_seconds: the pause when the bucket is empty; smaller when less so.
    :param max_connections: connections kept open to Canvas per process (async: per event loop).
    :param verify_ssl: verify TLS certificates (or a CA bundle path).
    :param allow_http: allow a plain ``http://`` URL to a host that is not loopback.
    :param upload_part_size_mib: MiB per part when a report lands in object storage (S3 part,
        Azure block, GCS chunk).
    :param upload_window: parts uploading at once, at most, while the download goes on (S3, Azure
        Blob); memory is about ``(upload_window + 1) * upload_part_size_mib``.
    :param developer_key: the developer key that gets access tokens, instead of ``token``.
    """

    base_url: str
    token: str = field(repr=False)
    connect_timeout: float = DEFAULTS["connect_timeout"]
    timeout: float = DEFAULTS["timeout"]
    retry_limit: int = DEFAULTS["retry_limit"]
    retry_max_seconds: float = DEFAULTS["retry_max_seconds"]
    retry_backoff_seconds: float = DEFAULTS["retry_backoff_seconds"]
    retry_backoff_max_seconds: float = DEFAULTS["retry_backoff_max_seconds"]
    rate_limit_threshold: float = DEFAULTS["rate_limit_threshold"]
    rate_limit_max_pause_seconds: float = DEFAULTS["rate_limit_max_pause_seconds"]
    max_connections: int = DEFAULTS["max_connections"]
    verify_ssl: bool | str = DEFAULTS["verify_ssl"]
    allow_http: bool = DEFAULTS["allow_http"]
    upload_part_size_mib: int = DEFAULTS["upload_part_size_mib"]
    upload_window: int = DEFAULTS["upload_window"]
    developer_key: DeveloperKey | None = None

    @property
    def credentials_key(self) -> tuple[str, ...]:
        """Who the calls are made as: the token, or the developer key and its refresh token."""
        key = self.developer_key
        if key is None:
            return ("token", self.base_url, self.token)
        return ("developer_key", self.base_url, key.client_id, key.client_secret, key.refresh_token)

    @property
    def pool_key(self) -> tuple[Any, ...]:
        """Identifies settings that may share one pooled HTTP client."""
        return (
            self.credentials_key,
            self.connect_timeout,
            self.timeout,
            self.max_connections,
            self.verify_ssl,
        )

    def throttle_pause(self, remaining: float | None) -> float:
        """Seconds to wait before the next call, given Canvas's ``X-Rate-Limit-Remaining``."""
        if remaining is None or remaining >= self.rate_limit_threshold or self.rate_limit_threshold <= 0:
            return 0.0
        shortfall = (self.rate_limit_threshold - max(remaining, 0.0)) / self.rate_limit_threshold
        return round(shortfall * self.rate_limit_max_pause_seconds, 3)


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def default_text(name: str) -> str:
    """How a default reads in the form and the docs: ``60``, ``1.5``, ``true``."""
    value = DEFAULTS[name]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _as_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"Canvas connection extra {name!r} must be true or false, got {value!r}")


def _coerce(name: str, value: Any) -> Any:
    default = DEFAULTS[name]
    if name == "verify_ssl" and isinstance(value, str) and value.strip().lower() not in _TRUE | _FALSE:
        return _ca_bundle(value)
    if isinstance(default, bool):
        return _as_bool(name, value)
    try:
        number = float(value)
        if isinstance(default, int):
            if not number.is_integer():
                raise ValueError
            number = int(number)
    except (TypeError, ValueError, OverflowError):
        kind = "a whole number" if isinstance(default, int) else "a number"
        raise ValueError(f"Canvas connection extra {name!r} must be {kind}, got {value!r}") from None
    minimum = MINIMUMS.get(name, 0)
    if number < minimum:
        raise ValueError(f"Canvas connection extra {name!r} must be at least {minimum}, got {value!r}")
    return number


def _ca_bundle(value: str) -> str:
    """A ``verify_ssl`` that is neither true nor false: the path of a CA bundle file (or folder)."""
    path = os.path.expanduser(value.strip())
    if not os.path.exists(path):
        raise ValueError(
            f"Canvas connection extra 'verify_ssl' must be true, false or the path of a CA bundle; "
            f"{value!r} is not a word for true or false and no such file exists"
        )
    return path


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def normalize_base_url(host: str | None, allow_http: bool) -> str:
    """``school.instructure.com`` → ``https://school.instructure.com``; refuses plain HTTP off loopback."""
    if not host or not host.strip():
        raise ValueError(
            "The Canvas connection has no host: set it to your Canvas URL, e.g. https://school.instructure.com"
        )
    url = host.strip()
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"The Canvas URL {host!r} is not an http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("The Canvas URL must not carry credentials, a query or a fragment")
    if parts.scheme == "http" and not (allow_http or _is_loopback(parts.hostname)):
        raise ValueError(
            f"Refusing plain http:// for Canvas host {parts.hostname!r}: the token would travel unencrypted. "
            "Use https://, or set the connection extra allow_http=true if you really mean it."
        )
    path = parts.path.rstrip("/")
    if path.endswith("/api/v1"):
        path = path[: -len("/api/v1")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _extra(extras: Mapping[str, Any], name: str) -> Any:
    """An extra named plainly (``timeout``) or with Airflow 2's form prefix (``extra__canvas__timeout``)."""
    return extras.get(name, extras.get(f"extra__canvas__{name}"))


def developer_key_of(extras: Mapping[str, Any]) -> DeveloperKey | None:
    """
    The developer key the extras hold, ``None`` if they hold none, or a refusal naming what is
    missing (all three of ``client_id``, ``client_secret`` and ``refresh_token`` are needed).
    """
    given = {name: _extra(extras, name) for name in DEVELOPER_KEY_EXTRAS}
    given = {name: value.strip() if isinstance(value, str) else value for name, value in given.items()}
    if not any(given.values()):
        return None
    for name, value in given.items():
        if value is not None and not isinstance(value, (str, int)):
            raise ValueError(f"Canvas connection extra {name!r} must be text, not {type(value).__name__}")
    missing = [name for name, value in given.items() if value in (None, "")]
    if missing:
        raise ValueError(
            "The Canvas connection holds part of a developer key: set the extras "
            f"{', '.join(repr(m) for m in missing)} too (client_id, client_secret and refresh_token "
            "come together), or remove the developer key extras and use an access token as the password"
        )
    return DeveloperKey(str(given["client_id"]), str(given["client_secret"]), str(given["refresh_token"]))


def build_settings(
    host: str | None, token: str | None, extras: Mapping[str, Any], overrides: Mapping[str, Any]
) -> CanvasSettings:
    """
    Settings from a connection's host, password and extras, with hook arguments on top.

    Extras may be named plainly (``timeout``) or with Airflow 2's form prefix
    (``extra__canvas__timeout``). ``None`` values mean "not set". The connection authenticates
    with an access token (the password) or with a developer key (the extras ``client_id``,
    ``client_secret`` and ``refresh_token``, the password left empty): exactly one of them.
    """
    values: dict[str, Any] = {}
    for name in DEFAULTS:
        value = overrides.get(name)
        if value is None:
            value = _extra(extras, name)
        if value is not None and value != "":
            values[name] = _coerce(name, value)
    developer_key = developer_key_of(extras)
    if developer_key is not None and token:
        raise ValueError(
            "The Canvas connection has both a password (an access token) and a developer key in its "
            "extras: keep one. With a developer key, leave the password empty"
        )
    if developer_key is None and not token:
        raise ValueError(
            "The Canvas connection has no credentials: put an access token in the password, or a "
            "developer key in the extras client_id, client_secret and refresh_token"
        )
    base_url = normalize_base_url(host, values.get("allow_http", DEFAULTS["allow_http"]))
    known = {f.name for f in fields(CanvasSettings)}
    settings = CanvasSettings(base_url=base_url, token=token or "", developer_key=developer_key)
    return replace(settings, **{k: v for k, v in values.items() if k in known})
