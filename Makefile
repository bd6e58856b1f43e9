# The whole set-up on a fresh machine is `make demo` or `make test`; both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint typecheck unit postgres serve bench clean

venv: $(STAMP)

# Rebuilt whenever pyproject.toml changes, so a pulled dependency bump lands on the next make.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: venv
	$(BIN)/sage-pipeline demo

serve: venv
	$(BIN)/sage-sandbox serve --port 8765

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

# The dbt-postgres profile is tested on a throwaway PostgreSQL server; this installs it when missing.
postgres:
	bash scripts/ensure_postgres.sh

# Two workers (26 min 59 s for 752 tests on the last fresh clone), each taking whole test files (module fixtures stay in one process), in the order
# collected: the files that take minutes first (tests/conftest.py, LONG_FILES), not xdist's default
# of the files with most tests first, which let one long file start last and set the end.
# `.venv/bin/pytest tests/<folder>` alone still runs serially.
unit: venv postgres
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

test: lint typecheck unit

# The README's figures; the 1 M runs are listed there (they build a 1 M sandbox once, ~25 min).
bench: venv postgres
	$(BIN)/python -m benchmarks.sandbox_throughput
	$(BIN)/python -m benchmarks.pipeline_throughput throughput --invoices 100000 --snapshot-dir .cache/sandbox
	$(BIN)/python -m benchmarks.pipeline_throughput rate-limit
	$(BIN)/python -m benchmarks.pipeline_throughput no-change
	$(BIN)/python -m benchmarks.marts_build --invoices 100000 --snapshot-dir .cache/sandbox
	$(BIN)/python -m benchmarks.warehouse_throughput --invoices 20000 --repeats 5 --snapshot-dir .cache/sandbox --postgres-csv

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
