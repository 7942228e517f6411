# Two entry points: `make demo` runs the whole stack, `make test` runs every check.
# Both create the virtual environment in .venv when it is missing or stale.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# graphql-js, pinned in tests/js, for the tests that fetch the schema as JS tools do.
JS_PACKAGES := tests/js/node_modules/.package-lock.json
# graphql-codegen and tsc, pinned in frontend-types, for the client types check.
TS_PACKAGES := frontend-types/node_modules/.package-lock.json

.PHONY: demo test bench chaos lint typecheck typecheck-ts pytest test-unit test-integration test-e2e test-deploy test-demo system-tools clean

# The BFF, and the demo beside it as a distribution of its own (demo/pyproject.toml).
$(STAMP): pyproject.toml demo/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e ./demo
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bff-demo

test: lint typecheck typecheck-ts pytest

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

chaos: $(STAMP)
	$(BIN)/python -m bench.chaos $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The reference documents through graphql-codegen and strict tsc, as a frontend
# builds them: fails when the schema no longer serves one (docs/client-types.md).
typecheck-ts: $(TS_PACKAGES)
	npm run --prefix frontend-types --silent check

system-tools:
	scripts/system-tools

# Installed after the system tools (which bring Node.js when it is missing). If npm
# cannot install them, the graphql-js test fails saying so; the others still run.
$(JS_PACKAGES): tests/js/package-lock.json | system-tools
	npm ci --prefix tests/js --no-audit --no-fund || echo "tests/js: npm ci failed; the graphql-js test will fail" >&2

$(TS_PACKAGES): frontend-types/package-lock.json | system-tools
	npm ci --prefix frontend-types --no-audit --no-fund || echo "frontend-types: npm ci failed; the client types check will fail" >&2

pytest: $(STAMP) system-tools $(JS_PACKAGES) $(TS_PACKAGES)
	$(BIN)/pytest

# One tier at a time; `make test` runs them all.
test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP) $(JS_PACKAGES)
	$(BIN)/pytest tests/integration

test-e2e: $(STAMP) system-tools
	$(BIN)/pytest tests/e2e

test-deploy: $(STAMP) system-tools $(TS_PACKAGES)
	$(BIN)/pytest tests/deploy

test-demo: $(STAMP)
	$(BIN)/pytest tests/demo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/js/node_modules frontend-types/node_modules frontend-types/generated
