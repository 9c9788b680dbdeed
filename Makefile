# Every target creates .venv when it is missing, so each works on a fresh clone with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
XRAY   := $(VENV)/bin/xray
STAMP  := $(VENV)/.installed
# The project kernel lives in this checkout's .venv (never in the user's Jupyter folder, where every clone's
# `make` would overwrite one shared entry); `make lab` puts the venv's Jupyter folder first on its path.
KERNEL := $(VENV)/share/jupyter/kernels/cxr-transfer/kernel.json
LAB_ENV := JUPYTER_PREFER_ENV_PATH=1 JUPYTER_PATH="$(abspath $(VENV))/share/jupyter"
# JupyterLab refuses to run as root unless told to (containers, some VMs)
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# Options for `make report`, e.g. make report ARGS="--dataset folder --data-dir data/chest_xray"
ARGS ?=

.PHONY: setup kernel git-filter test lint report demo bench lab clean-venv

# `make` alone: the venv, the project kernel and the notebook filter
setup: $(STAMP) $(KERNEL) git-filter

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@touch $(STAMP)

# the project kernel, "Python 3 (cxr-transfer)" (the notebooks name it), installed into this checkout's .venv;
# `make kernel` reinstalls it and shows the one JupyterLab started by `make lab` will use
$(KERNEL): $(STAMP)
	$(PY) -m ipykernel install --sys-prefix --name cxr-transfer --display-name "Python 3 (cxr-transfer)" >/dev/null

kernel: $(STAMP)
	$(PY) -m ipykernel install --sys-prefix --name cxr-transfer --display-name "Python 3 (cxr-transfer)" >/dev/null
	@$(LAB_ENV) $(PY) -c "from jupyter_client.kernelspec import KernelSpecManager as M; \
	  s = M().get_kernel_spec('cxr-transfer'); print('cxr-transfer:', s.resource_dir, 'runs', s.argv[0])"

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
	$(LAB_ENV) $(VENV)/bin/jupyter lab $(LAB_ROOT) notebooks/

clean-venv:
	rm -rf $(VENV)
