# Select: gather every K of a spectrum: F(K) table, p(K|D), noise, peak table of the chosen K.


rule select:
    wildcard_constraints:
        id=SINGLE_ID,
    input:
        stores=lambda wildcards: C.fit_stores(wildcards.id),
    output:
        table=f"{R}/fits/{{id}}/model_selection.csv",
        peaks=f"{R}/select/{{id}}.tsv",
        info=f"{R}/select/{{id}}.json",
    log:
        f"{L}/select/{{id}}.log",
    conda:
        ENV
    script:
        "../../scripts/select.py"
