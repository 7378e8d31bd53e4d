"""Rule campaign_figure: the campaign overview (selected vs true K, p(K|D), noise sd)."""

from pathlib import Path

from _common import figures, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    png = Path(sm.output.png)
    figures.campaign_figures(sm.input[0], png.with_suffix(""))
