# One venv per Airflow line, inside the repo. `make test` and `make demo` build what they need.
PYTHON ?= python3
AIRFLOW_VERSION ?= 3.3.2
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(AIRFLOW_VERSION)
# Extra requirements for the install line (e.g. pins one Airflow line needs); none for 3.3.
PINS ?=
PYTEST_ARGS ?=

# The Airflow 2.11 line: the newest 2.11 patch on PyPI, in its own venv, through the same rules.
# Plain resolution gives a working 2.11 set (common-compat 1.23, common-sql 2.4 and sqlite 4.3 all
# declare apache-airflow>=2.11.0), so COMPAT_PINS is empty; put pins there if that ever changes.
COMPAT_AIRFLOW_VERSION ?= 2.11.2
COMPAT_VENV ?= .venv-2.11
COMPAT_PINS ?=
# tests/system starts real Airflow 3 processes; the unit, dag.test() and emulator suites run on 2.11.
COMPAT_PYTEST_ARGS ?= --ignore=tests/system

# A supported Airflow 3 line between 3.0 and the newest, in its own venv: the same suites as 2.11.
MID_AIRFLOW_VERSION ?= 3.1.8
MID_VENV ?= .venv-3.1
# The declared floors: every direct dependency of the package and its test extra at the lowest
# version pyproject.toml admits (uv's lowest-direct resolution), Airflow 2.11.1 included.
FLOORS_VENV ?= .venv-floors
# Those two runs skip what the 3.3 and 2.11 runs already prove of the built wheel.
OTHER_PYTEST_ARGS ?= $(COMPAT_PYTEST_ARGS) --ignore=tests/test_wheel_install.py

.PHONY: install test lint typecheck unit pytest test-compat test-mid test-floors demo clean system-deps dist

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "apache-airflow==$(AIRFLOW_VERSION)" -e ".[test]" $(PINS)
	touch $@

lint: install
	$(VENV)/bin/ruff check airflow_provider_canvas_reports tests
	$(VENV)/bin/ruff format --check airflow_provider_canvas_reports tests

# The package (example DAGs included), and the README's quickstart DAG as a user's mypy sees it.
typecheck: install
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy tests/dags/quickstart.py

# The UI test drives Debian's Chromium with Playwright (no browser download); warehouse tests
# start Debian's PostgreSQL as a private cluster (tests/servers.py); the Celery cluster tests run
# Airflow on that PostgreSQL with Debian's Redis as the broker.
system-deps:
	test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q postgresql)
	test -x /usr/bin/redis-server || (apt-get update -q && apt-get install -y -q redis-server)

test: lint typecheck system-deps
	$(PY) -m pytest -q -p no:cacheprovider

# pytest alone (no ruff/mypy) in $(VENV).
pytest: install
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-compat:
	$(MAKE) pytest VENV=$(COMPAT_VENV) AIRFLOW_VERSION=$(COMPAT_AIRFLOW_VERSION) \
		PINS='$(COMPAT_PINS)' PYTEST_ARGS='$(COMPAT_PYTEST_ARGS)'

test-mid:
	$(MAKE) pytest VENV=$(MID_VENV) AIRFLOW_VERSION=$(MID_AIRFLOW_VERSION) PYTEST_ARGS='$(OTHER_PYTEST_ARGS)'

$(FLOORS_VENV)/.installed: pyproject.toml Makefile
	test -x $(FLOORS_VENV)/bin/python || $(PYTHON) -m venv $(FLOORS_VENV)
	$(FLOORS_VENV)/bin/python -m pip install -q --upgrade pip uv
	$(FLOORS_VENV)/bin/uv pip install -q --python $(FLOORS_VENV)/bin/python --resolution lowest-direct -e ".[test]"
	touch $@

test-floors: $(FLOORS_VENV)/.installed
	$(FLOORS_VENV)/bin/python -m pip list --format=freeze 2>/dev/null | grep -iE '^(apache-airflow|tenacity|requests|pendulum|aiohttp|httpx)[=-]' || true
	$(FLOORS_VENV)/bin/python -m pytest -q -p no:cacheprovider $(OTHER_PYTEST_ARGS)

# The sdist, the wheel built from it, and their metadata checked (what PyPI would refuse).
dist: install
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

demo: install
	$(PY) -m airflow_provider_canvas_reports.demo --workdir .demo

clean:
	rm -rf $(VENV) .venv-* .demo dist build

# Benchmarks against same-run peers (HttpSensorTrigger, curl, airflow.sdk, requests); table + benchmarks/results.json.
# BENCH_ARGS=--quick for a smoke run.
.PHONY: bench
bench: install
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) -m benchmarks.run $(BENCH_ARGS)
