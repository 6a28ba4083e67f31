# WMI2: `make run` sets up and runs it; `make test` sets up and runs every check.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get
# Debian packages: what WMI2 runs on, then what only the tests and benchmarks use.
RUN_DEBS := redis-server passwd python3-venv
TEST_DEBS := chromium docker-compose caddy wrk apache2-utils httperf postgresql

.PHONY: setup setup-test run test lint typecheck pytest screenshots clean

define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; $(APT) update -q && $(APT) install -y -q --no-install-recommends $$missing; fi
endef

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(call apt_ensure,$(RUN_DEBS))
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e .
	touch $@

setup-test: $(VENV)/.installed-test

$(VENV)/.installed-test: $(VENV)/.installed
	$(call apt_ensure,$(TEST_DEBS))
	$(PIP) install -q -c constraints.txt -e ".[test]"
	touch $@

run: setup
	$(VENV)/bin/wmi2 up

lint: setup-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: setup-test
	$(VENV)/bin/mypy

# Test files run on PYTEST_WORKERS processes (pytest-xdist), each file's tests in one of
# them, so that a module's shared stack stays shared; PYTEST_WORKERS=0 runs them in one.
PYTEST_WORKERS ?= 3
pytest: setup-test
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test: lint typecheck pytest

# A PNG of each page at 1280 px (and the users page at phone width) in docs/screenshots/,
# taken in headless Chromium from a private WMI2 with a sandbox host full of users.
screenshots: setup-test
	$(PY) -m tests.support.screenshots docs/screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
