# Inferix: `make test` and `make demo` install everything they need (idempotently) and run.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= $(shell command -v python3.11 || command -v python3)
PIP_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
WEB_STAMP := web/dist/index.html
WEB_SOURCES := $(wildcard web/*.html web/*.css web/*.mjs web/src/*.js web/src/*/*.js inferix/abis/*.json)

export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export NO_UPDATE_NOTIFIER := 1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install system web test test-fast test-contracts demo deploy gas clean

install: system $(PIP_STAMP) $(NPM_STAMP) $(WEB_STAMP)

# Debian packages, each installed only when missing: bubblewrap, the sandbox every Blender run on a creator's scene
# goes through (docs/security.md); postgresql, the server the backend's tests run against (docs/backend.md)
system:
	@missing=""; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -z "$$missing" ] || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; }

$(PIP_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test,angv]'
	touch $@

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# the web app the manager serves at /app/ (docs/dapp.md): bundled by esbuild into web/dist
web: $(WEB_STAMP)
$(WEB_STAMP): $(NPM_STAMP) $(WEB_SOURCES)
	node web/build.mjs

# two test processes (pytest-xdist), each with its own anvil, IPFS and PostgreSQL: the end-to-end tests together in
# one of them, in file order, every other file whole (tests/conftest.py groups them); the contracts are compiled once
# before, not by both devnets at once
TEST_WORKERS ?= 2
test: install
	PATH=$(VENV)/bin:$$PATH $(VENV)/bin/ape compile
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

# the unit tests only (nothing started: no anvil, IPFS, Blender or node processes); see tests/README.md
test-fast: install
	INFERIX_FAST=1 $(PY) -m pytest tests/unit -q -p no:schemathesis

# the whole network on this machine, end to end (see README): report in out/demo/report.html; KEEP=1 keeps the
# stack up after the checks (the web app, the API, the chain) until Ctrl-C
demo: install
	$(PY) -m scripts.demo $(if $(KEEP),--keep)

test-contracts: install
	$(PY) -m pytest tests/unit/contracts tests/integration/contracts

# deploy and wire every contract on a throwaway local anvil chain
deploy: install
	ape run scripts/deploy.py --network ethereum:local:foundry

gas: install
	$(PY) -m benchmarks.gas

clean:
	rm -rf $(VENV) node_modules .build out .pytest_cache .hypothesis
