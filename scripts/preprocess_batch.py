"""Batch rule preprocess: crop, bin, normalise each spectrum of a batch."""

from _common import batching, campaign

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with campaign.logged(sm.log[0]):
    batching.preprocess_many(list(sm.input), list(sm.output), sm.params.spec, log_path=sm.log[0])
