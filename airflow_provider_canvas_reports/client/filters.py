"""
The filters of Canvas's account course list (``GET /api/v1/accounts/:account_id/courses``),
checked before any request and written as Canvas reads them.

Only the names Canvas documents are taken: a misspelt filter would otherwise be ignored by Canvas
and the DAG would fan out over every course of the account. Flags go as ``true``/``false``, lists
as repeated ``name[]=value`` pairs, ids as digits. Values may come from a template as text
(``"true"``, ``"[\\"available\\"]"``, ``"2026-01-01"``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from airflow_provider_canvas_reports.client.ids import validate_id
from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError

_FLAG, _TEXT, _ID, _TERM, _WHEN, _WORDS, _IDS = "flag", "text", "id", "term", "when", "words", "ids"
#: Each filter Canvas reads, its kind, and (for words) the values it takes (None: any).
COURSE_FILTERS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "enrollment_term_id": (_TERM, None),
    "published": (_FLAG, None),
    "completed": (_FLAG, None),
    "with_enrollments": (_FLAG, None),
    "blueprint": (_FLAG, None),
    "blueprint_associated": (_FLAG, None),
    "public": (_FLAG, None),
    "homeroom": (_FLAG, None),
    "hide_enrollmentless_courses": (_FLAG, None),
    "state": (_WORDS, ("created", "claimed", "available", "completed", "deleted", "all")),
    "enrollment_type": (_WORDS, ("teacher", "student", "ta", "observer", "designer")),
    "by_teachers": (_IDS, None),
    "by_subaccounts": (_IDS, None),
    "include": (_WORDS, None),
    "search_term": (_TEXT, None),
    "search_by": (_WORDS, ("course", "teacher")),
    "sort": (_WORDS, ("course_status", "course_name", "sis_course_id", "teacher", "account_name")),
    "order": (_WORDS, ("asc", "desc")),
    "starts_before": (_WHEN, None),
    "ends_after": (_WHEN, None),
}
#: Of the word filters, those Canvas reads as lists (``state[]``); the others take one word.
_LISTS = frozenset({"state", "enrollment_type", "include", "by_teachers", "by_subaccounts"})
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
#: Canvas asks for a search term of at least this many characters.
MIN_SEARCH_TERM = 2


def _refuse(name: str, value: Any, expected: str) -> CanvasInvalidInputError:
    return CanvasInvalidInputError(f"Invalid course list filter {name}={value!r}: expected {expected}")


def _flag(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return "true" if value.strip().lower() in _TRUE else "false"
    raise _refuse(name, value, "true or false")


def _items(name: str, value: Any) -> list[Any]:
    """A list filter's values: a list, tuple or set, a JSON list in text, or one value."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            value = json.loads(value)
        except ValueError:
            raise _refuse(name, value, "a list (JSON text of one is fine)") from None
    if isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise _refuse(name, value, "at least one value (leave the filter out to not filter)")
    return items


def _word(name: str, value: Any, allowed: tuple[str, ...] | None) -> str:
    if not isinstance(value, str) or not value.strip() or (allowed is not None and value not in allowed):
        raise _refuse(name, value, f"one of {', '.join(allowed)}" if allowed else "a word")
    return value


def _term(name: str, value: Any) -> str:
    if isinstance(value, str) and value.startswith("sis_term_id:") and len(value) > len("sis_term_id:"):
        return value
    try:
        return str(validate_id(value, name))
    except CanvasInvalidInputError:
        raise _refuse(name, value, "a term id, or sis_term_id:<SIS id>") from None


def _when(name: str, value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return value.strip()
    raise _refuse(name, value, "an ISO 8601 date or date-time")


def _encode(name: str, kind: str, allowed: tuple[str, ...] | None, value: Any) -> list[tuple[str, str]]:
    if kind == _FLAG:
        return [(name, _flag(name, value))]
    if kind == _TERM:
        return [(name, _term(name, value))]
    if kind == _WHEN:
        return [(name, _when(name, value))]
    if kind == _TEXT:
        text = value.strip() if isinstance(value, str) else ""
        if len(text) < MIN_SEARCH_TERM:
            raise _refuse(name, value, f"text of {MIN_SEARCH_TERM} or more characters")
        return [(name, text)]
    if name not in _LISTS:
        return [(name, _word(name, value, allowed))]
    if kind == _IDS:
        return [(f"{name}[]", str(validate_id(item, name))) for item in _items(name, value)]
    return [(f"{name}[]", _word(name, item, allowed)) for item in _items(name, value)]


def course_filters(given: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """
    The query pairs of the course list filters ``given`` (``None`` values are left out), in a
    stable order; a filter Canvas does not have, or a value it cannot take, is refused naming it.
    A list filter may be named with or without ``[]`` (``state`` or ``state[]``).

    :raises CanvasInvalidInputError: before any request (also a ``ValueError``).
    """
    if given is None:
        return []
    if not isinstance(given, Mapping):
        raise CanvasInvalidInputError(f"Course list filters must be a mapping, got {type(given).__name__}")
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for raw_name, value in sorted(given.items(), key=lambda item: str(item[0])):
        name = str(raw_name).removesuffix("[]")
        if name not in COURSE_FILTERS:
            raise CanvasInvalidInputError(
                f"Unknown course list filter {raw_name!r}: Canvas would ignore it and list every course. "
                f"It reads: {', '.join(sorted(COURSE_FILTERS))}"
            )
        if name in seen:
            raise CanvasInvalidInputError(f"Course list filter {name!r} is given twice")
        seen.add(name)
        if value is None:
            continue
        kind, allowed = COURSE_FILTERS[name]
        pairs.extend(_encode(name, kind, allowed, value))
    return pairs


def described(pairs: Iterable[tuple[str, str]]) -> str:
    """``enrollment_term_id=12, state[]=available`` for a log line (no filter: ``no filter``)."""
    return ", ".join(f"{name}={value}" for name, value in pairs) or "no filter"
