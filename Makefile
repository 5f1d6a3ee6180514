# One venv per Airflow line, inside the repo. `make test` and `make demo` build what they need.
# Every CI line installs from a lock committed under constraints/ (like Airflow's own constraint
# files): a release elsewhere cannot change what CI installs. `make locks` regenerates them from
# pyproject.toml; `make test-latest` (not in CI) tries the newest releases, to find drift on purpose.
PYTHON ?= python3
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
AIRFLOW_VERSION ?= 3.3.2
VENV ?= .venv
PY := $(VENV)/bin/python
LOCK ?= constraints/airflow-$(AIRFLOW_VERSION)-py$(PYVER).txt
STAMP := $(VENV)/.installed-$(AIRFLOW_VERSION)
# The extras every lock covers (and every venv installs).
EXTRAS := test,examples,bench,docs
PYTEST_ARGS ?=
# The installer, pinned: one small venv holding uv, shared by every line.
UV_VERSION := 0.13.8
UV_VENV := .venv-uv
UV := $(UV_VENV)/bin/uv

# The Airflow 2.11 line. Its lock (like 3.1's and the floors') caps cryptography below 51
# (constraints/*.in): cryptography 51's Rust MultiFernet refuses the attribute get_fernet sets.
COMPAT_AIRFLOW_VERSION ?= 2.11.2
COMPAT_VENV ?= .venv-2.11
# tests/system starts real Airflow 3 processes; the unit, dag.test() and emulator suites run on 2.11.
COMPAT_PYTEST_ARGS ?= --ignore=tests/system

# A supported Airflow 3 line between 3.0 and the newest, in its own venv: the same suites as 2.11.
MID_AIRFLOW_VERSION ?= 3.1.8
MID_VENV ?= .venv-3.1
# The declared floors: every direct dependency of the package and its test extra pinned at the
# lowest version pyproject.toml admits (constraints/floors.py names the few the test extra raises),
# Airflow 2.11.1 included.
FLOORS_VENV ?= .venv-floors
FLOORS_LOCK := constraints/floors-py$(PYVER).txt
OTHER_PYTEST_ARGS ?= $(COMPAT_PYTEST_ARGS)
# Every lock: the three lines CI tests, and the floors.
LINES := $(AIRFLOW_VERSION) $(COMPAT_AIRFLOW_VERSION) $(MID_AIRFLOW_VERSION)
LATEST_VENV ?= .venv-latest

.PHONY: install test test-system test-rest ci-setup lint typecheck docs unit pytest test-compat test-mid test-floors test-latest locks demo clean system-deps dist

install: $(STAMP)

$(UV):
	test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	$(UV_VENV)/bin/python -m pip install -q --disable-pip-version-check "uv==$(UV_VERSION)"

