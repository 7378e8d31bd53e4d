"""Rule summarise: the campaign table (TSV and Parquet), one row per spectrum."""

from _common import markers, summarise

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    summarise.summarise(sm.input.info, sm.input.peaks, sm.output.tsv, sm.output.parquet,
                        true_K=sm.params.true_K, groups=sm.params.groups,
                        integration=sm.input.integration[0] if sm.input.integration else None)
