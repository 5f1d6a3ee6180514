"""The emulator's modules: no import cycle, and handlers that use the state's public interface only."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

import airflow_provider_canvas_reports.testing as package

PACKAGE = package.__name__
ROOT = Path(package.__file__).parent
MODULES = sorted(path.stem for path in ROOT.glob("*.py"))
#: Modules that answer requests: they see the state only through ``interface.ServerState``.
HANDLERS = ("api", "account_api", "downloads", "faults", "storage")
#: Private attributes read on other objects: a report walks the queue of reports ahead of it.
OWN_CLASS_PRIVATES = {("reports", "_resolved"), ("reports", "_end"), ("reports", "_compute")}


def _type_checking_block(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imported_modules(module: str, *, typing_too: bool) -> set[str]:
    """Sibling modules ``module`` imports (``__init__`` when it imports a name from the package)."""
    tree = ast.parse((ROOT / f"{module}.py").read_text())
    found: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if _type_checking_block(node) and not typing_too:
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                pending.append(child)
        if isinstance(node, ast.ImportFrom) and node.module == PACKAGE:
            found |= {alias.name if alias.name in MODULES else "__init__" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(f"{PACKAGE}."):
            found.add((node.module or "").removeprefix(f"{PACKAGE}.").split(".")[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(f"{PACKAGE}."):
                    found.add(alias.name.removeprefix(f"{PACKAGE}.").split(".")[0])
    found.discard(module)
    return found


@pytest.mark.parametrize("typing_too", [False, True], ids=["runtime", "with type-checking imports"])
def test_module_imports_form_no_cycle(typing_too: bool) -> None:
    graph = {module: _imported_modules(module, typing_too=typing_too) for module in MODULES}
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle
    assert set(order) == set(MODULES)
    assert order.index("interface") < order.index("api") and order.index("state") < order.index("emulator")


def test_handlers_reach_the_state_only_through_its_interface() -> None:
    for module in HANDLERS:
        imported = _imported_modules(module, typing_too=True)
        assert "interface" in imported, module
        assert not imported & {"emulator", "state", "control", "__init__"}, (module, imported)


def test_no_module_touches_another_objects_private_attributes() -> None:
    found = []
    for module in MODULES:
        for node in ast.walk(ast.parse((ROOT / f"{module}.py").read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                and (module, node.attr) not in OWN_CLASS_PRIVATES
            ):
                found.append(f"{module}: {ast.unparse(node)}")
    assert found == []


FRESH_IMPORTS = """
import importlib, importlib.util, sys, types
package, modules = sys.argv[1], sys.argv[2:]
search = importlib.util.find_spec(package).submodule_search_locations
for name in modules:
    for loaded in [key for key in sys.modules if key == package or key.startswith(package + ".")]:
        del sys.modules[loaded]
    if name != "__init__":  # an empty package, so that this module is the first one to load
        shell = types.ModuleType(package)
        shell.__path__ = list(search)
        sys.modules[package] = shell
    importlib.import_module(package if name == "__init__" else f"{package}.{name}")
    print(name, flush=True)
"""


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """Each module loads before any other of the package (a cycle breaks at least one of them)."""
    result = subprocess.run(
        [sys.executable, "-c", FRESH_IMPORTS, PACKAGE, *MODULES],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT.parents[1],
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == MODULES
