# Two commands set everything up on a machine with only Python and Git:
#   make demo   - create .venv, install, build the example desk, tour it
#   make test   - create .venv, install, run the test suite
# PYTHON and VENV choose another interpreter, e.g. the oldest supported one:
#   make test PYTHON=python3.10 VENV=.venv310
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-desk

.PHONY: demo test lint docs bench clean install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test,dev,semantic]'
	touch $@

install: $(VENV)/.installed

# gitdesk's own byte code, written before the suite: every hook and `python -m gitdesk` the
# tests start imports gitdesk again, and where PYTHONDONTWRITEBYTECODE is set (as on many CI
# machines) each compiled it from source, 0.4 s a process: a quarter of the suite's CPU time.
# Python reads byte code that is there whatever that variable says, and skips it once stale.
COMPILE := $(BIN)/python -m compileall -q gitdesk

# --dist worksteal: a worker that runs out of tests takes the other's, so a few long tests
# scheduled last do not leave a core idle (a fresh run: 317 s against 380 s on two cores).
test: $(VENV)/.installed
	@sh .ci/ensure-chromium
	@$(COMPILE)
	$(BIN)/python -m pytest -q -n auto --dist worksteal

lint: $(VENV)/.installed
	$(BIN)/ruff check gitdesk tests bench example-repo docs
	$(BIN)/mypy

# docs/commands.md's option lists, from each command's --help (tests/test_docs.py checks them).
docs: $(VENV)/.installed
	$(BIN)/python docs/generate_commands.py

demo: $(VENV)/.installed
	@$(COMPILE)
	$(BIN)/python example-repo/replay.py $(DEMO_DIR)
	$(BIN)/python example-repo/tour.py $(DEMO_DIR) $(BIN)/gitdesk

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .venv310 .ci/out $(DEMO_DIR) $(DEMO_DIR)-site $(DEMO_DIR)-mail .pytest_cache .mypy_cache .ruff_cache
