"""
The package's shape, checked from the source: the hook is the one door to Canvas.

Operators, sensors and triggers import nothing from the Canvas client (``client/``) but its id
checks; the client imports nothing of the layers above it (hooks, operators, sensors, triggers,
tasks); the package's imports form no cycle, and every module loads first in a fresh interpreter.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import airflow_provider_canvas_reports as package

PACKAGE = package.__name__
ROOT = Path(package.__file__).parent
#: Modules that are code for users' tests, or DAG files: not layers of the provider.
OUTSIDE = ("testing", "example_dags")
MODULES = sorted(
    ".".join(path.relative_to(ROOT).with_suffix("").parts)
    for path in ROOT.rglob("*.py")
    if path.relative_to(ROOT).parts[0] not in OUTSIDE
)
#: What operators, sensors and triggers may take from the client: checking ids before any request.
CLIENT_PUBLIC = {"client.ids"}
ABOVE_THE_CLIENT = ("hooks", "operators", "sensors", "triggers", "tasks", "demo")


def _module_name(name: str) -> str:
    return name.removesuffix(".__init__")


def _imports(module: str) -> set[str]:
    """Package modules ``module`` imports anywhere (type-checking imports included)."""
    path = ROOT / (module.replace(".", "/") + ".py")
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            base = (node.module or "").removeprefix(PACKAGE).lstrip(".")
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                found.add(candidate if candidate in MODULES or f"{candidate}.__init__" in MODULES else base)
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix(PACKAGE + ".") for a in node.names if a.name.startswith(PACKAGE + ".")
            }
    return {_module_name(m) for m in found if m and m.split(".")[0] not in OUTSIDE} - {_module_name(module)}


def test_operators_sensors_and_triggers_ask_the_hook_not_the_client() -> None:
    reaching = {
        module: sorted(i for i in _imports(module) if i.startswith("client") and i not in CLIENT_PUBLIC)
        for module in MODULES
        if module.split(".")[0] in ("operators", "sensors", "triggers")
    }
    assert reaching and {m: found for m, found in reaching.items() if found} == {}


def test_the_client_imports_nothing_above_it() -> None:
    upward = {
        module: sorted(i for i in _imports(module) if i.split(".")[0] in ABOVE_THE_CLIENT)
        for module in MODULES
        if module.startswith("client")
    }
    assert upward and {m: found for m, found in upward.items() if found} == {}


def test_the_package_imports_form_no_cycle() -> None:
    graph = {
        _module_name(m): {i for i in _imports(m) if i in {_module_name(x) for x in MODULES}} for m in MODULES
    }
    runtime_cycle_free = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError
    assert set(runtime_cycle_free) == set(graph)


def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """Each module loads before any other of the package: an import cycle breaks at least one."""
    script = (
        "import importlib, sys\n"
        "for name in sys.argv[1:]:\n"
        "    for loaded in [k for k in sys.modules if k.startswith('airflow_provider_canvas_reports')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    names = [PACKAGE + ("." + _module_name(m) if _module_name(m) != "__init__" else "") for m in MODULES]
    result = subprocess.run(
        [sys.executable, "-c", script, *names], capture_output=True, text=True, timeout=300, cwd=ROOT.parent
    )
    assert result.returncode == 0, result.stderr[-3000:]
