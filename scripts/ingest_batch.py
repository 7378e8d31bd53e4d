"""Batch rule ingest: each raw spectrum file of a batch -> Zarr dataset or error marker."""

from _common import batching, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    status = batching.ingest_many(list(sm.input), list(sm.output.stores), sm.params.spec,
                                  log_path=sm.log[0])
    batching.write_index(sm.output.index, sm.params.spectra, sm.output.stores, status)
