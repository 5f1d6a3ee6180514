# One venv per Airflow line, inside the repo. `make test` and `make demo` build what they need.
PYTHON ?= python3
AIRFLOW_VERSION ?= 3.3.2
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(AIRFLOW_VERSION)

.PHONY: install test lint typecheck unit demo clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "apache-airflow==$(AIRFLOW_VERSION)" -e ".[test]"
	touch $@

lint: install
	$(VENV)/bin/ruff check airflow_provider_canvas_reports tests example_dags
	$(VENV)/bin/ruff format --check airflow_provider_canvas_reports tests example_dags

typecheck: install
	$(VENV)/bin/mypy

test: lint typecheck
	$(PY) -m pytest -q -p no:cacheprovider

demo: install
	$(PY) -m airflow_provider_canvas_reports.demo --dags-folder example_dags --workdir .demo

clean:
	rm -rf $(VENV) .venv-* .demo
