"""Canvas's ``Link`` pagination as the client reads it: ``rel="next"`` followed as given, only on
the connection's Canvas host, the header's name in any case, several ``Link`` lines, no ``last``."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from airflow_provider_canvas_reports.client.calls import CanvasRequest
from airflow_provider_canvas_reports.client.paging import next_request, next_url
from airflow_provider_canvas_reports.exceptions import CanvasUnexpectedResponseError

BASE = "https://school.instructure.com"
NEXT = f"{BASE}/api/v1/accounts/1/courses?enrollment_term_id=5&page=bookmark:WzEwMV0&per_page=100"


@pytest.mark.parametrize("name", ["Link", "link", "LINK", "lInK"])
def test_the_link_header_is_found_whatever_the_case_of_its_name(name):
    headers = {name: f'<{BASE}/x?page=first>; rel="current",<{NEXT}>; rel="next",<{BASE}/x>; rel="first"'}
    assert next_url(headers) == NEXT


def test_no_next_relation_is_the_last_page_even_without_a_last_link():
    assert next_url({"link": f'<{BASE}/x?page=3>; rel="current",<{BASE}/x?page=1>; rel="first"'}) is None
    assert next_url({}) is None


def test_next_is_found_among_several_link_lines_of_one_answer():
    headers = CIMultiDictProxy(
        CIMultiDict([("Link", f'<{BASE}/x?page=1>; rel="first"'), ("Link", f"<{NEXT}>; rel=next")])
    )
    assert next_url(headers) == NEXT


def test_a_relation_list_naming_next_counts():
    assert next_url({"link": f'<{NEXT}>; rel="next last"'}) == NEXT


def test_the_next_url_is_followed_as_given_with_its_opaque_page():
    request = CanvasRequest("GET", "/api/v1/accounts/1/courses?per_page=100", paged=True, scope="url:GET|x")
    followed = next_request(request, NEXT, BASE)
    assert (
        followed.path == "/api/v1/accounts/1/courses?enrollment_term_id=5&page=bookmark:WzEwMV0&per_page=100"
    )
    assert (followed.scope, followed.paged) == ("url:GET|x", True)


def test_a_canvas_under_a_path_prefix_keeps_the_prefix_once():
    request = CanvasRequest("GET", "/api/v1/courses/1/sections?per_page=100")
    followed = next_request(
        request, "https://host.edu/canvas/api/v1/courses/1/sections?page=2", "https://host.edu/canvas"
    )
    assert followed.path == "/api/v1/courses/1/sections?page=2"


def test_a_next_page_on_another_host_is_refused_so_the_token_stays_home():
    request = CanvasRequest("GET", "/api/v1/courses/1/sections")
    with pytest.raises(CanvasUnexpectedResponseError, match="another host"):
        next_request(request, "https://evil.example/api/v1/courses/1/sections?page=2", BASE)
