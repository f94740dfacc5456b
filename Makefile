# Two commands for a fresh machine with Python 3.11+ and make:
#   make demo   set up .venv, migrate the embedded SQLite database, run the end-to-end demo, then
#               serve the web interface on the demo data (DEMO_FLAGS= to only run and report)
#   make test   set up .venv with dev extras, run lint, type checks, layer contract and tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEV_STAMP := $(STAMP)-dev

.PHONY: demo test lint typecheck layers pytest test-postgres bench clean scanners reliability audit-deps

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $(STAMP)

$(DEV_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP) $(DEV_STAMP)

# The demo ends by serving the API and the web interface on 127.0.0.1:$(DEMO_PORT) with the demo
# data, printing a sign-in token per demo organization (Ctrl-C stops it).
DEMO_PORT ?= 8000
DEMO_FLAGS ?= --serve --port $(DEMO_PORT)

demo: $(STAMP)
	$(BIN)/clearinghouse demo $(DEMO_FLAGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

layers: $(DEV_STAMP)
	$(BIN)/lint-imports

pytest: $(DEV_STAMP)
	$(BIN)/pytest -q

test: lint typecheck layers pytest

# The same suite against PostgreSQL on loopback (CI runs this after `make test`).
test-postgres: $(DEV_STAMP)
	CLEARINGHOUSE_TEST_DATABASE_URL=$${CLEARINGHOUSE_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -q -m "not sqlite_only"

# The matching benchmark's peers live in their own venv: safety pins an older typer than ours.
PEERS_VENV ?= .venv-bench-peers
PEERS := univers==32.0.1 safety==3.8.1 appthreat-vulnerability-db==7.0.3

$(PEERS_VENV)/bin/python:
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/pip install --quiet $(PEERS)

bench: $(DEV_STAMP) $(PEERS_VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/intake_sarif.py
	$(BIN)/python benchmarks/sandbox_overhead.py
	$(BIN)/python benchmarks/matching.py --peers-python $(PEERS_VENV)/bin/python
	$(BIN)/python benchmarks/case_scale.py
	$(BIN)/python benchmarks/deconfliction.py
	$(BIN)/python benchmarks/eval_statistics.py
	$(BIN)/python benchmarks/web.py

# The reliability and security suites at full budget (CI runs each with a reduced one): parser
# fuzzing of every format reader, 20,000+ generated API requests per database, load with kill -9
# of the API server, the Celery worker and PostgreSQL (a throwaway cluster of its own), backup
# and restore of the demo instance, and the audit of our own pinned dependencies. Each prints its
# figures and exits non-zero on any failure. Needs PostgreSQL on loopback and Redis.
RELIABILITY_DB ?= clearinghouse_fuzz
FUZZ_SECONDS ?= 30
RELIABILITY_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/$(RELIABILITY_DB)
reliability: $(DEV_STAMP)
	CLEARINGHOUSE_FUZZ_EXAMPLES=500 $(BIN)/pytest -q tests/reliability/test_parser_fuzz.py
	$(BIN)/pip install --quiet -e '.[dev,fuzz]'
	$(BIN)/python benchmarks/parser_fuzz.py --seconds $(FUZZ_SECONDS)
	$(BIN)/python benchmarks/api_fuzz.py --requests 20000
	psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$(RELIABILITY_DB)'" \
	  | grep -q 1 || psql -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $(RELIABILITY_DB)"
	$(BIN)/python benchmarks/api_fuzz.py --requests 20000 --database-url $(RELIABILITY_PG)
	$(BIN)/python benchmarks/load.py --seconds 120 --concurrency 8 --server-workers 2 --chaos --seed 1
	$(BIN)/python benchmarks/backup_restore.py
	$(BIN)/python scripts/audit_dependencies.py

# Our own pinned environment as a CycloneDX SBOM, matched against the PyPA OSV database in
# ../shared/data with the clearinghouse's own matcher; exits 1 on a known-vulnerable pin.
audit-deps: $(DEV_STAMP)
	$(BIN)/python scripts/audit_dependencies.py

# Scanning as a service: the scanners' own venv, built with the system Python (the sandbox's
# unprivileged user cannot read a venv whose Python lives under /root).
SCANNERS_VENV ?= .venv-scanners
scanners: $(STAMP)
	$(BIN)/clearinghouse scans toolchain $(SCANNERS_VENV)

clean:
	rm -rf $(VENV) $(PEERS_VENV) $(SCANNERS_VENV) .clearinghouse .pytest_cache .mypy_cache .ruff_cache
