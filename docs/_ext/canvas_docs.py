"""
What the documentation generates from the code instead of copying it.

- ``canvas-connection-extras``: the connection extras table, from ``client.settings.DEFAULTS`` (the
  defaults the hook uses) and the connection form's fields (``get_provider_info.CONN_FIELDS``).
- The API reference: one page per public module, written under ``api/generated/`` when the build
  starts, so a new module lands in the reference without editing any page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from canvas_docs_data import API_GROUPS, PACKAGE, connection_extras, group_of, public_modules
from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class ConnectionExtrasDirective(SphinxDirective):
    """``canvas-connection-extras``: the extras table, generated."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        # Built as nodes, not as markup: the page may be Markdown or reST.
        widths = (22, 10, 20, 48)
        group = nodes.tgroup(cols=len(widths))
        group += [nodes.colspec(colwidth=width) for width in widths]
        titles = ("extra", "default", "form field", "meaning")
        group += nodes.thead("", self._row([nodes.Text(title) for title in titles]))
        body = nodes.tbody()
        for extra in connection_extras():
            body += self._row(
                [
                    nodes.literal(text=extra["name"]),
                    nodes.literal(text=extra["default"]),
                    nodes.Text(extra["label"]),
                    nodes.Text(extra["meaning"]),
                ]
            )
        group += body
        table = nodes.table(classes=["canvas-connection-extras"])
        table += group
        return [table]

    @staticmethod
    def _row(cells: list[nodes.Node]) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", nodes.paragraph("", "", cell))
        return row


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


def drop_class_return_type(app: Any, what: str, name: str, *args: Any) -> None:
    """
    A class's ``:return:`` is what the task returns (its XCom); the ``-> None`` of ``__init__`` is
    not its return type. Runs after autodoc recorded the annotations (priority 600 > 500).
    """
    if what != "class":
        return
    document = getattr(app.env, "current_document", None)  # Sphinx 9; before it, temp_data
    recorded = document.autodoc_annotations if document is not None else app.env.temp_data.get("annotations")
    if recorded and name in recorded:
        recorded[name].pop("return", None)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("canvas-connection-extras", ConnectionExtrasDirective)
    app.connect("autodoc-process-signature", drop_class_return_type, priority=600)
    app.connect("builder-inited", write_api_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
