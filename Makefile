# The course's commands. `make course` opens the lessons, `make test` runs every check.
# Both create the virtual environment in .venv first if it is missing or out of date.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.bpcourse-installed
# JupyterLab refuses to run as root unless told it is deliberate (containers, Binder-like hosts).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Extra options for `make course`, e.g. LAB_ARGS="--no-browser --port=8890".
LAB_ARGS ?=

.PHONY: setup course test lint typecheck pytest lessons demo slides slides-assets test-assets hub hub-test benchmarks clean-venv help

help:
	@echo "make setup       create or update .venv only"
	@echo "make course      set up .venv if needed and open the lessons in JupyterLab"
	@echo "make test        set up .venv if needed and run lint, type check and all tests"
	@echo "make lessons     regenerate lessons/ from solutions/ with nbgrader"
	@echo "make grade ASSIGNMENT=01_chain_rule   autograde submitted/*/01_chain_rule"
	@echo "make grades      export every grade of the gradebook to grades/all.csv"
	@echo "make demo        the slider explorers as a Voila dashboard (no code on screen)"
	@echo "make slides      the same explorers as reveal.js slides, live (Voila), offline"
	@echo "make slides-assets  fetch reveal.js's style sheets once (npm), for offline slides"
	@echo "make hub         a DEMO class on a JupyterHub on this machine (an instructor, two students)"
	@echo "make hub-test    as root: a class on a real JupyterHub, end to end (Chromium, Unix users)"
	@echo "make benchmarks  run the speed benchmarks (prints ratios, not part of the tests)"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "bpcourse needs Python 3.10 or newer, found " + sys.version.split()[0])'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,class]'
	# rfc3987-syntax builds a grammar at import and costs every Jupyter process ~2 s; nothing
	# in the course validates URIs against it, so it is removed (pip check stays clean).
	-$(BIN)/python -m pip uninstall --quiet --yes rfc3987-syntax
	touch $(STAMP)

setup: $(STAMP)

course: $(STAMP)
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) lessons/

test: $(STAMP) lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# MathJax 3 (pinned in tests/lessons/mathjax/package-lock.json) for the test that typesets
# every formula of the lessons, installed from npm once, into the venv (without npm the test
# says it is skipped).
MATHJAX := $(VENV)/mathjax/node_modules/mathjax-full/package.json

$(MATHJAX): tests/lessons/mathjax/package-lock.json | $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
		mkdir -p $(VENV)/mathjax && cp tests/lessons/mathjax/package.json tests/lessons/mathjax/package-lock.json $(VENV)/mathjax/ && \
		cd $(VENV)/mathjax && npm ci --no-audit --no-fund --silent && touch node_modules/mathjax-full/package.json; \
	else echo "npm not found: the maths-rendering test will be skipped"; fi

# Two pytest-xdist workers (the course's machines have two cores); tests that share a module
# fixture (a JupyterLab server, a graded batch) carry an xdist_group mark and stay together.
PYTEST_WORKERS ?= 2

# The package is installed editable, so pip compiled none of its modules; where
# PYTHONDONTWRITEBYTECODE is set (CI images often set it) every kernel the tests start would
# compile all of bpcourse again (~0.1 s each, hundreds of kernels). Compile once up front.
pytest: $(STAMP) $(MATHJAX) test-assets
	$(BIN)/python -m compileall -q bpcourse tests
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=10

lessons: $(STAMP)
	$(BIN)/python -m bpcourse.autograde.cli release-all

grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=01_chain_rule"; exit 2; }
	$(BIN)/bpcourse grade $(ASSIGNMENT)

grades: $(STAMP)
	$(BIN)/bpcourse export-grades grades/all.csv

# Voila is not a Jupyter server application: it runs as root as it is (and has no --allow-root).
demo: $(STAMP)
	$(BIN)/voila demos/explorers.ipynb

# reveal.js's style sheets and jQuery (which Voila's reveal template uses to scroll tall slides),
# from npm, in the venv beside Voila's reveal template, so that the slides need no network:
# Voila serves them under /voila/static/. The reveal.js version is the one whose script Voila's
# reveal template bundles (the style sheets must match it).
REVEAL_JS     ?= 6.0.1
JQUERY        ?= 3.7.1
REVEAL_STATIC := $(VENV)/share/jupyter/voila/templates/reveal/static
REVEAL_ASSETS := $(REVEAL_STATIC)/jquery.min.js

slides: $(STAMP) $(REVEAL_ASSETS)
	$(BIN)/voila --template=reveal --HTMLExporter.jquery_url=/voila/static/jquery.min.js --VoilaConfiguration.resources="{'reveal': {'url_prefix': '/voila/static', 'scroll': True, 'width': 1100, 'height': 800}}" demos/explorers.ipynb

slides-assets: $(REVEAL_ASSETS)

# What the tests use when npm is there (the offline-slides test says it is skipped otherwise).
test-assets: | $(STAMP)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory slides-assets; \
	else echo "npm not found: the offline-slides test will be skipped"; fi

$(REVEAL_ASSETS): | $(STAMP)
	@command -v npm >/dev/null || { echo "make slides needs npm once to fetch reveal.js (Debian: apt-get install npm)"; exit 2; }
	rm -rf $(VENV)/share/bpcourse-npm $(REVEAL_STATIC)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/share/bpcourse-npm reveal.js@$(REVEAL_JS) jquery@$(JQUERY)
	mkdir -p $(REVEAL_STATIC)
	cp -R $(VENV)/share/bpcourse-npm/node_modules/reveal.js/dist $(REVEAL_STATIC)/dist
	cp $(VENV)/share/bpcourse-npm/node_modules/jquery/dist/jquery.min.js $(REVEAL_STATIC)/

# A DEMO of the class hub on this machine: deploy/jupyterhub_config.py itself, switched to
# JupyterHub's dummy log-in and simple spawner by BPCOURSE_HUB_DEMO=1 (see that file), with this
# venv as the course environment and scratch folders in $(VENV)/hub-demo. The proxy comes from
# npm once, into the venv. Not for a real class (README, "Running a class on JupyterHub").
CHP_VERSION ?= 5.3.0
CHP := $(VENV)/share/bpcourse-chp/node_modules/.bin/configurable-http-proxy

$(CHP): | $(STAMP)
	@command -v npm >/dev/null || { echo "make hub needs npm once for configurable-http-proxy (Debian: apt-get install npm)"; exit 2; }
	npm install --silent --no-audit --no-fund --prefix $(VENV)/share/bpcourse-chp configurable-http-proxy@$(CHP_VERSION)

hub: $(STAMP) $(CHP)
	BPCOURSE_HUB_DEMO=1 BPCOURSE_ENV=$(abspath $(VENV)) BPCOURSE_CHP=$(abspath $(CHP)) \
		BPCOURSE_HUB_STATE=$(abspath $(VENV))/hub-demo $(BIN)/jupyterhub -f deploy/jupyterhub_config.py

# The class on a real JupyterHub, end to end (root: it creates Unix users). Its own step in CI.
hub-test: $(STAMP) $(CHP)
	BPCOURSE_HUB_E2E=1 $(BIN)/python -m pytest tests/hub -q -s -p no:cacheprovider

benchmarks: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean-venv:
	rm -rf $(VENV)
