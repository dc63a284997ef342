# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The course data: ../shared/data when it is there, else autograder's default root.
SHARED_DATA := $(abspath ../shared/data)
ifeq ($(origin AUTOGRADER_DATA), undefined)
  ifneq ($(wildcard $(SHARED_DATA)/MNIST),)
    export AUTOGRADER_DATA := $(SHARED_DATA)
  endif
endif

.PHONY: demo demo-all test test-fast setup sandbox-tools benchmark docs clean

$(BIN)/autograder: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course kit)" >/dev/null
	touch $(BIN)/autograder

setup: $(BIN)/autograder sandbox-tools

# Grading runs every kernel in a bubblewrap sandbox, the browser tests open the
# feedback pages and dashboards in headless Chromium, and the multi-process service test
# starts a PostgreSQL server: install what is missing where we may (root, apt), else say
# what to ask for.
sandbox-tools:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null || missing="$$missing chromium fonts-dejavu-core"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null \
	  || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing:$$missing: ask an administrator for 'apt-get install$$missing'" \
	         "(or your distribution's packages); '.venv/bin/autograder doctor' checks the" \
	         "sandbox, tests/test_browser.py needs chromium and tests/test_serve_postgres.py" \
	         "the PostgreSQL server (initdb, pg_ctl, postgres)"; \
	  fi; \
	fi

# Release all five assignments, grade the sample class on A1 and A2, feedback, dashboard,
# export; ends with the path of the course dashboard.
demo: setup
	$(BIN)/autograder demo

# The full round trip: the sample class on all five assignments (about 30 minutes).
demo-all: setup
	$(BIN)/autograder demo --all

# Unit and pipeline tests, the graded round trip of every real notebook, and nbval on
# the teacher notebooks in source/.
test: setup
	$(BIN)/python -m pytest tests source --nbval-lax -p tests.verified_notebooks -p no:cacheprovider --durations=15 $(PYTEST_ARGS)

# Everything except the real notebooks (a few minutes).
test-fast: setup
	$(BIN)/python -m pytest tests --ignore=tests/test_course.py $(PYTEST_ARGS)

# Not part of the tests: grading speed and memory on a class of 40 tiny submissions
# (nbgrader, the nbclient floor, the kit with 1 and 2 workers and through local Dask),
# written to BENCHMARKS.md with A4's im2col convolution against torch and the five-assignment
# reference submission graded end to end; then data loading.
benchmark: setup
	$(BIN)/python benchmarks/grading.py --students 40 --out BENCHMARKS.md
	$(BIN)/python benchmarks/conv.py --out BENCHMARKS.md
	$(BIN)/python benchmarks/reference.py --out BENCHMARKS.md
	$(BIN)/python benchmarks/coordinator.py --out BENCHMARKS.md
	$(BIN)/python benchmarks/data_load.py

# Pages generated from the code (tests/test_check_catalog.py keeps them equal).
docs: $(BIN)/autograder
	$(BIN)/autograder checks --markdown > docs/CHECKS.md

clean:
	rm -rf $(VENV) submitted autograded feedback dashboard exports gradebook.db demo_output
