"""Batch rule ingest: each raw spectrum file of a batch -> Zarr dataset or error marker."""

from _common import batching, campaign

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with campaign.logged(sm.log[0]):
    batching.ingest_many(list(sm.input), list(sm.output), sm.params.spec, log_path=sm.log[0])
