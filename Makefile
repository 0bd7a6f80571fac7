# Quick start: `make grade` and `make test`. Each installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
# Offline and quiet by default; `make grade PROFILE=full` on a GPU machine with the weights.
PROFILE ?= tiny
JOBS ?= 2
export DPR_PROFILE ?= $(PROFILE)
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_VERBOSITY ?= error

.PHONY: install grade test test-slow test-all secrets lint-workflows docs build validate expect clean

$(INSTALLED): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first and pinned: an unpinned torch would pull gigabytes of CUDA packages.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

install: $(INSTALLED)

grade: $(INSTALLED)  ## grade the bundled sample submissions and print the score table
	$(PY) -m autograder grade --profile $(PROFILE) --jobs $(JOBS)

test: $(INSTALLED)  ## the quick tier, what a change is tried with: all but the long end-to-end runs
	$(PY) -m pytest -m "not slow" --durations=10

test-slow: $(INSTALLED)  ## the long end-to-end runs: every sample graded, notebooks run, stand-in
	$(PY) -m pytest -m slow --durations=15

test-all: $(INSTALLED)  ## the whole suite: both tiers in one run (CI runs them one after the other)
	$(PY) -m pytest

secrets: $(INSTALLED)  ## fail if a token-shaped secret (HF, GitHub, AWS, ...) is in the tree
	$(PY) -m autograder.commands.secret_scan

lint-workflows: $(INSTALLED)  ## actionlint over the GitHub Actions workflows (CI runs it)
	$(VENV)/bin/actionlint .github/workflows/*.yml

docs: $(INSTALLED)  ## the documentation site from docs/ into site/ (mkdocs-material); a broken link fails it
	$(VENV)/bin/mkdocs build --strict --site-dir site

build: $(INSTALLED)  ## regenerate notebooks/ and samples/submitted/ from solutions/
	$(PY) -m autograder build

validate: $(INSTALLED)
	$(PY) -m autograder validate --profile $(PROFILE)

expect: $(INSTALLED)  ## regenerate the tiny profile's expected values
	$(PY) -m autograder expect

clean:
	rm -rf $(VENV) .venv-newest grading .pytest_cache site
