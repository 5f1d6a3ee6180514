"""
What the documentation generates from the code instead of copying it.

- ``canvas-connection-extras``: the connection extras table, from ``client.settings.DEFAULTS`` (the
  defaults the hook uses) and the connection form's fields (``get_provider_info.CONN_FIELDS``).
- The API reference: one page per public module, written under ``api/generated/`` when the build
  starts, so a new module lands in the reference without editing any page.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

PACKAGE = "airflow_provider_canvas_reports"

#: Modules the API reference leaves out: behind the hook (``client``), the operators' and the
#: trigger's shared internals, DAG files, command lines. Every other module gets a page.
INTERNAL = (
    f"{PACKAGE}.client",
    f"{PACKAGE}.example_dags",
    f"{PACKAGE}.reports",
    f"{PACKAGE}.tasks",
    f"{PACKAGE}.redact",
    f"{PACKAGE}.triggers.wake_grid",
)
#: Of the emulator, what a user's tests use; the rest is its inside.
TESTING_PUBLIC = {f"{PACKAGE}.testing", f"{PACKAGE}.testing.pace_plans", f"{PACKAGE}.testing.pytest_plugin"}

#: The API reference's sections: a title and the module name prefixes they hold, in order.
API_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Hook", (f"{PACKAGE}.hooks",)),
    ("Operators", (f"{PACKAGE}.operators",)),
    ("Sensors", (f"{PACKAGE}.sensors",)),
    ("Triggers", (f"{PACKAGE}.triggers",)),
    ("Testing: the Canvas emulator", (f"{PACKAGE}.testing",)),
    ("Other modules", (PACKAGE,)),
)


def connection_extras() -> list[dict[str, str]]:
    """
    One row per connection extra: its name, the default the hook uses and what it means (the form
    field's description, without the ``Default: ...`` the form adds).
    """
    from airflow_provider_canvas_reports.client.settings import DEFAULTS, default_text
    from airflow_provider_canvas_reports.get_provider_info import CONN_FIELDS

    rows = []
    for name in [*DEFAULTS, *(field for field in CONN_FIELDS if field not in DEFAULTS)]:
        field = CONN_FIELDS.get(name, {})
        meaning = str(field.get("description", "")).split(" Default: ", 1)[0].strip()
        rows.append(
            {
                "name": name,
                "default": default_text(name) if name in DEFAULTS else "(none)",
                "label": str(field.get("label", "")),
                "meaning": meaning,
            }
        )
    return rows


class ConnectionExtrasDirective(SphinxDirective):
    """``canvas-connection-extras``: the extras table, generated."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 22 10 20 48",
            "",
            "   * - extra",
            "     - default",
            "     - form field",
            "     - meaning",
        ]
        for row in connection_extras():
            lines += [
                f"   * - ``{row['name']}``",
                f"     - ``{row['default']}``",
                f"     - {row['label'] or ' '}",
                f"     - {row['meaning'] or ' '}",
            ]
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source="canvas-connection-extras"), 0, container)
        return container.children


def public_modules() -> list[str]:
    """Every module the API reference documents, by the rule in :data:`INTERNAL`."""
    package = importlib.import_module(PACKAGE)
    names = []
    for module in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        name = module.name
        if module.ispkg and name not in TESTING_PUBLIC:
            continue  # a folder (hooks/, operators/...): its modules have the pages
        if any(name == skip or name.startswith(f"{skip}.") for skip in INTERNAL):
            continue
        if any(part.startswith("_") for part in name.split(".")):
            continue
        if name.startswith(f"{PACKAGE}.testing") and name not in TESTING_PUBLIC:
            continue
        names.append(name)
    return sorted(names)


def group_of(module: str) -> str:
    for title, prefixes in API_GROUPS:
        if any(module == p or module.startswith(f"{p}.") for p in prefixes):
            return title
    raise AssertionError(module)


def write_api_pages(app: Any) -> None:
    """Write ``api/generated/<module>.rst`` for every public module, and the section lists."""
    out = Path(app.srcdir) / "api" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, str] = {}
    groups: dict[str, list[str]] = {title: [] for title, _ in API_GROUPS}
    for module in public_modules():
        groups[group_of(module)].append(module)
        title = f"``{module.removeprefix(f'{PACKAGE}.')}``"
        wanted[f"{module}.rst"] = f"{title}\n{'=' * len(title)}\n\n.. automodule:: {module}\n"
    index = []
    for title, modules in groups.items():
        if not modules:
            continue
        index += [f"{title}\n{'-' * len(title)}\n", ".. toctree::", "   :maxdepth: 1", ""]
        index += [f"   generated/{module}" for module in modules]
        index.append("")
    wanted["sections.rst.inc"] = "\n".join(index)
    for stale in out.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("canvas-connection-extras", ConnectionExtrasDirective)
    app.connect("builder-inited", write_api_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
