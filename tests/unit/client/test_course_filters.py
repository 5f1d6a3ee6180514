"""The account course list's filters are checked before any request and written as Canvas reads them."""

from __future__ import annotations

from datetime import date

import pytest

from airflow_provider_canvas_reports.client.filters import course_filters
from airflow_provider_canvas_reports.exceptions import CanvasInvalidInputError


def test_flags_lists_ids_and_text_are_written_as_canvas_reads_them():
    pairs = course_filters(
        {
            "enrollment_term_id": "12",
            "published": "True",
            "with_enrollments": False,
            "state": ["available", "completed"],
            "by_subaccounts[]": [7, "8"],
            "search_term": " bio ",
            "starts_before": date(2026, 9, 1),
        }
    )
    assert pairs == [
        ("by_subaccounts[]", "7"),
        ("by_subaccounts[]", "8"),
        ("enrollment_term_id", "12"),
        ("published", "true"),
        ("search_term", "bio"),
        ("starts_before", "2026-09-01"),
        ("state[]", "available"),
        ("state[]", "completed"),
        ("with_enrollments", "false"),
    ]


def test_a_template_s_json_list_and_a_single_value_are_lists_too():
    assert course_filters({"state": '["available"]'}) == [("state[]", "available")]
    assert course_filters({"state": "completed"}) == [("state[]", "completed")]


def test_none_means_not_filtered_and_a_sis_term_id_passes():
    assert course_filters({"published": None, "enrollment_term_id": "sis_term_id:2026SP"}) == [
        ("enrollment_term_id", "sis_term_id:2026SP")
    ]
    assert course_filters(None) == []


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"enrolment_term_id": 5}, "Unknown course list filter 'enrolment_term_id'"),
        ({"published": "maybe"}, "expected true or false"),
        ({"state": ["open"]}, "expected one of created, claimed"),
        ({"state": []}, "at least one value"),
        ({"by_subaccounts": ["../1"]}, "by_subaccounts"),
        ({"enrollment_term_id": "12/../3"}, "a term id"),
        ({"search_term": "x"}, "2 or more characters"),
        ({"starts_before": "next tuesday"}, "ISO 8601"),
        ({"sort": "random"}, "one of course_status"),
        ({"state": ["available"], "state[]": ["completed"]}, "given twice"),
    ],
)
def test_a_filter_canvas_cannot_take_is_refused_naming_it(given, said):
    with pytest.raises(CanvasInvalidInputError, match=said.replace("(", r"\(")):
        course_filters(given)
