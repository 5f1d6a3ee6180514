"""
The Airflow 3 UI with this provider: the connection form's metadata from the api-server, and a
person's path through the UI in headless Chromium (Playwright driving Debian's ``chromium``):
sign in, add a Canvas connection, trigger the on-demand report DAG from its trigger form.

Screenshots of each step land in ``test-artifacts/ui/``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_canvas_reports.get_provider_info import get_provider_info
from tests.system.cluster import ARTIFACTS, UI_TOKEN, report_path, wait_until

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from airflow_provider_canvas_reports.testing.client import EmulatorControl
    from tests.system.cluster import AirflowSystem

pytestmark = pytest.mark.system

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ARTIFACTS / "ui"
ON_DEMAND = "canvas_course_report_on_demand"


def canvas_connection_type() -> dict[str, Any]:
    (conn_type,) = get_provider_info()["connection-types"]
    return dict(conn_type)


def test_connection_form_metadata_relabels_hides_and_adds_canvas_fields(system: AirflowSystem):
    """What the UI's connection form is built from (``/ui/connections/hook_meta``)."""
    hook_meta = system.api.json("GET", "/ui/connections/hook_meta")
    (canvas,) = [meta for meta in hook_meta if meta["connection_type"] == "canvas"]
    expected = canvas_connection_type()

    assert canvas["hook_name"] == "Canvas LMS"
    assert canvas["hook_class_name"] == expected["hook-class-name"]
    fields = canvas["standard_fields"]
    assert (fields["host"]["title"], fields["host"]["hidden"]) == ("Canvas URL", False)
    assert (fields["password"]["title"], fields["password"]["hidden"]) == ("Access token", False)
    assert fields["host"]["placeholder"] == expected["ui-field-behaviour"]["placeholders"]["host"]
    assert {name for name in ("schema", "port", "login") if fields.get(name, {}).get("hidden", True)} == {
        "schema",
        "port",
        "login",
    }
    assert set(canvas["extra_fields"]) == set(expected["conn-fields"])
    for name, field in expected["conn-fields"].items():
        assert canvas["extra_fields"][name]["schema"]["title"] == field["label"]
        assert canvas["extra_fields"][name]["description"], name


def sign_in(page: Any, system: AirflowSystem, shot: Callable[[str], None]) -> None:
    """Sign in as the simple auth manager's admin and wait for the home page."""
    from playwright.sync_api import expect

    page.goto(f"{system.api_url}/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(system.password)
    shot("01-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Welcome")).to_be_visible()


