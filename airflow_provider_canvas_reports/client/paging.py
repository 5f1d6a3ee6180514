"""
Canvas's pagination: each page of a list names the next one in ``Link: <url>; rel="next"``.

The URL is opaque (Canvas may use page numbers or bookmarks) and is followed as given, but only on
the Canvas host the connection names: the token is never sent anywhere else. There is no
``rel="last"`` to rely on, so callers bound the walk with ``max_pages``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_canvas_reports.exceptions import CanvasUnexpectedResponseError

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.client.calls import CanvasRequest

#: Pages a list call follows unless told otherwise (100 items a page: 100,000 items).
MAX_PAGES = 1000

_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_NEXT = re.compile(r"""\brel\s*=\s*"?([^";]*)"?""", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a list: its items, and the next page's URL (``None`` on the last page)."""

    items: list[Any]
    next_url: str | None


def next_url(headers: Mapping[str, str]) -> str | None:
    """
    The ``rel="next"`` URL of the ``Link`` header (its name in any case, and every ``Link`` line if
    an answer has several), or ``None``. Other relations (``current``, ``first``, ``last``) are
    never needed: the walk follows ``next`` until there is none.
    """
    getall = getattr(headers, "getall", None)  # aiohttp's multi-dict keeps repeated headers apart
    values = (
        list(getall("link", []))
        if getall is not None
        else [v for k, v in headers.items() if k.lower() == "link"]
    )
    for match in _LINK.finditer(", ".join(values)):
        rel = _NEXT.search(match.group(2))
        if rel and "next" in rel.group(1).lower().split():
            return match.group(1).strip()
    return None


def next_request(request: CanvasRequest, url: str, base_url: str) -> CanvasRequest:
    """
    ``request`` for the page at ``url`` (absolute, or a path), refused if it leaves the Canvas host.
    """
    base, link = urlsplit(base_url), urlsplit(url)
    if link.netloc and (link.scheme, link.netloc.lower()) != (base.scheme, base.netloc.lower()):
        raise CanvasUnexpectedResponseError(
            f"Canvas {request.label}: the next page is on another host ({link.scheme}://{link.netloc}); "
            "it is not followed, so the token goes only to the connection's Canvas"
        )
    prefix = base.path.rstrip("/")
    path = link.path[len(prefix) :] if prefix and link.path.startswith(prefix + "/") else link.path
    return replace(request, path=path + (f"?{link.query}" if link.query else ""))


def too_many_pages(request: CanvasRequest, max_pages: int) -> CanvasUnexpectedResponseError:
    return CanvasUnexpectedResponseError(
        f"Canvas {request.label} still links to a next page after {max_pages} pages; stopped "
        "(raise max_pages if the list is really that long)"
    )
