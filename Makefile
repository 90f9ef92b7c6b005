# The two commands a newcomer needs: `make demo` and `make test` (both set everything up first).
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.sparkfolio-setup

.PHONY: setup demo test test-fast package clean

setup: $(STAMP)

$(STAMP): setup.py requirements.txt requirements-dev.txt scripts/setup.sh
	bash scripts/setup.sh

demo: setup
	bash scripts/demo_netflix.sh

test: setup
	$(PY) -m pytest

test-fast: setup
	$(PY) -m pytest -m "not cluster and not notebook"

package: setup
	bash scripts/package.sh

clean:
	rm -rf output dist build lib/*.egg-info
