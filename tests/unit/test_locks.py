"""
The locks in ``constraints/`` hold what ``pyproject.toml`` asks for: every requirement of the
package and of the extras a lock covers is pinned at a version its specifier admits, and the
floors lock pins each at its declared floor (``constraints/floors.py`` names the few the test extra
raises, and why). A requirement changed without ``make locks`` fails here, in a second, instead of
in a line's install, or not at all.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints"
_spec = importlib.util.spec_from_file_location("floors", CONSTRAINTS / "floors.py")
assert _spec is not None and _spec.loader is not None
floors = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(floors)

#: The extras every Airflow line's lock covers (the Makefile's EXTRAS).
LINE_EXTRAS = ("test", "examples", "bench", "docs")
LINE_LOCKS = sorted(CONSTRAINTS.glob("airflow-*-py*.txt"))
FLOORS_LOCKS = sorted(CONSTRAINTS.glob("floors-py*.txt"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def pins(lock: Path) -> dict[str, Version]:
    found = {}
    for line in lock.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[canonicalize_name(match.group(1))] = Version(match.group(2))
    return found


def test_there_is_a_lock_for_each_line_ci_tests_and_one_for_the_floors():
    assert [lock.name.split("-py")[0] for lock in LINE_LOCKS] == [
        "airflow-2.11.2",
        "airflow-3.1.8",
        "airflow-3.3.2",
    ]
    assert len(FLOORS_LOCKS) == 1


@pytest.mark.parametrize(
    ("lock", "extras"),
    [(lock, LINE_EXTRAS) for lock in LINE_LOCKS] + [(lock, floors.FLOORS_EXTRAS) for lock in FLOORS_LOCKS],
    ids=lambda value: value.name if isinstance(value, Path) else "",
)
def test_every_requirement_is_pinned_at_a_version_its_specifier_admits(lock, extras):
    pinned = pins(lock)
    wrong = [
        f"{req} (locked: {pinned.get(canonicalize_name(req.name), 'nothing')})"
        for req in floors.requirements(extras)
        if canonicalize_name(req.name) not in pinned
        or not req.specifier.contains(pinned[canonicalize_name(req.name)], prereleases=True)
    ]
    assert wrong == [], f"{lock.name} does not match pyproject.toml: run make locks"


@pytest.mark.parametrize("lock", FLOORS_LOCKS, ids=lambda lock: lock.name)
def test_the_floors_lock_pins_each_requirement_at_its_declared_floor(lock):
    pinned = pins(lock)
    above = {
        name: str(pinned.get(name)) for name, low in floors.floor_pins().items() if pinned.get(name) != low
    }
    assert above == {}, f"{lock.name} is not at the floors pyproject.toml declares: run make locks"
    # The floors the test extra raises are still lower bounds pyproject.toml declares.
    raised = {canonicalize_name(req.name) for req in floors.requirements(floors.FLOORS_EXTRAS)}
    assert set(floors.RAISED_BY_THE_TEST_EXTRA) <= raised


def test_a_floor_pin_reads_the_lower_bound():
    from packaging.requirements import Requirement

    assert floors.floor(Requirement("celery[redis]>=5.5,<5.7")) == Version("5.5")
    assert floors.floor(Requirement("types-requests")) is None
    assert floors.floor(Requirement("apache-airflow>=2.11.1,!=3.0.*")) == Version("2.11.1")
