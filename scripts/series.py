"""Rule series: a series' trends (TSV, Parquet), its model changes and the trends figure."""

from pathlib import Path

from _common import markers, series

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    series.series(sm.wildcards.series, sm.params.orders, sm.input.info, sm.input.peaks,
                  sm.input.tables, sm.output.trends, sm.output.parquet, sm.output.changes,
                  Path(sm.output.pdf).with_suffix(""))
