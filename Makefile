# Every target creates .venv when it is missing, so each works on a fresh clone with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
XRAY   := $(VENV)/bin/xray
STAMP  := $(VENV)/.installed

# Options for `make report`, e.g. make report ARGS="--dataset folder --data-dir data/chest_xray"
ARGS ?=

.PHONY: setup git-filter test lint report demo bench lab clean-venv

# `make` alone: the venv, the project kernel and the notebook filter
setup: $(STAMP) git-filter

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@# the project kernel, visible to any JupyterLab of this user (the notebooks name it in their metadata)
	$(PY) -m ipykernel install --user --name cxr-transfer --display-name "Python 3 (cxr-transfer)" >/dev/null
	@touch $(STAMP)

# Notebook outputs never reach git: nbstripout cleans each notebook as it is staged (.gitattributes names the
# filter, this defines it in .git/config), keeping the cell ids; the file on disk keeps its outputs.
git-filter: $(STAMP)
	@if git rev-parse --git-dir >/dev/null 2>&1; then \
	  $(VENV)/bin/nbstripout --install --attributes .gitattributes && \
	  git config filter.nbstripout.clean '"$(abspath $(PY))" -m nbstripout --keep-id'; \
	fi

test: setup
	$(PY) -m pytest

# ruff, configured in pyproject.toml (pyflakes, pycodestyle, import order, bugbear; lines up to 120)
lint: setup
	$(VENV)/bin/ruff check .

report: setup
	$(XRAY) report $(ARGS)

demo: setup
	$(XRAY) demo $(ARGS)

bench: setup
	$(PY) benchmarks/bench.py $(ARGS)

lab: setup
	$(VENV)/bin/jupyter lab notebooks/

clean-venv:
	rm -rf $(VENV)
