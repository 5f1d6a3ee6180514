"""
Report parameters, checked before any request and written the way Canvas reads them.

Course reports read only ``section_ids`` and ``enrollment_ids``. Account reports read named
parameters, most of them flags (``users``, ``enrollments``, ``include_deleted``): Canvas tells a
flag by ``value_to_boolean``, so flags are sent as JSON booleans, whatever form a template gave
them in (``True``, ``"true"``, ``"1"``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_canvas_reports.client.ids import validate_id, validate_parameter_name
from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError

# --- course reports ------------------------------------------------------------------------------

#: The parameters Canvas reads for a course report (it drops any other key).
SELECTION_KEYS = ("section_ids", "enrollment_ids")
#: Report types that end in ``error`` unless some sections or enrollments are asked for.
_NEEDS_SELECTION = frozenset({"course_pace_docx"})


def course_report_parameters(report_type: str, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """
    Check course report parameters and return them as Canvas's JSON body takes them.

    ``{"section_ids": [1, 2]}`` stays as it is (ids keep their type; a set is sorted). Each of
    ``section_ids`` and ``enrollment_ids`` must be positive ids: integers or their digits, a
    single id, or a string holding a JSON list of them (``"[1, 2]"``, what a Jinja template renders
    without ``render_template_as_native_obj``). A ``course_pace_docx`` report needs a non-empty
    ``section_ids`` or ``enrollment_ids``: Canvas makes one document per section or student asked
    for, and with neither the report can only fail.

    :raises CanvasInvalidInputError: naming the parameter and what to fix (also a ``ValueError``).
    """
    checked: dict[str, Any] = {}
    for key, value in _mapping(parameters).items():
        if key in SELECTION_KEYS:
            checked[key] = _id_list(value, key)
        else:
            checked[key] = _plain_value(value, key)
    if report_type in _NEEDS_SELECTION and not any(selection(checked).values()):
        raise CanvasInvalidInputError(
            f"A {report_type} report needs a non-empty 'section_ids' or 'enrollment_ids' parameter, "
            "e.g. parameters={'section_ids': [123]}: Canvas makes one document per section or student "
            "asked for, and with neither the report always ends in error"
        )
    return checked


def selection(parameters: Any) -> dict[str, list[str]]:
    """
    The ``section_ids`` and ``enrollment_ids`` of report parameters, as given or as Canvas echoes
    them (form values come back as strings), as sorted strings; a missing key is an empty list.
    """
    params = parameters if isinstance(parameters, Mapping) else {}
    chosen: dict[str, list[str]] = {}
    for key in SELECTION_KEYS:
        value = _rendered_list(params.get(key))
        values = value if isinstance(value, (list, tuple)) else ([] if value in (None, "") else [value])
        chosen[key] = sorted(str(v) for v in values)
    return chosen


def same_course_selection(report: Mapping[str, Any], parameters: Mapping[str, Any] | None) -> bool:
    """
    Whether ``report`` was started with exactly these ``section_ids`` and ``enrollment_ids`` (the
    only parameters Canvas keeps for a course report; a missing key is an empty list, ids compare
    as strings).
    """
    return selection(report.get("parameters")) == selection(parameters)


# --- account reports -----------------------------------------------------------------------------

#: The parts ``provisioning_csv`` and ``sis_export_csv`` can write: with none true, the report fails.
PROVISIONING_PARTS = (
    "users",
    "accounts",
    "terms",
    "courses",
    "sections",
    "enrollments",
    "groups",
    "group_categories",
    "group_membership",
    "xlist",
    "user_observers",
    "admins",
)
#: Account report parameters that Canvas reads as flags (``value_to_boolean``).
FLAGS = frozenset({*PROVISIONING_PARTS, "include_deleted", "created_by_sis", "skip_message"})
#: Report types that write one CSV per part asked for, and fail with no part.
_NEEDS_PART = frozenset({"provisioning_csv", "sis_export_csv"})
_TRUE = frozenset({"true", "1", "yes", "on", "t", "y"})
_FALSE = frozenset({"false", "0", "no", "off", "f", "n", ""})


def account_report_parameters(report_type: str, parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """
    Check account report parameters and return them as Canvas's JSON body takes them.

    Flags (:data:`FLAGS`) become JSON booleans (``True``, ``"true"``, ``"1"``, ``"yes"``, ``"on"``
    and their opposites are accepted, so a templated value works); other parameters are ids,
    strings or lists of them, passed as given (institutions add their own). ``skip_message`` is
    ``True`` unless given: without it Canvas e-mails the token's user each time a report finishes.
    A ``provisioning_csv`` or ``sis_export_csv`` needs at least one true part
    (:data:`PROVISIONING_PARTS`): with none, Canvas can only end it in ``error``.

    :raises CanvasInvalidInputError: naming the parameter and what to fix (also a ``ValueError``).
    """
    checked: dict[str, Any] = {}
    for key, value in _mapping(parameters).items():
        checked[key] = _flag(value, key) if key in FLAGS else _plain_value(value, key)
    checked.setdefault("skip_message", True)
    if report_type in _NEEDS_PART and not any(checked.get(part) for part in PROVISIONING_PARTS):
        raise CanvasInvalidInputError(
            f"A {report_type} report needs at least one part set to true, e.g. "
            "parameters={'users': True, 'courses': True, 'enrollments': True} (parts: "
            f"{', '.join(PROVISIONING_PARTS)}): with none, Canvas ends the report in error"
        )
    return checked


def same_account_parameters(report: Mapping[str, Any], sent: Mapping[str, Any]) -> bool:
    """
    Whether ``report`` (a run Canvas lists) carries every parameter of ``sent`` (already checked),
    compared the way Canvas reads them (flags as booleans, the rest as text). Canvas adds keys of
    its own (``extra_text``), which are ignored.
    """
    echoed = report.get("parameters")
    if not isinstance(echoed, Mapping):
        return not sent
    for key, value in sent.items():
        if key in FLAGS:
            if _truthy(echoed.get(key)) != bool(value):
                return False
        elif _as_text(echoed.get(key)) != _as_text(value):
            return False
    return True


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, (str, int)) and str(value).strip().lower() in _TRUE)


def _as_text(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return None if value is None else str(value)


def _flag(value: Any, name: str) -> bool:
    value = value.strip().lower() if isinstance(value, str) else value
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and (value in _TRUE or value in _FALSE):
        return value in _TRUE
    raise CanvasInvalidInputError(
        f"Invalid value {value!r} for report parameter {name!r}: expected true or false"
    )


# --- shared --------------------------------------------------------------------------------------


def _mapping(parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    """``parameters`` with checked names (``None`` is none); anything but a mapping is refused."""
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise CanvasInvalidInputError(
            f"Report parameters must be a mapping such as {{'section_ids': [1, 2]}}, got "
            f"{type(parameters).__name__}"
        )
    return {validate_parameter_name(name): value for name, value in parameters.items()}


def _rendered_list(value: Any) -> Any:
    """A string holding a JSON list (a template's rendering of one) as that list; else ``value``."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        if isinstance(parsed, list):
            return parsed
    return value


def _id_list(value: Any, name: str) -> list[int | str]:
    """``section_ids``/``enrollment_ids`` as a list of positive ids, or a clear refusal."""
    value = _rendered_list(value)
    if isinstance(value, str):
        raise CanvasInvalidInputError(
            f"Invalid value {value!r} for report parameter {name!r}: expected a list of ids such as "
            f"[1, 2]. A Jinja template renders a string: render a JSON list (e.g. "
            f"'{{{{ params.{name} | tojson }}}}'), or set render_template_as_native_obj=True on the DAG"
        )
    if value is None:
        return []
    items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
    if not isinstance(items, (list, tuple)):
        items = [items]
    for item in items:  # ids keep their type (a form echoes strings, JSON keeps numbers)
        validate_id(item, f"id in report parameter {name!r}")
    return list(items)


def _plain_value(value: Any, name: str) -> Any:
    """An id, a string or a flag, or a list of them (a set is sorted)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        values: Iterable[Any] = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_json_value(item, name) for item in values]
    return _json_value(value, name)


def _json_value(value: Any, name: str) -> Any:
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, str) and value and value.isprintable():
        return value
    raise CanvasInvalidInputError(
        f"Invalid value {value!r} for report parameter {name!r}: expected ids or strings"
    )
