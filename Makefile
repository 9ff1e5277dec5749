# golemite: `make run` serves the demo, `make test` runs the whole suite.
# Both set up .venv on first use; nothing else needs to be installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 9881
DATA ?= ./data

.PHONY: install run test test-slow bench bench-quick guests clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "golemite needs Python >= 3.11"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench,guests]'
	touch $(STAMP)

run: install
	$(VENV)/bin/golemite serve --host $(HOST) --port $(PORT) --data-dir $(DATA) \
		--demo-template shopping-cart=guests/shopping-cart/shopping-cart.wasm

test: install
	$(PY) -m pytest -q

test-slow: install
	$(PY) -m pytest -q -m slow

bench: install
	$(PY) -m benchmarks.run

bench-quick: install
	$(PY) -m benchmarks.run --quick

# Rebuilds every guest's .wasm from source, byte-identical to the checked-in files; guests
# marked ON-DEMAND (componentize-py output is not reproducible) only when named:
# `bash guests/build.sh py-shopping-cart`.
guests: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash guests/build.sh

clean:
	rm -rf $(VENV) build *.egg-info
