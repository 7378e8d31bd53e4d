"""Batch rule select: model-selection table, p(K|D) and peak table for each spectrum of a batch."""

from _common import batching, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    batching.select_many(sm.params.stores, sm.output.table, sm.output.peaks, sm.output.info,
                         sm.params.spectra, log_path=sm.log[0])
