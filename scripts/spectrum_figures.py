"""Rule spectrum_figures: fit, F vs K, F vs noise sd, positions, swap acceptance (PNG + PDF)."""

from pathlib import Path

from _common import entry_name, figures, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    figures.spectrum_figures(entry_name(sm.wildcards.id), sm.input.stores,
                             sm.input.table, sm.input.info, Path(sm.output.fit).parent)
