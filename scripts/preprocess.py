"""Rule preprocess: crop to the region of interest, bin, normalise (markers pass through)."""

from _common import campaign

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with campaign.logged(sm.log[0]):
    campaign.preprocess(sm.input[0], sm.output[0], sm.params.spec, log_path=sm.log[0])
