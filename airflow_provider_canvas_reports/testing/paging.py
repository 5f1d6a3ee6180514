"""Canvas's pagination: ``per_page`` (default 10, at most 100) and a ``Link`` header.

Each page's ``Link`` names the ``current``, ``next`` (while there is more) and ``first`` pages, and
``last`` only where Canvas can count the list cheaply. The links carry the request's own query
(its filters) with the page and ``per_page`` set, but never an ``access_token`` given in the
query. Lists keyed by id page with an opaque bookmark (``page=bookmark:...``), the others by number.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from airflow_provider_canvas_reports.testing.http import Request

DEFAULT_PER_PAGE, MAX_PER_PAGE = 10, 100
_BOOKMARK = "bookmark:"


def per_page(request: Request) -> int:
    """``per_page`` as Canvas reads it: the default when absent or not a positive number, capped."""
    value = dict(parse_qsl(request.query)).get("per_page", "")
    return min(int(value), MAX_PER_PAGE) if value.isdigit() and int(value) > 0 else DEFAULT_PER_PAGE


def _page_param(request: Request) -> str:
    return dict(parse_qsl(request.query)).get("page", "")


def _link(base: str, request: Request, page: str, size: int) -> str:
    dropped = ("page", "per_page", "access_token")
    kept = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if k not in dropped]
    return f"{base}{request.path}?{urlencode([*kept, ('page', page), ('per_page', str(size))])}"


def _header(base: str, request: Request, size: int, rels: list[tuple[str, str]]) -> tuple[str, str]:
    return ("Link", ",".join(f'<{_link(base, request, page, size)}>; rel="{rel}"' for rel, page in rels))


def numbered(
    items: Sequence[Any], request: Request, base: str, *, with_last: bool
) -> tuple[Sequence[Any], tuple[str, str]]:
    """One page of ``items`` by page number, and its ``Link`` header (``last`` only if asked)."""
    size = per_page(request)
    raw = _page_param(request)
    page = int(raw) if raw.isdigit() and int(raw) > 0 else 1
    chosen = items[(page - 1) * size : page * size]
    rels = [("current", str(page))]
    if page * size < len(items):
        rels.append(("next", str(page + 1)))
    rels.append(("first", "1"))
    if with_last:
        rels.append(("last", str(max(1, -(-len(items) // size)))))
    return chosen, _header(base, request, size, rels)


def bookmarked(
    items: Sequence[Any], request: Request, base: str, key: Callable[[Any], int]
) -> tuple[Sequence[Any], tuple[str, str]]:
    """
    One page of ``items`` (sorted by ``key``) after the bookmark the request carries, and its
    ``Link`` header: ``current``, ``next`` while more follow, ``first``; never ``last``.
    """
    size = per_page(request)
    after = _read_bookmark(_page_param(request))
    start = 0
    if after is not None:
        start = next((i for i, item in enumerate(items) if key(item) > after), len(items))
    chosen = items[start : start + size]
    rels = [("current", _page_param(request) or "first")]
    if start + size < len(items):
        rels.append(("next", _write_bookmark(key(chosen[-1]))))
    rels.append(("first", "first"))
    return chosen, _header(base, request, size, rels)


def _write_bookmark(last: int) -> str:
    return _BOOKMARK + base64.urlsafe_b64encode(json.dumps([last]).encode()).decode().rstrip("=")


def _read_bookmark(page: str) -> int | None:
    if not page.startswith(_BOOKMARK):
        return None
    raw = page[len(_BOOKMARK) :]
    try:
        value = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return None
    return value[0] if isinstance(value, list) and value and isinstance(value[0], int) else None
