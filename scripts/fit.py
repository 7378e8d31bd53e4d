"""Rule fit: one (spectrum, K) exchange Monte Carlo fit -> one Zarr store (or a marker)."""

from _common import fit, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    fit.fit_one(sm.input.spectrum, sm.output[0], sm.params.fit, sm.wildcards.K,
                threads=sm.threads, spectrum=sm.wildcards.id, log_path=sm.log[0],
                checkpoint=getattr(sm.params, "checkpoint", None),
                warm=(sm.input.warm[0], sm.params.warm_burn_in) if sm.input.warm else None)
