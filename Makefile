# Two commands do all the set-up on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint chromium clean

$(BIN)/pulse: pyproject.toml
	@echo "==> Installing Python packages into $(VENV) (first run: about a minute)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

install: $(BIN)/pulse

# Debian's Chromium for the Playwright smoke tests (Playwright's own browser download is not reachable here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "==> Installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(BIN)/pulse demo

lint: install
	$(BIN)/ruff check src tests

test: install chromium lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) warehouse state dbt/target dbt/logs test-artifacts
