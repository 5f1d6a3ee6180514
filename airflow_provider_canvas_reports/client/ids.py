"""
Validation of the ids that go into Canvas URL paths.

Everything a caller passes is checked here before any request is built, so a bad id never
reaches the network and never changes the path (no ``/``, ``..``, whitespace or invisible
characters slip through).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError

_NUMERIC_ID = re.compile(r"[0-9]{1,19}", re.ASCII)
_REPORT_TYPE = re.compile(r"[a-z0-9_]{1,100}", re.ASCII)
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+", re.ASCII)
_ALTERNATE_ID_PREFIXES = {
    "course_id": ("sis_course_id", "sis_integration_id", "lti_context_id", "uuid"),
    "account_id": ("sis_account_id", "sis_integration_id", "lti_context_id", "uuid"),
}
_HEX_PREFIXES = ("sis_course_id", "sis_account_id", "sis_integration_id")
_MAX_ID = 2**63 - 1


def _describe(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def _numeric(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise CanvasInvalidInputError(f"Invalid {what} {_describe(value)}: expected a positive integer")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _NUMERIC_ID.fullmatch(value):
        number = int(value)
    else:
        raise CanvasInvalidInputError(f"Invalid {what} {_describe(value)}: expected a positive integer")
    if not 0 < number <= _MAX_ID:
        raise CanvasInvalidInputError(f"Invalid {what} {_describe(value)}: expected a positive integer")
    return number


def _check_alternate_value(value: str, original: str, what: str) -> None:
    problem = None
    if not value:
        problem = "the part after the prefix is empty"
    elif value != value.strip() or any(ch.isspace() and ch != " " for ch in value):
        problem = "it has leading, trailing or non-space whitespace"
    elif any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in value):
        problem = "it has control or invisible characters"
    elif unicodedata.normalize("NFC", value) != value:
        problem = "it is not in Unicode normal form NFC"
    if problem:
        raise CanvasInvalidInputError(f"Invalid {what} {original!r}: {problem}")


def _context_segment(value: object, what: str) -> str:
    """A course or account id (``what``) as a URL path segment, or a refusal naming it."""
    if not isinstance(value, str) or not value[:1].isalpha():
        return str(_numeric(value, what))
    prefixes = _ALTERNATE_ID_PREFIXES[what]
    prefix, sep, rest = value.partition(":")
    if sep and prefix == "hex":
        inner, sep2, hex_value = rest.partition(":")
        if sep2 and inner in _HEX_PREFIXES and inner in prefixes and _HEX.fullmatch(hex_value):
            return f"hex:{inner}:{hex_value.lower()}"
        raise CanvasInvalidInputError(
            f"Invalid {what} {value!r}: expected 'hex:{prefixes[0]}:<hex digits, whole bytes>'"
        )
    if sep and prefix in prefixes:
        _check_alternate_value(rest, value, what)
        if "/" in rest or "." in rest:
            # Canvas's routes cannot take these even URL-encoded; its hex form carries any SIS id.
            if prefix in _HEX_PREFIXES:
                return f"hex:{prefix}:{rest.encode().hex()}"
            raise CanvasInvalidInputError(f"Invalid {what} {value!r}: a {prefix} cannot contain '/' or '.'")
        return f"{prefix}:{quote(rest, safe='')}"
    if what == "account_id" and value == "self":
        return value
    forms = ", ".join(p + ":X" for p in prefixes)
    also = "'self', " if what == "account_id" else ""
    raise CanvasInvalidInputError(
        f"Invalid {what} {value!r}: expected a number or one of {also}{forms}, hex:{prefixes[0]}:<hex>"
    )


def course_id_path_segment(course_id: object) -> str:
    """
    Return ``course_id`` as a URL path segment, or raise :class:`ValueError` naming it.

    Accepts a Canvas course id (an integer, or its digits as a string) and Canvas's alternate
    forms: ``sis_course_id:X``, ``sis_integration_id:X``, ``lti_context_id:X``, ``uuid:X`` (X is
    URL-encoded) and ``hex:sis_course_id:<hex>``. A SIS id with ``/`` or ``.``, which Canvas's routes
    cannot take, is sent in the hex form.
    """
    return _context_segment(course_id, "course_id")


def account_id_path_segment(account_id: object) -> str:
    """
    Return ``account_id`` as a URL path segment, or raise :class:`ValueError` naming it: a Canvas
    account id, ``self`` (the domain's root account), or ``sis_account_id:X`` and the other
    alternate forms, as for :func:`course_id_path_segment`.
    """
    return _context_segment(account_id, "account_id")


def validate_course_id(course_id: object) -> int | str:
    """Return the course id as given (an ``int`` for numeric ids) after checking it."""
    course_id_path_segment(course_id)
    if isinstance(course_id, str) and course_id[:1].isalpha():
        return course_id
    return _numeric(course_id, "course_id")


def validate_account_id(account_id: object) -> int | str:
    """Return the account id as given (an ``int`` for numeric ids) after checking it."""
    account_id_path_segment(account_id)
    if isinstance(account_id, str) and account_id[:1].isalpha():
        return account_id
    return _numeric(account_id, "account_id")


def validate_report_type(report_type: object) -> str:
    """Return ``report_type`` if it is a Canvas report type name (``[a-z0-9_]+``)."""
    if not isinstance(report_type, str) or not _REPORT_TYPE.fullmatch(report_type):
        raise CanvasInvalidInputError(
            f"Invalid report_type {_describe(report_type)}: expected lower-case letters, digits and '_'"
        )
    return report_type


def validate_id(value: object, what: str) -> int:
    """Return ``value`` as an ``int`` if it is a positive Canvas id (or its digits); ``what`` names it."""
    return _numeric(value, what)


def validate_report_id(report_id: object) -> int:
    """Return ``report_id`` as an ``int`` if it is a positive integer (or its digits)."""
    return _numeric(report_id, "report_id")


def validate_parameter_name(name: object) -> str:
    """Return a report parameter name (``section_ids``) if it is safe to put in a form key."""
    if not isinstance(name, str) or not _REPORT_TYPE.fullmatch(name):
        raise CanvasInvalidInputError(f"Invalid report parameter name {_describe(name)}: expected [a-z0-9_]+")
    return name
