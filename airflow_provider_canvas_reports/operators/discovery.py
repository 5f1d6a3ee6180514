"""Find what a DAG fans out over: the courses of a Canvas account (and their sections)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperator, conf

from airflow_provider_canvas_reports._typing import rendered
from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.sdk import XComArg

#: How many left-out course ids a log line names (the count is always given).
_NAMED_IN_LOG = 20


class CanvasListCoursesOperator(BaseOperator):
    """
    List the courses of a Canvas account (and its sub-accounts) for dynamic task mapping.

    Returns one small entry per course, in Canvas's order::

        [{"course_id": 101, "sis_course_id": "BIO-101", "name": "Biology 101", "section_ids": [1001]}, ...]

    ``section_ids`` is filled only with ``with_sections``; then a course without any section is
    left out, and the log says which (a course pace report needs a section or an enrollment). A
    task mapped over the list (``.expand_kwargs`` after a ``.map()``) gets one entry each; Airflow
    refuses to map over more entries than ``[core] max_map_length`` (1024 by default), which the log
    warns of. The list is listed 100 courses a request; sections take one request per course, a few
    courses at once.

    .. seealso:: the "Discovering courses" how-to in the documentation.

    :param account_id: the account (``1``, ``self`` for the root account, ``sis_account_id:X``). (templated)
    :param enrollment_term_id: only courses of this term: an id or ``sis_term_id:X``. (templated)
    :param with_sections: list each course's sections into ``section_ids``, leaving out courses
        without any.
    :param published: ``True``: only published courses; ``False``: only unpublished ones. (templated)
    :param with_enrollments: ``True``: only courses with enrollments; ``False``: only those without.
        (templated)
    :param state: only courses in these workflow states (``["available", "completed"]``). (templated)
    :param search_term: only courses whose name, code or SIS id contains it (2 characters or more).
        (templated)
    :param filters: any other filter Canvas's course list reads, by name (``{"by_subaccounts": [12]}``,
        ``{"starts_before": "2026-09-01"}``); checked before any request. (templated)
    :param canvas_conn_id: the ``canvas`` connection. (templated)
    :param hook_params: keyword arguments for :class:`~.hooks.canvas.CanvasHook`.
    :return: the list above (JSON-ready).
    :raises CanvasInvalidInputError: before any request, for a filter Canvas does not have, a value
        it cannot take, or a filter given both by name and in ``filters``.
    """

    template_fields: Sequence[str] = (
        "account_id",
        "enrollment_term_id",
        "published",
        "with_enrollments",
        "state",
        "search_term",
        "filters",
        "canvas_conn_id",
    )
    template_fields_renderers = {"filters": "json", "state": "json"}
    ui_color = "#e8f0d4"

    def __init__(
        self,
        *,
        account_id: int | str | XComArg,
        enrollment_term_id: int | str | XComArg | None = None,
        with_sections: bool = False,
        published: bool | str | XComArg | None = None,
        with_enrollments: bool | str | XComArg | None = None,
        state: list[str] | str | XComArg | None = None,
        search_term: str | XComArg | None = None,
        filters: dict[str, Any] | XComArg | None = None,
        canvas_conn_id: str | XComArg = CanvasHook.default_conn_name,
        hook_params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.account_id: Any = rendered(account_id)  # an id, or a template rendered to one
        self.enrollment_term_id = rendered(enrollment_term_id)
        self.with_sections = with_sections
        self.published = rendered(published)
        self.with_enrollments = rendered(with_enrollments)
        self.state = rendered(state)
        self.search_term = rendered(search_term)
        self.filters = rendered(filters)
        self.canvas_conn_id = rendered(canvas_conn_id)
        self.hook_params = hook_params or {}

    @cached_property
    def hook(self) -> CanvasHook:
        return CanvasHook(self.canvas_conn_id, **self.hook_params)

    def course_filters(self) -> dict[str, Any]:
        """
        The named filters and ``filters`` together (a named one rendered empty is not set); a
        filter given both ways is refused.
        """
        named = {
            "enrollment_term_id": self.enrollment_term_id,
            "published": self.published,
            "with_enrollments": self.with_enrollments,
            "state": self.state,
            "search_term": self.search_term,
        }
        # A template that renders to nothing ("{{ params.term or '' }}") means "not set".
        given = {name: value for name, value in named.items() if value is not None and value != ""}
        extra = self.filters if self.filters is not None else {}
        if not isinstance(extra, dict):
            raise CanvasInvalidInputError(f"filters must be a mapping, got {type(extra).__name__}")
        twice = sorted(str(name) for name in extra if str(name).removesuffix("[]") in given)
        if twice:
            raise CanvasInvalidInputError(
                f"Course list filters given both by name and in filters: {', '.join(twice)}; give each once"
            )
        return {**given, **extra}

    def execute(self, context: Context) -> list[dict[str, Any]]:
        courses: list[dict[str, Any]] = [
            {
                "course_id": int(course["id"]),
                "sis_course_id": course.get("sis_course_id"),
                "name": str(course.get("name") or ""),
                "section_ids": [],
            }
            for course in self.hook.iter_account_courses(self.account_id, **self.course_filters())
        ]
        if self.with_sections:
            courses = self._with_sections(courses)
        self._log_size(courses)
        return courses

    def _with_sections(self, courses: list[dict[str, Any]]) -> list[dict[str, Any]]:
        by_id = {course["course_id"]: course for course in courses}
        for course_id, sections in self.hook.iter_sections_of_courses(list(by_id)):
            by_id[int(course_id)]["section_ids"] = [int(section["id"]) for section in sections]
        kept = [course for course in courses if course["section_ids"]]
        left_out = [course["course_id"] for course in courses if not course["section_ids"]]
        if left_out:
            named = ", ".join(str(c) for c in left_out[:_NAMED_IN_LOG])
            more = f" and {len(left_out) - _NAMED_IN_LOG} more" if len(left_out) > _NAMED_IN_LOG else ""
            self.log.warning(
                "Left out %d course(s) without any section (a course pace report needs one): %s%s",
                len(left_out),
                named,
                more,
            )
        return kept

    def _log_size(self, courses: list[dict[str, Any]]) -> None:
        size = len(json.dumps(courses, separators=(",", ":")))
        self.log.info(
            "Listed %d course(s) of Canvas account %s (%d bytes of XCom)", len(courses), self.account_id, size
        )
        limit = conf.getint("core", "max_map_length", fallback=1024)
        if len(courses) > limit:
            self.log.warning(
                "%d courses is more than [core] max_map_length (%d): Airflow fails a task mapped over "
                "this list. Raise max_map_length, or narrow the list (a term, a sub-account)",
                len(courses),
                limit,
            )
