"""Batch rule fit: K peaks for every spectrum of a batch in one process -> one store each."""

from _common import batching, fit, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    status = fit.fit_many(sm.params.sources, list(sm.output.stores), sm.params.fit,
                          sm.wildcards.K, threads=sm.threads,
                          spectra=sm.params.spectra, log_path=sm.log[0],
                          checkpoint=getattr(sm.params, "checkpoint", None))
    batching.write_index(sm.output.index, sm.params.spectra, sm.output.stores, status)
