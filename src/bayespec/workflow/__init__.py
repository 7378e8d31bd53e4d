"""The Snakemake campaign workflow: one module per stage (see :mod:`bayespec.workflow.campaign`,
which re-exports their public names). Imported by the Snakefile and the rule scripts only: no
library module imports this package (tests/test_layout.py)."""
