"""Rule spectrum_figures: fit, F vs K, F vs noise sd, positions, swap acceptance (PNG + PDF)."""

from pathlib import Path

from _common import campaign

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with campaign.logged(sm.log[0]):
    campaign.spectrum_figures(campaign.entry_name(sm.wildcards.id), sm.input.stores,
                              sm.input.table, sm.input.info, Path(sm.output.fit).parent)
