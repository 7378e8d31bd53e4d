# Ingest: raw spectrum file -> small Zarr dataset (x, y, sd, units, metadata). A file that
# cannot be read becomes an error marker (status 'error: <file: line: cause>'), not a failed job.


rule ingest:
    wildcard_constraints:
        id=SINGLE_ID,
    input:
        lambda wildcards: C.source(wildcards.id),
    output:
        directory(paths.path(R, paths.INGEST)),
    params:
        spec=lambda wildcards: C.ingest_params(wildcards.id),
    log:
        f"{L}/ingest/{{id}}.log",
    conda:
        ENV
    script:
        "../../scripts/ingest.py"
