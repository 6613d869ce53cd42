# calolib: two commands do everything on a fresh machine (Python 3.11 + pip):
#   make reports   -> venv, embedded dataset, every study report under reports/
#   make test      -> venv, the test suite
PY      ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.calolib-installed
PRESET  ?= quick
JOBS    ?= 2
export MPLBACKEND := agg
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: venv test test-fast reports data lab bench clean help

help:
	@echo "make reports   regenerate every report on the embedded dataset (creates .venv)"
	@echo "make test      run the test suite (creates .venv)"
	@echo "make lab       open the notebooks in JupyterLab"
	@echo "make bench     run the benchmarks (JSON under reports/bench/)"

$(BIN)/python:
	$(PY) -m venv $(VENV)

# (Re)install whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

venv: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) --timeout 900 -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(JOBS) -q -m "not slow and not notebook"

data: $(STAMP)
	$(BIN)/calolib data make --out data/synthetic_ds2.h5 --if-missing

reports: $(STAMP) data
	$(BIN)/calolib reports --preset $(PRESET)

# JupyterLab at the project root (so jupytext.toml is found and .py/.ipynb pairing works), opened on
# notebooks/; jupyter/ holds the settings shipped with the repo (a double-click opens a .py as a notebook).
# Headless: make lab LAB_ARGS="--no-browser --ServerApp.ip=127.0.0.1 --port 8899"
LAB_ARGS ?=
lab: $(STAMP)
	env -u MPLBACKEND JUPYTER_CONFIG_PATH="$(CURDIR)/jupyter$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}" \
	  $(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

bench: $(STAMP)
	$(BIN)/calolib bench synthetic
	$(BIN)/calolib bench sampler
	$(BIN)/calolib bench generate $(if $(wildcard reports/runs/quick/best.pt),--model reports/runs/quick/best.pt)
	$(BIN)/calolib bench widget $(if $(wildcard reports/runs/quick/best.pt),--model reports/runs/quick/best.pt)

clean:
	rm -rf $(VENV) .pytest_cache
