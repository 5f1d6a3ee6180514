"""
What the documentation generates from the code, as plain data (no Sphinx needed, so the tests
read it too): the connection extras table's rows and the modules the API reference documents.
"""

from __future__ import annotations

import importlib
import pkgutil

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
