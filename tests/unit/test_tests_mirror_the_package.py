"""
The test tree mirrors the package, read from the file system (no test module is imported):
``tests/unit/<path>`` and ``tests/integration/<path>`` stand for the subpackage
``airflow_provider_canvas_reports/<path>``, except ``docs`` (in either), which stands for the
``docs/`` directory of the repository. Test modules live only under tests/unit, tests/integration
and tests/system, and their basenames are unique (there is no ``__init__.py`` in tests/, so pytest
imports a test module by its basename).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import airflow_provider_canvas_reports as package

PACKAGE = Path(package.__file__).resolve().parent
REPO = PACKAGE.parent
TESTS = Path(__file__).resolve().parents[1]
AREAS = ("unit", "integration", "system")


def _test_modules() -> list[Path]:
    return sorted(path for path in TESTS.rglob("test_*.py") if "node_modules" not in path.parts)


def _mirrored(relative: Path) -> Path:
    if relative.parts[0] == "docs":
        return REPO.joinpath(*relative.parts)
    return PACKAGE.joinpath(*relative.parts) / "__init__.py"


def test_every_unit_and_integration_folder_mirrors_a_subpackage_or_the_docs() -> None:
    strays = [
        str(folder.relative_to(REPO))
        for area in ("unit", "integration")
        for folder in sorted((TESTS / area).rglob("*"))
        if folder.is_dir()
        and "__pycache__" not in folder.parts
        and not _mirrored(folder.relative_to(TESTS / area)).exists()
    ]
    assert strays == [], f"folders that mirror no subpackage of {PACKAGE.name} (nor docs/): {strays}"


def test_test_modules_live_under_unit_integration_or_system() -> None:
    strays = [
        str(path.relative_to(REPO))
        for path in _test_modules()
        if path.relative_to(TESTS).parts[0] not in AREAS
    ]
    assert strays == [], f"test modules outside tests/unit, tests/integration, tests/system: {strays}"


def test_test_module_basenames_are_unique() -> None:
    modules = _test_modules()
    repeated = Counter(path.name for path in modules)
    clashes = [str(path.relative_to(REPO)) for path in modules if repeated[path.name] > 1]
    assert clashes == [], f"test modules sharing a basename: {clashes}"
