# The README's commands. `make demo` needs only Python; `make test` sets everything up on a fresh Debian machine (as root).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SIM_STAMP := $(VENV)/.installed-sim
APT_STAMP := .cache/apt.stamp
APT_LISTS := $(sort $(wildcard deps/apt-*.txt))

.PHONY: help setup apt demo test lint unit bench clean

help:
	@echo "make demo   - set up (a Python venv, nothing else) and run the simulator's fleet demo"
	@echo "make test   - set up (venv, apt packages, libvirt) and run every test, the VM testbed included"
	@echo "make bench  - measure the figures in the README beside their baselines"

# System packages the tests need (each area lists its own in deps/apt-*.txt).
$(APT_STAMP): $(APT_LISTS)
	@mkdir -p .cache
	@pkgs=$$(cat $(APT_LISTS) | sed 's/#.*//' | xargs); \
	missing=$$(for p in $$pkgs; do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done | xargs); \
	if [ -n "$$missing" ]; then \
	  echo "apt: installing $$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "error: installing system packages needs root (missing: $$missing)" >&2; exit 1; fi; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@touch $@

apt: $(APT_STAMP)

$(STAMP): pyproject.toml $(APT_STAMP)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[sim,test,testbed,endpoint]'
	@touch $@ $(SIM_STAMP)

setup: $(STAMP)

# The demo needs only Python: a venv with the `sim` extra (no system packages, no root, no compiler).
$(SIM_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed; install Python's venv module" >&2; exit 1; }
	$(PY) -m pip install -q -e '.[sim]'
	@touch $@

demo: $(SIM_STAMP)
	$(VENV)/bin/teeth-sim demo

lint: $(STAMP)
	$(VENV)/bin/ruff check teeth_agent teeth_endpoint simulator testbed tests benchmarks
	$(VENV)/bin/mypy

# Every test that needs no root: tests/linux's parser and fake-runner tests included, its loop-device
# tests (marked `linux`, see tests/linux/linux_loops.py NEEDS_ROOT) left to `make test-linux`.
unit: $(STAMP)
	$(VENV)/bin/pytest -q -m "not linux" tests/unit tests/sim tests/linux

test: $(STAMP) lint
	$(VENV)/bin/pytest -q -p no:cacheprovider tests

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .cache build dist *.egg-info

-include mk/*.mk
