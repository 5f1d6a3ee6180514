"""The package as Airflow sees it: provider metadata, the CLI, the connection form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import airflow
import jsonschema
import tomllib

from airflow_provider_canvas_reports.get_provider_info import get_provider_info
from airflow_provider_canvas_reports.hooks.canvas import CanvasHook
from tests.helpers import TOKEN

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "airflow_provider_canvas_reports"


def airflow_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        capture_output=True,
        text=True,
        env=env or os.environ,
        timeout=180,
    )


def test_provider_info_validates_against_airflows_schema():
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    info = get_provider_info()
    jsonschema.validate(info, schema)
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == "canvas"
    assert conn_type["hook-name"] == "Canvas LMS"
    assert conn_type["ui-field-behaviour"]["relabeling"] == {"host": "Canvas URL", "password": "Access token"}
    assert set(conn_type["ui-field-behaviour"]["hidden-fields"]) == {"schema", "port", "login"}


def test_provider_info_names_the_documentation_the_package_metadata_names():
    """Airflow 3.3 reads ``project.urls.Documentation``; older Airflow lines read the provider info."""
    project = tomllib.loads((PACKAGE_DIR.parent / "pyproject.toml").read_text())["project"]
    info = get_provider_info()
    assert info["documentation-url"] == project["urls"]["Documentation"]
    assert set(project["urls"]) == {"Documentation", "Source", "Changelog", "Issues"}
    assert info["versions"] == [project["version"]]


def test_provider_info_lists_every_module_that_exists():
    info = get_provider_info()
    modules = [
        m
        for kind in ("hooks", "operators", "sensors", "triggers")
        for e in info[kind]
        for m in e["python-modules"]
    ]
    classes = [info["connection-types"][0]["hook-class-name"], *info["extra-links"]]
    for dotted in modules + [c.rpartition(".")[0] for c in classes]:
        assert (PACKAGE_DIR.parent / (dotted.replace(".", "/") + ".py")).is_file(), dotted


def test_package_ships_py_typed():
    assert (PACKAGE_DIR / "py.typed").is_file()


def test_ui_field_behaviour_for_airflow_2_matches_the_declarative_form():
    behaviour = CanvasHook.get_ui_field_behaviour()
    declared = get_provider_info()["connection-types"][0]["ui-field-behaviour"]
    assert behaviour["hidden_fields"] == declared["hidden-fields"]
    assert behaviour["relabeling"] == declared["relabeling"]


def test_airflow_lists_the_provider_and_its_connection_type():
    providers = airflow_cli("providers", "list", "--output", "json")
    assert providers.returncode == 0, providers.stderr
    assert "airflow-provider-canvas-reports" in providers.stdout
    hooks = airflow_cli("providers", "hooks", "--output", "json")
    assert hooks.returncode == 0, hooks.stderr
    assert any(
        h.get("connection_type") == "canvas" for h in json.loads(hooks.stdout[hooks.stdout.index("[") :])
    )


def test_connection_added_with_the_cli_drives_a_hook_round_trip(emulator):
    env = {k: v for k, v in os.environ.items() if k != "AIRFLOW_CONN_CANVAS_DEFAULT"}
    env["AIRFLOW__CORE__TEST_CONNECTION"] = "Enabled"
    # fmt: off
    added = airflow_cli(
        "connections", "add", "canvas_cli", "--conn-type", "canvas",
        "--conn-host", emulator.base_url, "--conn-password", TOKEN, env=env,
    )
    # fmt: on
    assert added.returncode == 0, added.stdout[-3000:] + added.stderr[-3000:]
    try:
        tested = airflow_cli("connections", "test", "canvas_cli", env=env)
        assert "Connection success!" in tested.stdout, tested.stdout + tested.stderr
        round_trip = airflow_cli("dags", "test", "scenario_cli_connection", env=env)
        assert round_trip.returncode == 0, round_trip.stdout[-3000:]
        assert "state=success" in round_trip.stdout + round_trip.stderr
    finally:  # in this process: a fourth CLI start costs 10 to 20 s
        from airflow.models import Connection
        from airflow.utils.session import create_session

        with create_session() as session:
            session.query(Connection).filter(Connection.conn_id == "canvas_cli").delete()
    assert emulator.post_count(601) == 1
    assert any(r.path == "/api/v1/users/self" for r in emulator.requests)
