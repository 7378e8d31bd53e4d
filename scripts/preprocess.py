"""Rule preprocess: crop to the region of interest, bin, normalise (markers pass through)."""

from _common import markers, preprocess

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    preprocess.preprocess(sm.input[0], sm.output[0], sm.params.spec, log_path=sm.log[0])
