"""Rule ingest: raw spectrum file -> Zarr dataset, or an error marker for a bad file."""

from _common import ingest, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    ingest.ingest(sm.input[0], sm.output[0], sm.params.spec, log_path=sm.log[0])
