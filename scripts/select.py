"""Rule select: model-selection table, p(K|D) and the peak table of the selected K."""

from _common import markers, select

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    select.select(sm.input.stores, sm.output.table, sm.output.peaks, sm.output.info,
                  spectrum=sm.wildcards.id, log_path=sm.log[0])
