# Select: gather every K of a spectrum: F(K) table, p(K|D), noise, peak table of the chosen K.


rule select:
    wildcard_constraints:
        id=SINGLE_ID,
    input:
        stores=lambda wildcards: C.fit_stores(wildcards.id),
    output:
        table=paths.path(R, paths.MODEL_SELECTION),
        peaks=paths.path(R, paths.SELECT_PEAKS),
        info=paths.path(R, paths.SELECT_INFO),
    log:
        f"{L}/select/{{id}}.log",
    conda:
        ENV
    script:
        "../../scripts/select.py"
