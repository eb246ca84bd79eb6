# opslab's two commands. Each sets up whatever is missing on a fresh Debian machine (as root), then runs:
#   make demo   one real lab scenario end to end (the arp lab's runbook; builds only that lab's images)
#   make test   the whole test suite: unit tests, sims, integration tests, every lab scenario, and the example lab
#               (examples/keepalived, installed as another package's lab: its unit tests and its scenarios), and
#               the mysql lab again on its second engine (MariaDB 11.8 on Debian trixie)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
REPORTS ?= reports
APT := DEBIAN_FRONTEND=noninteractive apt-get

EXAMPLES := examples/keepalived

.PHONY: setup host examples images demo test unit lint type bench clean

$(BIN)/opslab: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { $(APT) update -qq && $(APT) install -y -qq python3 python3-venv; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { $(APT) update -qq && $(APT) install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --disable-pip-version-check -e '.[dev,ansible]'
	@touch $@

host: $(BIN)/opslab
	$(BIN)/opslab doctor --fix

# labs from other packages, installed as a user would install them (opslab images then builds theirs too)
examples: $(BIN)/opslab
	$(BIN)/pip install -q --disable-pip-version-check $(addprefix ./,$(EXAMPLES))

images: host examples
	$(BIN)/opslab images

setup: images

demo: host
	$(BIN)/opslab run arp/migrate_with_garp --report $(REPORTS)/demo

# JOBS=N runs N tests at once (pytest-xdist, each scenario in its own lab instance, one report); serial by default
JOBS ?= 1
PARALLEL := $(if $(filter-out 1,$(JOBS)),-n $(JOBS) --dist worksteal)

test: setup
	$(BIN)/python -m pytest -ra $(PARALLEL) tests scenarios $(addsuffix /tests,$(EXAMPLES)) --opslab-report $(REPORTS)/test
	$(BIN)/opslab run keepalived --report $(REPORTS)/keepalived
	$(BIN)/opslab run mysql --param engine=mariadb-11.8 --report $(REPORTS)/mysql-mariadb-11.8

unit: $(BIN)/opslab
	$(BIN)/python -m pytest -q tests/unit

lint: $(BIN)/opslab
	$(BIN)/ruff check lab sims scenarios tests bench examples

type: $(BIN)/opslab
	$(BIN)/mypy

bench: setup
	$(BIN)/python bench/arp_bench.py

clean:
	-$(BIN)/opslab down
	rm -rf $(REPORTS)
