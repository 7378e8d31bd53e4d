"""The campaign's output file names, defined once: one template per kind of output (below),
filled in by :func:`path`. The Campaign methods and the rules (workflow/rules/*.smk) build
every output name with it; a rule leaves a field out to get the Snakemake pattern, e.g.
``path(R, FIT)`` is ``results/fits/{id}/K{K}.zarr``.

Written by: DEMO_CSV demo; INGEST ingest; PREPROCESS preprocess; FIT and FIT_CHECKPOINT fit;
MODEL_SELECTION, SELECT_PEAKS, SELECT_INFO select; SUMMARY_TSV, SUMMARY_PARQUET summarise;
FIGURE (for each of :data:`FIGURES` and :data:`FIGURE_TYPES`) spectrum_figures; CAMPAIGN_FIGURE
campaign_figure; BATCH_INDEX and BATCH_CHECKPOINT the batch jobs; INTEGRATION and
INTEGRATION_TSV integrate and integration_summary; SERIES_TRENDS, SERIES_PARQUET,
SERIES_CHANGES and SERIES_FIGURE series.
"""

from __future__ import annotations

#: per-spectrum figures (each written as PNG and PDF)
FIGURES = ("fit", "free_energy", "noise", "positions", "swap")
#: the file types of each figure
FIGURE_TYPES = ("png", "pdf")


#: the output files, below the results root (config ``results``); ``{id}`` is a spectrum's
#: file key, ``{K}`` a number of peaks, ``{group}`` an integration group, ``{label}`` a batch,
#: ``{series}`` a series
DEMO_DIR = "demo_data"
DEMO_CSV = DEMO_DIR + "/{id}.csv"
INGEST = "ingest/{id}.zarr"
PREPROCESS = "preprocess/{id}.zarr"
FIT = "fits/{id}/K{K}.zarr"
#: outside the fit's outputs: Snakemake deletes the outputs of a failed (killed) job
FIT_CHECKPOINT = "checkpoints/{id}/K{K}.npz"
#: the F(K) table, named as ``bayespec fit`` names it in its output directory
MODEL_SELECTION = "fits/{id}/model_selection.csv"
SELECT_PEAKS = "select/{id}.tsv"
SELECT_INFO = "select/{id}.json"
FIGURE = "figures/{id}/{figure}.{ext}"
SUMMARY_TSV = "summary.tsv"
SUMMARY_PARQUET = "summary.parquet"
CAMPAIGN_FIGURE = "figures/campaign.{ext}"
BATCH_INDEX = "batches/{stage}/{label}.tsv"
BATCH_CHECKPOINT = "checkpoints/batch/{label}/K{K}.npz"
INTEGRATION = "integrate/{group}/integration.{ext}"
INTEGRATION_TSV = "integration.tsv"
#: a series (manifest ``series`` rows or a stack): its trends, model changes and figure
SERIES_TRENDS = "series/{series}/trends.tsv"
SERIES_PARQUET = "series/{series}/trends.parquet"
SERIES_CHANGES = "series/{series}/changes.tsv"
SERIES_FIGURE = "series/{series}/trends.{ext}"


class _Wildcards(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def path(results: str, template: str, **fields: object) -> str:
    """``results/template`` with ``fields`` filled in; a field not given stays a Snakemake
    wildcard: ``path(R, FIT)`` is the pattern ``R/fits/{id}/K{K}.zarr``, ``path(R, FIT,
    id="a", K=2)`` the file ``R/fits/a/K2.zarr``."""
    return f"{results}/{template.format_map(_Wildcards(fields))}"
