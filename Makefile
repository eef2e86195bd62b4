# Innkeeper: `make run` serves the API with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MONGOSH := .tools/node_modules/.bin/mongosh
AXE := .tools/node_modules/axe-core/axe.min.js

.PHONY: run test lint format install lock tools worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# requirements.lock pins every package (pip-compile of setup.cfg's ranges with the embedded
# and dev extras), so every machine and CI install the set the tests ran with.
$(STAMP): $(BIN)/python setup.cfg pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# After changing a range in setup.cfg: re-pin, then commit requirements.lock.
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --strip-extras --extra embedded --extra dev \
		--no-emit-index-url --no-emit-find-links -o requirements.lock setup.cfg

run: $(STAMP)
	$(BIN)/python run.py

# mongosh (npm) lets the analysts' test run the documented queries as an analyst would;
# without npm that one test is skipped locally (CI installs it and requires it). A
# registry hiccup gets a second try (a CI run once lost mongosh to one).
NPM_INSTALL = npm install --silent --no-audit --no-fund --prefix .tools
$(MONGOSH):
	-command -v npm >/dev/null && ($(NPM_INSTALL) mongosh@2.12.0 || (sleep 5; $(NPM_INSTALL) mongosh@2.12.0))

# axe-core (npm) is injected into the pages the browser tests open: the accessibility check.
$(AXE):
	-command -v npm >/dev/null && ($(NPM_INSTALL) axe-core@4.14.1 || (sleep 5; $(NPM_INSTALL) axe-core@4.14.1))

tools: $(MONGOSH) $(AXE)

# One pytest worker per core (pytest-xdist), each with its own embedded servers and
# database; the slowest tests are printed so the next change keeps the suite fast.
PYTEST_ARGS ?= -n auto --durations=15

test: $(STAMP) tools
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(STAMP)
	$(BIN)/flask --app run worker

bench: $(STAMP)
	$(BIN)/python bench/booking.py
	$(BIN)/python bench/search.py

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache *.egg-info
