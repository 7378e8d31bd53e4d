# Summarise: the campaign table, one row per spectrum (TSV and Parquet).


rule summarise:
    input:
        info=expand(f"{R}/select/{{id}}.json", id=C.ids),
        peaks=expand(f"{R}/select/{{id}}.tsv", id=C.ids),
        # the integration groups' verdicts (integrate.smk), when there are groups
        integration=lambda wildcards: [f"{R}/integration.tsv"] if GROUPS else [],
    output:
        tsv=report(
            f"{R}/summary.tsv",
            caption="../report/summary.rst",
            category="Campaign",
            labels={"table": "summary"},
        ),
        parquet=f"{R}/summary.parquet",
    params:
        true_K=C.true_K() if C.has_true_K else None,
        groups={i: r.get("group") for i, r in C.rows.items()},
    log:
        f"{L}/summarise.log",
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/summarise.py"
