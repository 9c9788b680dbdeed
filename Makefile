# Every target creates .venv when it is missing, so each works on a fresh clone with Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
XRAY   := $(VENV)/bin/xray
STAMP  := $(VENV)/.installed

# Options for `make report`, e.g. make report ARGS="--dataset folder --data-dir data/chest_xray"
ARGS ?=

.PHONY: test report demo bench lab clean-venv

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@# the project kernel, visible to any JupyterLab of this user (the notebooks name it in their metadata)
	$(PY) -m ipykernel install --user --name cxr-transfer --display-name "Python 3 (cxr-transfer)" >/dev/null
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

report: $(STAMP)
	$(XRAY) report $(ARGS)

demo: $(STAMP)
	$(XRAY) demo $(ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench.py $(ARGS)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

clean-venv:
	rm -rf $(VENV)
