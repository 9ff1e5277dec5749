# golemite: `make run` serves the demo, `make test` runs the whole suite.
# Both set up .venv on first use; nothing else needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 9881
DATA ?= ./data

.PHONY: install native run test test-slow bench bench-quick guests clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "golemite needs Python >= 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench,guests,native]'
	touch $(STAMP)

# The hot modules compiled with mypyc (oplog/native.py); rebuilt only when a source changed.
native: install
	$(PY) tools/build_native.py --if-stale

# Serving does not need the compiled modules: a failed build is reported, not fatal.
run: install
	$(PY) tools/build_native.py --if-stale --optional
	$(VENV)/bin/golemite serve --host $(HOST) --port $(PORT) --data-dir $(DATA) \
		--demo-template shopping-cart=guests/shopping-cart/shopping-cart.wasm

# The suite runs on the compiled modules (as `make run` serves), then the tests of the
# oplog and executor (unit and integration) again on their source, which is what runs
# while a build is stale.
test: native
	GOLEMITE_NATIVE=require $(PY) -m pytest -q
	GOLEMITE_NATIVE=off $(PY) -m pytest -q tests/unit/oplog tests/unit/executor tests/integration

test-slow: native
	GOLEMITE_NATIVE=require $(PY) -m pytest -q -m slow

bench: native
	GOLEMITE_NATIVE=require $(PY) -m benchmarks.run

bench-quick: native
	GOLEMITE_NATIVE=require $(PY) -m benchmarks.run --quick

# Rebuilds every guest's .wasm from source, byte-identical to the checked-in files; guests
# marked ON-DEMAND (componentize-py output is not reproducible) only when named:
# `bash guests/build.sh py-shopping-cart`.
guests: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash guests/build.sh

clean:
	rm -rf $(VENV) build *.egg-info
