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

.PHONY: demo test setup notebooks benchmark clean

$(BIN)/autograder: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course kit)" >/dev/null
	touch $(BIN)/autograder

setup: $(BIN)/autograder

demo: setup
	$(BIN)/autograder demo

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

benchmark: setup
	$(BIN)/python benchmarks/data_load.py

clean:
	rm -rf $(VENV) submitted autograded feedback gradebook.db demo_output
