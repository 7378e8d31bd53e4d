# Preprocess: crop to the region of interest, optional binning and normalisation.


rule preprocess:
    wildcard_constraints:
        id=SINGLE_ID,
    input:
        paths.path(R, paths.INGEST),
    output:
        directory(paths.path(R, paths.PREPROCESS)),
    params:
        spec=lambda wildcards: C.preprocess_params(wildcards.id),
    log:
        f"{L}/preprocess/{{id}}.log",
    conda:
        ENV
    script:
        "../../scripts/preprocess.py"
