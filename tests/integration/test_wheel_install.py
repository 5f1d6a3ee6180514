"""
What we ship, installed as a user installs it: the sdist and wheel build and pass ``twine check``,
and the wheel (not an editable install) goes into a clean virtualenv with its dependencies, where
every public module imports, Airflow lists the provider, and the demo runs from the package.

The slow part is the install itself. To keep it lean the new venv gets no pip of its own (this
interpreter's pip installs into it), and the dependency versions are pinned to the ones this venv
already has, so pip resolves nothing new and takes every file from its cache or index mirror.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "airflow_provider_canvas_reports"
# Modules a plain import cannot stand for: DAG files, a command line, the pytest plugin (needs pytest).
NOT_IMPORTED = ("example_dags", "__main__", "pytest_plugin")
# What a checkout holds besides its sources: venvs, caches, build output, Node modules.
NOT_SHIPPED = (
    ".git",
    ".venv*",
    "*.egg-info",
    "__pycache__",
    "*_cache",
    "node_modules",
    "_build",
    "build",
    "dist",
    "test-artifacts",
    ".demo",
    ".work",
)

IMPORT_EVERY_MODULE = f"""
import importlib, json, pkgutil
import {PACKAGE} as package
names = []
for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    if not any(part in {NOT_IMPORTED!r} for part in module.name.split(".")):
        importlib.import_module(module.name)
        names.append(module.name)
print(json.dumps({{"file": package.__file__, "modules": names}}))
"""


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def source_modules() -> set[str]:
    """Every module in the source tree, by the same rule as the import script."""
    names = set()
    for path in (ROOT / PACKAGE).rglob("*.py"):
        parts = (PACKAGE, *path.relative_to(ROOT / PACKAGE).with_suffix("").parts)
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if len(parts) > 1 and not any(part in NOT_IMPORTED for part in parts):
            names.add(".".join(parts))
    return names


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """``make dist``'s steps: an sdist, a wheel built from it, both checked by twine."""
    out = tmp_path_factory.mktemp("dist")
    # Built from a copy of the tree: setuptools writes the egg-info beside the sources, and other
    # CI lines build from the same checkout at the same time.
    source = tmp_path_factory.mktemp("source") / "tree"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    run(sys.executable, "-m", "build", "--outdir", out, source, cwd=source)
    (wheel,), (sdist,) = list(out.glob("*.whl")), list(out.glob("*.tar.gz"))
    run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, cwd=out)
    return {"wheel": wheel, "sdist": sdist}


#: The extras a user installs to land reports in object storage. Their providers bring from dozens
#: (amazon) to hundreds (google: ray; azure: the Azure SDKs) of packages: the dev venvs install them
#: from the locks and the landing tests use them there; here the wheel's metadata carries their pins.
STORE_EXTRAS = ("s3", "gcs", "azure")


@pytest.fixture(scope="module")
def user(tmp_path_factory, dist) -> dict[str, object]:
    """A clean venv with the wheel and its ``examples`` extra installed, and a user's environment."""
    home = tmp_path_factory.mktemp("user")
    venv = home / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=home)
    pins = home / "pins.txt"
    pins.write_text(run(sys.executable, "-m", "pip", "freeze", "--exclude-editable", cwd=home).stdout)
    # fmt: off
    run(
        sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet",
        "--no-input", "--constraint", pins, f"{dist['wheel']}[examples]", cwd=home,
    )
    # fmt: on
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "PYTHONPATH"))}
    env.update({"AIRFLOW_HOME": str(home / "airflow"), "PATH": f"{venv / 'bin'}:{env['PATH']}"})
    return {"home": home, "python": venv / "bin" / "python", "env": env}


def test_sdist_and_wheel_ship_the_example_dags_and_license(dist):
    wheel_files = zipfile.ZipFile(dist["wheel"]).namelist()
    assert f"{PACKAGE}/example_dags/canvas_course_report_to_warehouse.py" in wheel_files
    assert f"{PACKAGE}/py.typed" in wheel_files
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel_files)
    with tarfile.open(dist["sdist"]) as sdist:
        top = sdist.getnames()[0].split("/")[0]
        names = set(sdist.getnames())
    assert {f"{top}/LICENSE", f"{top}/README.md", f"{top}/{PACKAGE}/example_dags/__init__.py"} <= names
    for folder in ("tests", "benchmarks", "docs"):
        assert not [n for n in names if n.startswith(f"{top}/{folder}/")], folder


