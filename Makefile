# Quick start: `make demo` and `make test` each set up .venv (pinned, envs/requirements.txt).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench venv clean

venv: $(STAMP)

$(STAMP): envs/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r envs/requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/bayespec fit examples/demo/nagata2012.csv --config examples/demo/fit.yaml --out results/demo
	$(VENV)/bin/bayespec summary results/demo
	$(VENV)/bin/bayespec plot results/demo
	@echo "Results: results/demo (model_selection.csv, K*.zarr, figures/)"

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/bench_nagata.py

clean:
	rm -rf $(VENV) results
