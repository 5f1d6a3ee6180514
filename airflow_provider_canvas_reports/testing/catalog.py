"""The courses and sections an account lists (``/api/v1/accounts/:id/courses``, ``/courses/:id/sections``).

A course of the catalog has a term, a sub-account, a workflow state (``created`` and ``claimed``
are unpublished, ``available`` is published, ``completed`` has concluded, ``deleted`` is gone),
students or none, and its sections. The filters are canvas-lms's ``courses_api`` ones, read as it
reads them (``value_to_boolean`` flags, ``state[]`` lists).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_canvas_reports.testing.account_reports import value_to_boolean

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

#: Canvas's course workflow states; ``state[]`` may also say ``all``.
COURSE_STATES = ("created", "claimed", "available", "completed", "deleted")
PUBLISHED_STATES = frozenset({"available", "completed"})
#: Shortest ``search_term`` Canvas accepts.
MIN_SEARCH_TERM = 2
CREATED_AT = "2025-08-01T09:00:00-06:00"


class FilterError(ValueError):
    """A filter Canvas refuses with a 400 (``field`` names it)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CatalogSection:
    """A course section: its id (what ``section_ids`` names) and name."""

    id: int
    name: str
    sis_section_id: str | None = None


@dataclass
class CatalogCourse:
    """A course an account lists."""

    id: int
    name: str
    account_id: int = 1
    enrollment_term_id: int = 1
    sis_course_id: str | None = None
    course_code: str = ""
    workflow_state: str = "available"
    students: int = 20
    sections: tuple[CatalogSection, ...] = ()
    uuid: str = field(default_factory=lambda: uuid.uuid4().hex[:40])

    def __post_init__(self) -> None:
        if self.workflow_state not in COURSE_STATES:
            state = self.workflow_state
            raise ValueError(f"workflow_state must be among {list(COURSE_STATES)}, not {state!r}")
        if not self.course_code:
            self.course_code = self.name[:30]

    def to_json(self, root_account_id: int) -> dict[str, Any]:
        """The Course object of the accounts' course list (the keys a default request gets)."""
        return {
            "id": self.id,
            "name": self.name,
            "account_id": self.account_id,
            "uuid": self.uuid,
            "start_at": None,
            "grading_standard_id": None,
            "is_public": False,
            "created_at": CREATED_AT,
            "course_code": self.course_code,
            "default_view": "modules",
            "root_account_id": root_account_id,
            "enrollment_term_id": self.enrollment_term_id,
            "license": "private",
            "grade_passback_setting": None,
            "end_at": None,
            "public_syllabus": False,
            "public_syllabus_to_auth": False,
            "storage_quota_mb": 500,
            "is_public_to_auth_users": False,
            "homeroom_course": False,
            "course_color": None,
            "friendly_name": None,
            "apply_assignment_group_weights": False,
            "calendar": {"ics": f"/feeds/calendars/course_{self.uuid}.ics"},
            "time_zone": "America/Denver",
            "blueprint": False,
            "template": False,
            "sis_course_id": self.sis_course_id,
            "sis_import_id": None,
            "integration_id": None,
            "hide_final_grades": False,
            "workflow_state": self.workflow_state,
            "restrict_enrollments_to_course_dates": False,
        }

    def section_json(self, section: CatalogSection) -> dict[str, Any]:
        """A Section object of ``GET /api/v1/courses/:course_id/sections``."""
        return {
            "id": section.id,
            "course_id": self.id,
            "name": section.name,
            "start_at": None,
            "end_at": None,
            "created_at": CREATED_AT,
            "restrict_enrollments_to_section_dates": False,
            "nonxlist_course_id": None,
            "sis_section_id": section.sis_section_id,
            "sis_course_id": self.sis_course_id,
            "integration_id": None,
            "sis_import_id": None,
        }


def _flag(query: Mapping[str, list[str]], name: str) -> bool | None:
    values = query.get(name)
    return None if not values or values[-1] == "" else value_to_boolean(values[-1])


def _ids(values: Iterable[str], name: str) -> set[int]:
    found = set()
    for value in values:
        if not (value.isascii() and value.isdigit()):
            raise FilterError(name, f"{name} must be a list of ids")
        found.add(int(value))
    return found


def select_courses(
    courses: Iterable[CatalogCourse],
    query: Mapping[str, list[str]],
    account_id: int,
    within: Callable[[int, int], bool],
) -> list[CatalogCourse]:
    """
    The courses of ``account_id`` (and its sub-accounts) that ``query``'s filters keep, by id.

    ``within(course_account, account)`` tells whether an account lies under another (or is it).
    Unknown parameters are ignored, as Canvas ignores them.
    """
    states = set(query.get("state[]", []))
    if states - {*COURSE_STATES, "all"}:
        raise FilterError("state", f"state[] must be among {[*COURSE_STATES, 'all']}")
    if not states:
        states = set(COURSE_STATES) - {"deleted"}
    elif "all" in states:
        states = set(COURSE_STATES)
    term = (query.get("enrollment_term_id") or [""])[-1]
    if term and not (term.isascii() and term.isdigit()):
        raise FilterError("enrollment_term_id", f"invalid enrollment_term_id {term!r}")
    subaccounts = _ids(query.get("by_subaccounts[]", []), "by_subaccounts")
    search = (query.get("search_term") or [""])[-1]
    if search and len(search) < MIN_SEARCH_TERM:
        raise FilterError("search_term", f"{MIN_SEARCH_TERM} or more characters is required")
    published, completed = _flag(query, "published"), _flag(query, "completed")
    with_enrollments = _flag(query, "with_enrollments")

    def keep(course: CatalogCourse) -> bool:
        if course.workflow_state not in states or not within(course.account_id, account_id):
            return False
        if term and course.enrollment_term_id != int(term):
            return False
        if subaccounts and not any(within(course.account_id, sub) for sub in subaccounts):
            return False
        if published is not None and (course.workflow_state in PUBLISHED_STATES) != published:
            return False
        if completed is not None and (course.workflow_state == "completed") != completed:
            return False
        if with_enrollments is not None and (course.students > 0) != with_enrollments:
            return False
        if search:
            needle = search.lower()
            haystack = (course.name, course.course_code, course.sis_course_id or "")
            return any(needle in text.lower() for text in haystack) or search == str(course.id)
        return True

    return sorted((course for course in courses if keep(course)), key=lambda course: course.id)