$(STAMP): pyproject.toml Makefile $(LOCK) | $(UV)
	@test -f $(LOCK) || { echo "no lock $(LOCK) for Airflow $(AIRFLOW_VERSION) on Python $(PYVER): run make locks"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(UV) pip install -q --python $(PY) --constraint $(LOCK) "apache-airflow==$(AIRFLOW_VERSION)" -e ".[$(EXTRAS)]"
	touch $@

# The locks, from pyproject.toml and constraints/*.in (the Airflow pin and any cap a line needs).
# Run after changing a dependency; commit what it writes.
locks: install | $(UV)
	for line in $(LINES); do \
		in=constraints/airflow-$$line.in; test -f $$in || echo "apache-airflow==$$line" > $$in; \
		$(UV) pip compile -q --python-version $(PYVER) --extra test --extra examples --extra bench --extra docs \
			--no-header --annotation-style line pyproject.toml $$in -o constraints/airflow-$$line-py$(PYVER).txt \
			|| exit 1; \
	done
	$(PY) constraints/floors.py > $(FLOORS_LOCK).pins
	rm -f $(FLOORS_LOCK)  # resolved afresh: an old lock's versions are not preferred
	$(UV) pip compile -q --python-version $(PYVER) --resolution lowest-direct --extra test --extra examples \
		--no-header --annotation-style line pyproject.toml --constraint constraints/floors.in \
		--constraint $(FLOORS_LOCK).pins -o $(FLOORS_LOCK); status=$$?; rm -f $(FLOORS_LOCK).pins; exit $$status

lint: install
	$(VENV)/bin/ruff check airflow_provider_canvas_reports tests docs
	$(VENV)/bin/ruff format --check airflow_provider_canvas_reports tests docs

# The package (example DAGs included), and the README's quickstart DAG as a user's mypy sees it.
typecheck: install
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy tests/dags/quickstart.py

# The UI test drives Debian's Chromium with Playwright (no browser download); warehouse tests
# start Debian's PostgreSQL as a private cluster (tests/servers.py); the Celery cluster tests run
# Airflow on that PostgreSQL with Debian's Redis as the broker. The Azure Blob landing tests start
# Azurite (npm, from the committed lock in tests/azurite) on Debian's Node.js.
AZURITE_DIR := tests/azurite
AZURITE := $(AZURITE_DIR)/node_modules/.installed
system-deps: $(AZURITE)
	test -x /usr/bin/chromium || (apt-get update -q && apt-get install -y -q chromium)
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q postgresql)
	test -x /usr/bin/redis-server || (apt-get update -q && apt-get install -y -q redis-server)

# The documentation site (docs/), into docs/_build/html: warnings are errors, every page is read
# afresh (-E: a warning is never hidden by an earlier build), then every link inside the site is
# checked (no network: links out of the site are not followed).
DOCS_OUT := docs/_build/html
docs: install
	$(VENV)/bin/sphinx-build -E -W --keep-going -q -b html docs $(DOCS_OUT)
	$(PY) docs/check_links.py $(DOCS_OUT)

$(AZURITE): $(AZURITE_DIR)/package.json $(AZURITE_DIR)/package-lock.json
	command -v npm >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q nodejs npm)
	cd $(AZURITE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# $(call timed,WHAT,COMMAND): run COMMAND, then say how long it took; COMMAND's status is kept.
timed = started=$$(date +%s); $(2); status=$$?; \
	echo "$(1) took $$(($$(date +%s) - started)) s (load $$(cut -d' ' -f1-3 /proc/loadavg))"; exit $$status

# The whole suite on Airflow $(AIRFLOW_VERSION), in two halves: the system tests (real Airflow
# processes, a Celery cluster) and the rest. `make test` runs them one after the other; .ci/run
# runs each as a part of its own, beside the other lines.
test: lint typecheck docs test-system test-rest

test-system: install system-deps
	@$(call timed,Airflow $(AIRFLOW_VERSION) system tests,$(PY) -m pytest -q -p no:cacheprovider tests/system $(PYTEST_ARGS))

test-rest: install $(AZURITE)
	@$(call timed,Airflow $(AIRFLOW_VERSION) tests outside tests/system,$(PY) -m pytest -q -p no:cacheprovider --ignore=tests/system $(PYTEST_ARGS))

# pytest alone (no ruff/mypy) in $(VENV).
pytest: install $(AZURITE)
	@$(call timed,Airflow $(AIRFLOW_VERSION) pytest $(PYTEST_ARGS),$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS))

test-compat:
	$(MAKE) pytest VENV=$(COMPAT_VENV) AIRFLOW_VERSION=$(COMPAT_AIRFLOW_VERSION) PYTEST_ARGS='$(COMPAT_PYTEST_ARGS)'

test-mid:
	$(MAKE) pytest VENV=$(MID_VENV) AIRFLOW_VERSION=$(MID_AIRFLOW_VERSION) PYTEST_ARGS='$(OTHER_PYTEST_ARGS)'

