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
	$(VENV)/bin/snakemake --profile workflow/profiles/default
	$(VENV)/bin/snakemake --report results/report.html
	@echo "Summary: results/summary.tsv (and results/summary.parquet); figures: results/figures/; report: results/report.html"

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) bench/bench_nagata.py

clean:
	rm -rf $(VENV) results
