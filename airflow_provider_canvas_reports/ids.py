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
_ALTERNATE_ID_PREFIXES = ("sis_course_id", "sis_integration_id", "lti_context_id", "uuid")
_HEX_PREFIXES = ("sis_course_id", "sis_integration_id")
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


def _check_alternate_value(value: str, original: str) -> None:
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
        raise CanvasInvalidInputError(f"Invalid course_id {original!r}: {problem}")


def course_id_path_segment(course_id: object) -> str:
    """
    Return ``course_id`` as a URL path segment, or raise :class:`ValueError` naming it.

    Accepts a Canvas course id (an integer, or its digits as a string) and Canvas's alternate
    forms: ``sis_course_id:X``, ``sis_integration_id:X``, ``lti_context_id:X``, ``uuid:X`` (X is
    URL-encoded) and ``hex:sis_course_id:<hex>``. A SIS id with ``/`` or ``.``, which Canvas's routes
    cannot take, is sent in the hex form.
    """
    if not isinstance(course_id, str) or not course_id[:1].isalpha():
        return str(_numeric(course_id, "course_id"))
    prefix, sep, value = course_id.partition(":")
    if sep and prefix == "hex":
        inner, sep2, hex_value = value.partition(":")
        if sep2 and inner in _HEX_PREFIXES and _HEX.fullmatch(hex_value):
            return f"hex:{inner}:{hex_value.lower()}"
        raise CanvasInvalidInputError(
            f"Invalid course_id {course_id!r}: expected 'hex:sis_course_id:<hex digits, whole bytes>'"
        )
    if sep and prefix in _ALTERNATE_ID_PREFIXES:
        _check_alternate_value(value, course_id)
        if "/" in value or "." in value:
            # Canvas's routes cannot take these even URL-encoded; its hex form carries any SIS id.
            if prefix in _HEX_PREFIXES:
                return f"hex:{prefix}:{value.encode().hex()}"
            raise CanvasInvalidInputError(
                f"Invalid course_id {course_id!r}: a {prefix} cannot contain '/' or '.'"
            )
        return f"{prefix}:{quote(value, safe='')}"
    raise CanvasInvalidInputError(
        f"Invalid course_id {course_id!r}: expected a number or one of "
        f"{', '.join(p + ':X' for p in _ALTERNATE_ID_PREFIXES)}, hex:sis_course_id:<hex>"
    )


def validate_course_id(course_id: object) -> int | str:
    """Return the course id as given (an ``int`` for numeric ids) after checking it."""
    course_id_path_segment(course_id)
    if isinstance(course_id, str) and course_id[:1].isalpha():
        return course_id
    return _numeric(course_id, "course_id")


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
