"""How Rails reads a request's ``parameters``: a JSON body, or form fields (body and query string)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from airflow_provider_canvas_reports.testing.http import Request


def request_parameters(request: Request) -> Any:
    """The ``parameters`` value of a start request, as Rails parses it; None when there is none.

    A JSON body's ``parameters`` keeps its JSON types. Form fields (the body, and the query string
    as in Rails) ``parameters[key][]=v`` become lists of strings and ``parameters[key]=v`` a string
    (which Canvas's strong parameters then drop); a bare ``parameters=v`` is a string, not a hash.
    """
    content_type = request.headers.get("content-type", "").lower()
    if "json" in content_type and request.body.strip():
        try:
            data = json.loads(request.body)
        except ValueError as exc:
            raise ValueError("invalid JSON") from exc
        if isinstance(data, dict) and "parameters" in data:
            return data["parameters"]
        return _form_parameters(parse_qsl(request.query, keep_blank_values=True))
    fields = parse_qsl(request.query, keep_blank_values=True)
    if request.body:
        fields += parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return _form_parameters(fields)


def _form_parameters(fields: list[tuple[str, str]]) -> Any:
    found: dict[str, Any] | None = None
    for name, value in fields:
        if name == "parameters":
            return value
        if not name.startswith("parameters["):
            continue
        found = {} if found is None else found
        key, _, suffix = name[len("parameters[") :].partition("]")
        if suffix == "[]":
            existing = found.get(key)
            found[key] = [*existing, value] if isinstance(existing, list) else [value]
        elif suffix == "":
            found[key] = value
    return found
