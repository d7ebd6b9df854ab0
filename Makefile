# Everything runs from .venv; `make serve` and `make test` install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: install install-dev serve demo download download-safety-checker retention worker test test-py310 lint typecheck check clean bench bench-quick

$(VENV)/.base: pyproject.toml requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

# Test tools and the optimum engine. pip takes whichever torch==2.13.0 wheel the index
# serves (from PyPI on Linux that can be a multi-GB CUDA build): the README tells Linux users
# to install the CPU-only wheel from https://download.pytorch.org/whl/cpu first, and pip then
# keeps it. torchvision is removed because a CUDA torchvision beside a CPU torch breaks every
# import, and SD needs none of it.
$(VENV)/.dev: $(VENV)/.base
	$(PY) -m pip install --quiet -e ".[test,optimum]"
	$(PY) -m pip uninstall --quiet --yes torchvision 2>/dev/null || true
	touch $@

# The optimum extra alone (torch, diffusers), for converting the safety checker, without the
# test tools; nothing to install where install-dev ran. torchvision removed as above.
$(VENV)/.optimum: $(VENV)/.base
	test -f $(VENV)/.dev || $(PY) -m pip install --quiet -e ".[optimum]"
	test -f $(VENV)/.dev || $(PY) -m pip uninstall --quiet --yes torchvision 2>/dev/null || true
	touch $@

# The service with the default engine (openvino-genai): no torch, diffusers or optimum-intel.
install: $(VENV)/.base

# Also the test tools and the optimum engine; test, lint, typecheck and bench install it.
install-dev: $(VENV)/.dev

# Serves on 127.0.0.1:8000. Downloads a missing model in the background unless
# AUTO_DOWNLOAD_MODELS is set (in the environment or .env).
serve: $(VENV)/.base
	$(PY) -m entrypoints.cli serve --download-missing

# The demo paces its steps so the progress and previews can be watched (`local-sd demo`).
demo: $(VENV)/.base
	$(PY) -m entrypoints.cli demo

download: $(VENV)/.base
	$(PY) download_models.py

# The model's safety checker, converted once for OpenVINO into SAFETY_CHECKER_DIR; torch is
# needed for the conversion only, the server runs the checker with openvino alone.
download-safety-checker: $(VENV)/.optimum
	$(PY) download_models.py --safety-checker

# The shared queue's engine (SAQ on Redis), for QUEUE_URL; nothing to install where
# install-dev ran.
$(VENV)/.cluster: $(VENV)/.base
	test -f $(VENV)/.dev || $(PY) -m pip install --quiet -e ".[cluster]"
	touch $@

# This PC renders for the service whose queue is at QUEUE_URL (README "Several machines").
worker: $(VENV)/.cluster
	$(PY) -m entrypoints.cli worker

# Apply RETENTION_MAX_IMAGES / RETENTION_MAX_AGE_DAYS now and list what was removed.
retention: $(VENV)/.base
	$(PY) -m entrypoints.cli retention

test: $(VENV)/.dev
	$(PY) -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev
	$(BIN)/mypy .

# What CI runs (with test-py310): ruff, the format check, mypy, the import contracts, the tests.
check: lint typecheck test

# The oldest Python we support runs every test that needs neither an OpenVINO model nor a
# browser, in a venv of its own without the optimum engine. pyenv's 3.10 where there is one.
PYTHON310 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python) python3.10)
VENV310 := .venv310

$(VENV310)/.base: pyproject.toml requirements.txt
	@command -v $(PYTHON310) >/dev/null || { echo "No Python 3.10: run make test-py310 PYTHON310=/path/to/python3.10" >&2; exit 1; }
	test -x $(VENV310)/bin/python || $(PYTHON310) -m venv $(VENV310)
	$(VENV310)/bin/python -m pip install --quiet --upgrade pip
	$(VENV310)/bin/python -m pip install --quiet -e ".[test-base]"
	touch $@

test-py310: $(VENV310)/.base
	$(VENV310)/bin/python -m pytest -m "not openvino" --ignore=tests/browser

# Every configuration back to back on the full-size random-weight SD 1.5 (built once, offline,
# into bench/cache/); writes BENCHMARKS.md and bench/results.json. Options: BENCH_ARGS="--help".
bench: $(VENV)/.dev
	HF_HUB_OFFLINE=1 $(PY) -m bench.run $(BENCH_ARGS)

# 256x256, 4 steps, 1 run, into bench/cache/quick/: for iteration, not for the record.
bench-quick: $(VENV)/.dev
	HF_HUB_OFFLINE=1 $(PY) -m bench.run --quick $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(VENV310) .pytest_cache .mypy_cache .ruff_cache
