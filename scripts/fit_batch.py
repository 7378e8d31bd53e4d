"""Batch rule fit: K peaks for every spectrum of a batch in one process -> one store each."""

from _common import campaign

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with campaign.logged(sm.log[0]):
    campaign.fit_many(list(sm.input), list(sm.output), sm.params.fit, int(sm.wildcards.K),
                      threads=sm.threads, spectra=sm.params.spectra, log_path=sm.log[0],
                      checkpoint=getattr(sm.params, "checkpoint", None))
