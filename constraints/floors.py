"""
The declared floors, read from pyproject.toml: ``name==floor`` for every requirement of the
package and of the extras the floors line installs, so that the floors lock (``make locks``) pins
each at the lowest version pyproject.toml admits. uv's lowest-direct resolution alone does not:
it left requests, python-docx and playwright above their floors.

A few floors cannot be installed beside the test extra, which brings every object store's provider;
they are named in ``RAISED_BY_THE_TEST_EXTRA`` with what raises them, and the lock holds the lowest
version that installs. ``tests/unit/test_locks.py`` checks the lock against both.

Run: ``python constraints/floors.py > pins.txt`` (``make locks`` does).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
#: The extras the floors line installs (the Makefile's floors venv).
FLOORS_EXTRAS = ("test", "examples")
#: Floors the floors lock cannot hold, and why: what the test extra adds needs more.
RAISED_BY_THE_TEST_EXTRA = {
    "aiohttp": "the s3 extra's aiobotocore 3.10 needs aiohttp>=3.14",
    "apache-airflow-providers-common-sql": "the gcs extra's Google provider 22.1 needs common-sql>=1.32",
    "httpx": "the gcs extra's Google provider 22.1 (google-genai) needs httpx>=0.28.1",
}


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def requirements(extras: tuple[str, ...]) -> list[Requirement]:
    """The package's requirements and those of ``extras`` (its own extras named there expanded),
    as they apply on this Python."""
    meta = project()
    name = canonicalize_name(meta["name"])
    todo = [("", text) for text in meta["dependencies"]]
    todo += [(extra, text) for extra in extras for text in meta["optional-dependencies"][extra]]
    wanted, expanded = [], set()
    while todo:
        extra, text = todo.pop(0)
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        if canonicalize_name(req.name) == name:
            for more in sorted(req.extras - expanded):
                todo += [(more, t) for t in meta["optional-dependencies"][more]]
            expanded |= req.extras
            continue
        wanted.append(req)
    return wanted


def floor(req: Requirement) -> Version | None:
    """The lowest version ``req`` admits by its lower bounds (None: it has none)."""
    bounds = [Version(spec.version) for spec in req.specifier if spec.operator in (">=", "==", "~=")]
    return max(bounds) if bounds else None


def floor_pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for req in requirements(FLOORS_EXTRAS):
        low = floor(req)
        key = canonicalize_name(req.name)
        if low is not None and key not in RAISED_BY_THE_TEST_EXTRA:
            pins[key] = max(low, pins.get(key, low))
    return pins


if __name__ == "__main__":
    for key, version in sorted(floor_pins().items()):
        print(f"{key}=={version}")
