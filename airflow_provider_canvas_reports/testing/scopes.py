"""Developer key scopes: the route an API request takes, as canvas-lms names it in a scope.

A scope is ``url:<VERB>|<route>``, the route as ``config/routes.rb`` writes it
(``url:GET|/api/v1/courses/:course_id/reports/:report_type/:id``). A key that enforces scopes lets
its access tokens call the routes it names and answers any other with 401 "Insufficient scopes on
access token." (without ``WWW-Authenticate``: a new token would not help).
"""

from __future__ import annotations

_API = "/api/v1"
#: The routes the emulator serves, by their segments below ``/api/v1`` (``*``: any one segment).
_ROUTES: dict[tuple[str, ...], str] = {
    ("users", "*"): "/users/:id",
    ("accounts", "*", "courses"): "/accounts/:account_id/courses",
    ("accounts", "*", "reports"): "/accounts/:account_id/reports",
    ("accounts", "*", "reports", "*"): "/accounts/:account_id/reports/:report",
    ("accounts", "*", "reports", "*", "*"): "/accounts/:account_id/reports/:report/:id",
    ("accounts", "*", "reports", "*", "*", "abort"): "/accounts/:account_id/reports/:report/:id/abort",
    ("courses", "*", "reports", "*"): "/courses/:course_id/reports/:report_type",
    ("courses", "*", "reports", "*", "*"): "/courses/:course_id/reports/:report_type/:id",
    ("courses", "*", "sections"): "/courses/:course_id/sections",
}


def scope_of(method: str, rest: list[str]) -> str | None:
    """The scope an API request needs (``rest``: its path segments below ``/api/v1``), or None."""
    verb = "GET" if method == "HEAD" else method
    for pattern, route in _ROUTES.items():
        if len(pattern) == len(rest) and all(p in ("*", r) for p, r in zip(pattern, rest, strict=True)):
            return f"url:{verb}|{_API}{route}"
    return None