def test_the_wheel_ships_the_package_alone_with_the_metadata_a_registry_reads(dist):
    wheel = zipfile.ZipFile(dist["wheel"])
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert tops == {PACKAGE, "airflow_provider_canvas_reports-0.1.0.dist-info"}  # no docs, tests, benchmarks
    metadata = wheel.read("airflow_provider_canvas_reports-0.1.0.dist-info/METADATA").decode()
    urls = dict(
        line.removeprefix("Project-URL: ").split(", ", 1)
        for line in metadata.splitlines()
        if line.startswith("Project-URL: ")
    )
    assert set(urls) == {"Documentation", "Source", "Changelog", "Issues"}
    assert "Classifier: Framework :: Apache Airflow :: Provider" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert "canvas" in next(line for line in metadata.splitlines() if line.startswith("Keywords: "))


def test_every_public_module_imports_from_the_installed_wheel(user):
    done = run(user["python"], "-c", IMPORT_EVERY_MODULE, cwd=user["home"], env=user["env"])
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(found["file"]).is_relative_to(user["home"] / "venv")  # not the source tree
    assert set(found["modules"]) == source_modules()


def test_airflow_lists_the_installed_provider(user):
    done = run("airflow", "providers", "list", "--output", "json", cwd=user["home"], env=user["env"])
    providers = json.loads(done.stdout[done.stdout.index("[") :])
    (ours,) = [p for p in providers if p["package_name"] == "airflow-provider-canvas-reports"]
    assert ours["version"] == "0.1.0"


def test_the_store_extras_pin_what_resolves_quickly(dist):
    metadata = zipfile.ZipFile(dist["wheel"]).read(
        next(n for n in zipfile.ZipFile(dist["wheel"]).namelist() if n.endswith(".dist-info/METADATA"))
    )
    requires = [line for line in metadata.decode().splitlines() if line.startswith("Requires-Dist:")]
    by_extra = {
        extra: {
            line.split(":", 1)[1].split(";")[0].strip() for line in requires if f'extra == "{extra}"' in line
        }
        for extra in STORE_EXTRAS
    }
    # s3fs's aiobotocore pins botocore: the s3 extra names the matching aiobotocore and boto3, so
    # pip does not walk boto3's daily releases.
    assert {r.split(">")[0].split("<")[0] for r in by_extra["s3"]} == {
        "apache-airflow-providers-amazon[s3fs]",
        "aiobotocore",
        "boto3",
    }
    assert any(r.startswith("boto3") and "<" in r for r in by_extra["s3"])
    assert {r.split(">")[0] for r in by_extra["gcs"]} == {"apache-airflow-providers-google", "gcsfs"}
    assert {r.split(">")[0] for r in by_extra["azure"]} == {
        "apache-airflow-providers-microsoft-azure",
        "adlfs",
    }


def test_demo_runs_from_the_installed_package(user):
    done = run(
        user["python"], "-m", f"{PACKAGE}.demo", "--workdir", "demo", cwd=user["home"], env=user["env"]
    )
    assert "DAG run: success" in done.stdout
    # One section gives a .docx, three a course_pace.zip; the pace rows are read from both. The
    # nightly provisioning export lands one ZIP, loaded into a table per CSV.
    landed = sorted(p.name for p in (user["home"] / "demo" / "landing").rglob("*") if p.is_file())
    assert landed[:2] == ["Section 1_Section_Pace.docx", "course_pace.zip"]
    assert len(landed) == 3 and landed[2].startswith("provisioning_csv_") and landed[2].endswith(".zip")
    assert "(table canvas_course_pace_items):" in done.stdout
    for table in ("users", "courses", "enrollments"):
        assert f"first rows of 500 in canvas_provisioning_{table}:" in done.stdout


def test_demo_reports_the_real_error_first_when_airflow_cannot_read_connections(user):
    """
    A broken Fernet setup (here a key that is not one; a cryptography release Airflow 2.11 cannot
    use breaks the same call) makes Airflow's lookup say only "conn_id isn't defined": the demo
    names the real error first and stops.
    """
    env = {**user["env"], "AIRFLOW__CORE__FERNET_KEY": "not-a-fernet-key"}
    done = subprocess.run(
        [str(user["python"]), "-m", f"{PACKAGE}.demo", "--workdir", "broken-demo"],
        cwd=user["home"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1
    first_error = next(line for line in done.stderr.splitlines() if line.startswith("==> ERROR"))
    assert "Airflow cannot store or read connections here" in first_error
    assert "Fernet" in first_error and "cryptography" in first_error
    assert "isn't defined" not in done.stdout + done.stderr
    assert "DAG run" not in done.stdout
