"""Rule select: model-selection table, p(K|D) and the peak table of the selected K."""

from _common import campaign

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with campaign.logged(sm.log[0]):
    campaign.select(sm.input.stores, sm.output.table, sm.output.peaks, sm.output.info,
                    spectrum=sm.wildcards.id, log_path=sm.log[0])
