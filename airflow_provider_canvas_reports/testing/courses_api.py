"""Listing what a DAG fans out over: ``GET /api/v1/accounts/:account_id/courses`` (bookmark pages,
never a ``last`` link) and ``GET /api/v1/courses/:course_id/sections`` (numbered pages)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from airflow_provider_canvas_reports.testing import paging, responses
from airflow_provider_canvas_reports.testing.catalog import FilterError

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.http import Request, Response
    from airflow_provider_canvas_reports.testing.interface import ServerState
    from airflow_provider_canvas_reports.testing.models import User


def account_courses(state: ServerState, request: Request, user: User, raw_account: str) -> Response:
    """The courses of an account and its sub-accounts that the filters keep, by id, a page at a time."""
    account_id = state.resolve_account(raw_account)
    if account_id is None:
        return responses.not_found()
    if not user.can_list_courses:
        return responses.unauthorized()
    try:
        courses = state.list_courses(account_id, parse_qs(request.query, keep_blank_values=True))
    except FilterError as exc:
        error = {"field": exc.field, "message": str(exc), "error_code": "invalid"}
        return responses.json_response(400, {"errors": [error]})
    root = state.root_account_of(account_id)
    chosen, link = paging.bookmarked(courses, request, state.base_url, key=lambda course: course.id)
    return responses.json_response(200, [course.to_json(root) for course in chosen], [link])


def course_sections(state: ServerState, request: Request, raw_course: str) -> Response:
    """The sections of a course, a numbered page at a time (with a ``last`` link, as Canvas sends)."""
    course_id = state.resolve_course(raw_course)
    if course_id is None:
        return responses.not_found()
    course = state.catalog_course(course_id)
    chosen, link = paging.numbered(course.sections, request, state.base_url, with_last=True)
    return responses.json_response(200, [course.section_json(section) for section in chosen], [link])