def new_canvas_connection(page: Any) -> Any:
    """Admin → Connections → Add Connection, type Canvas LMS: the form's dialog."""
    page.get_by_role("button", name="Admin").click()
    page.get_by_role("menuitem", name="Connections").click()
    page.get_by_role("button", name="Add Connection").click()
    form = page.get_by_role("dialog")
    form.get_by_role("combobox").fill("Canvas")
    page.get_by_role("option", name="Canvas LMS").click()
    return form


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A Chromium page (1400x900) with no network but loopback in use; closed afterwards."""
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail("the UI test needs the `playwright` Python package: pip install playwright")
    if not CHROMIUM.exists():
        pytest.fail(f"the UI test needs Debian's Chromium at {CHROMIUM}: apt-get install -y chromium")
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            # The UI renders slowly while the scheduler, workers and triggerer share two cores:
            # give every action and expectation 30 s, not Playwright's 5 s for expectations.
            page.set_default_timeout(30_000)
            expect.set_options(timeout=30_000)
            yield page
        finally:
            browser.close()


def test_ui_adds_a_canvas_connection_and_triggers_a_course_report(
    system: AirflowSystem, emulator: EmulatorControl, browser_page: Any
):
    """
    Sign in; Admin → Connections → Add; pick "Canvas LMS": the form asks for a Canvas URL and an
    Access token (no login, port or schema) and offers the extra fields; save ``canvas_ui``. Then
    trigger the on-demand DAG from its form for course 350 and see the run succeed. Finally a run
    on ``canvas_ui`` shows that what the form saved works in a task and in the triggerer (the
    emulator sees that connection's token).
    """
    from playwright.sync_api import expect

    page = browser_page
    base = system.api_url

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    sign_in(page, system, shot)
    expect(page.get_by_text("Triggerer")).to_be_visible()
    shot("02-home")

    form = new_canvas_connection(page)
    expect(form.get_by_text("Canvas URL", exact=True)).to_be_visible()
    expect(form.get_by_text("Access token", exact=True)).to_be_visible()
    labels = [text.strip(" *\n") for text in form.locator("label").all_inner_texts()]
    assert not {"Login", "Port", "Schema", "Host", "Password"} & set(labels), labels
    form.get_by_label("Connection ID").fill("canvas_ui")
    form.get_by_label("Canvas URL").fill(system.emulator_url)
    form.get_by_label("Access token").fill(UI_TOKEN)
    shot("03-canvas-connection-form")
    form.get_by_text("Extra Fields", exact=True).click()
    expect(form.get_by_text("Attempts per call", exact=True)).to_be_visible()
    form.get_by_label("Attempts per call").fill("4")
    shot("04-canvas-extra-fields")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_text("canvas_ui", exact=True)).to_be_visible()
    shot("05-connection-saved")

    saved = system.api.json("GET", "/api/v2/connections/canvas_ui")
    assert (saved["conn_type"], saved["host"]) == ("canvas", system.emulator_url)
    assert '"retry_limit": 4' in (saved["extra"] or ""), saved

    system.wait_for_dag(ON_DEMAND)
    system.api.unpause(ON_DEMAND)
    page.goto(f"{base}/dags/{ON_DEMAND}")
    page.get_by_role("button", name="Trigger").first.click()
    trigger_form = page.get_by_role("dialog")
    trigger_form.get_by_label("Course id").fill("350")
    shot("06-trigger-form")
    trigger_form.get_by_role("button", name="Trigger").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    (run,) = wait_until(
        lambda: [r for r in system.api.dag_runs(ON_DEMAND) if (r.get("conf") or {}).get("course_id") == 350],
        timeout=30,
        what="the run triggered from the form",
    )
    watch = system.watch(ON_DEMAND, run["dag_run_id"], timeout=120)
    assert watch.state == "success", watch.describe()
    assert emulator.post_count(350) == 1
    page.goto(f"{base}/dags/{ON_DEMAND}/runs/{run['dag_run_id']}")
    # check_landing_root, start, wait, download
    expect(page.get_by_role("row").filter(has_text="Success")).to_have_count(4)
    shot("07-run-succeeded")

    ui_run = system.trigger("canvas_system_round_trip", {"course_id": 351, "canvas_conn_id": "canvas_ui"})
    ui_watch = system.watch("canvas_system_round_trip", ui_run, timeout=120)
    assert ui_watch.state == "success", ui_watch.describe()
    used = {
        r.headers.get("authorization") for r in emulator.requests() if r.path.startswith(report_path(351))
    }
    assert used == {f"Bearer {UI_TOKEN}"}


def test_ui_saves_a_developer_key_connection_and_tests_both_kinds_of_canvas_connection(
    system: AirflowSystem, emulator: EmulatorControl, browser_page: Any
):
    """
    The form's Developer key fields: leave the Access token empty, fill the key's client ID, secret
    (a password input) and refresh token (another) under Extra Fields, save ``canvas_ui_key``. The
    REST API shows the secrets masked; testing the connection succeeds for it and for a token
    connection; and a run on ``canvas_ui_key`` gets access tokens from the key and lands its report.
    """
    from playwright.sync_api import expect

    page = browser_page
    key = {
        "client_id": "170000000000777",
        "client_secret": "ui-client-secret-5be1",
        "refresh_token": "1~ui-refresh-9f3a",
    }
    emulator.add_developer_key(**key)
    token_connection = {
        "connection_id": "canvas_ui_token",
        "conn_type": "canvas",
        "host": system.emulator_url,
        "password": UI_TOKEN,
    }
    system.api.request("DELETE", "/api/v2/connections/canvas_ui_token")
    system.api.json("POST", "/api/v2/connections", json=token_connection)

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"key-{name}.png"), full_page=True)

    sign_in(page, system, shot)
    form = new_canvas_connection(page)
    form.get_by_label("Connection ID").fill("canvas_ui_key")
    form.get_by_label("Canvas URL").fill(system.emulator_url)
    form.get_by_text("Extra Fields", exact=True).click()
    for name, label in (
        ("client_id", "Developer key: client ID"),
        ("client_secret", "Developer key: client secret"),
        ("refresh_token", "Developer key: refresh token"),
    ):
        expect(form.get_by_text(label, exact=True)).to_be_visible()
        # Airflow's text fields are not tied to their label (its ``for`` names another id): by name.
        field = form.locator(f"input[name='element_{name}']")
        if name != "client_id":
            expect(field).to_have_attribute("type", "password")  # typed unseen, as the password is
        field.fill(key[name])
    shot("01-developer-key-fields")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_role("dialog")).to_have_count(0)

    saved = system.api.request("GET", "/api/v2/connections/canvas_ui_key")
    assert saved.status_code == 200 and key["client_id"] in saved.text
    assert key["client_secret"] not in saved.text and key["refresh_token"] not in saved.text  # masked
    assert not json.loads(saved.text).get("password")

    # Test both kinds through the API server, as the CLI's `airflow connections test` does. (The
    # list's Test Connection button of Airflow 3.3 sends port 0 for a connection without a port,
    # which the API server refuses with 400 as "another host or port": no Canvas connection has one.)
    for connection_id, how in (
        ("canvas_ui_token", "(access token)"),
        ("canvas_ui_key", f"(developer key {key['client_id']})"),
    ):
        body = {"connection_id": connection_id, "conn_type": "canvas"}
        tested = system.api.json("POST", "/api/v2/connections/test", json=body)
        assert tested["status"] is True and tested["message"].endswith(how), tested
        assert key["client_secret"] not in tested["message"]

    run = system.trigger("canvas_system_round_trip", {"course_id": 352, "canvas_conn_id": "canvas_ui_key"})
    watch = system.watch("canvas_system_round_trip", run, timeout=120)
    assert watch.state == "success", watch.describe()
    assert emulator.post_count(352) == 1
    assert emulator.tokens_issued(key["client_id"]) >= 2  # the Test button's, then the run's processes
    used = {
        r.headers.get("authorization") for r in emulator.requests() if r.path.startswith(report_path(352))
    }
    assert used and all(value.startswith("Bearer ") and value != f"Bearer {UI_TOKEN}" for value in used)