# Everything CI installs, one thing at a time (uv, npm and apt must not race): the venvs of the
# four lines, Azurite, Chromium, PostgreSQL, Redis. Then .ci/run runs the parts two at a time.
ci-setup: install system-deps $(FLOORS_VENV)/.installed
	$(MAKE) install VENV=$(COMPAT_VENV) AIRFLOW_VERSION=$(COMPAT_AIRFLOW_VERSION)
	$(MAKE) install VENV=$(MID_VENV) AIRFLOW_VERSION=$(MID_AIRFLOW_VERSION)

$(FLOORS_VENV)/.installed: pyproject.toml Makefile $(FLOORS_LOCK) | $(UV)
	test -x $(FLOORS_VENV)/bin/python || $(PYTHON) -m venv $(FLOORS_VENV)
	$(UV) pip install -q --python $(FLOORS_VENV)/bin/python --constraint $(FLOORS_LOCK) -e ".[test,examples]"
	touch $@

test-floors: $(FLOORS_VENV)/.installed $(AZURITE)
	$(FLOORS_VENV)/bin/python -m pip list --format=freeze 2>/dev/null | grep -iE '^(apache-airflow|tenacity|requests|pendulum|aiohttp|httpx|cryptography)[=-]' || true
	@$(call timed,Declared floors pytest $(OTHER_PYTEST_ARGS),$(FLOORS_VENV)/bin/python -m pytest -q -p no:cacheprovider $(OTHER_PYTEST_ARGS))

# The newest releases of everything, no lock: drift found on purpose, before it reaches a lock.
# Not in CI. The newest Airflow 3, then the newest 2.11 patch, each in a venv made anew.
test-latest: | $(UV)
	rm -rf $(LATEST_VENV) && $(PYTHON) -m venv $(LATEST_VENV)
	$(UV) pip install -q --python $(LATEST_VENV)/bin/python apache-airflow -e ".[$(EXTRAS)]"
	$(LATEST_VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) || status=1; \
	rm -rf $(LATEST_VENV)-2.11 && $(PYTHON) -m venv $(LATEST_VENV)-2.11; \
	$(UV) pip install -q --python $(LATEST_VENV)-2.11/bin/python "apache-airflow~=2.11.0" -e ".[$(EXTRAS)]" || exit 1; \
	$(LATEST_VENV)-2.11/bin/python -m pytest -q -p no:cacheprovider $(COMPAT_PYTEST_ARGS) || status=1; \
	exit $${status:-0}

# The sdist, the wheel built from it, and their metadata checked (what PyPI would refuse), in a
# small venv of its own (build and twine from the lock): not the development venv.
DIST_VENV ?= .venv-dist
dist: | $(UV)
	test -x $(DIST_VENV)/bin/python || $(PYTHON) -m venv $(DIST_VENV)
	$(UV) pip install -q --python $(DIST_VENV)/bin/python --constraint $(LOCK) build twine
	rm -rf dist
	$(DIST_VENV)/bin/python -m build --outdir dist .
	$(DIST_VENV)/bin/python -m twine check --strict dist/*

demo: install
	$(PY) -m airflow_provider_canvas_reports.demo --workdir .demo

clean:
	rm -rf $(VENV) .venv-* .demo dist build docs/_build docs/api/generated

# Benchmarks against same-run peers (HttpSensorTrigger, curl, airflow.sdk, requests, psql \copy,
# the sqlite3 CLI, pandas); table + benchmarks/results.json. BENCH_ARGS=--quick for a smoke run.
.PHONY: bench bench-deps
bench: install bench-deps
	$(PY) -m pip install -q -e ".[bench]"
	$(PY) -m benchmarks.run $(BENCH_ARGS)

# The peers section 7 runs from Debian: PostgreSQL (the server and psql) and the sqlite3 CLI.
bench-deps:
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && apt-get install -y -q postgresql)
	test -x /usr/bin/sqlite3 || (apt-get update -q && apt-get install -y -q sqlite3)
