# Summarise: the campaign table, one row per spectrum (TSV and Parquet).


rule summarise:
    input:
        info=expand(paths.path(R, paths.SELECT_INFO), id=C.ids),
        peaks=expand(paths.path(R, paths.SELECT_PEAKS), id=C.ids),
        # the integration groups' verdicts (integrate.smk), when there are groups
        integration=lambda wildcards: [paths.path(R, paths.INTEGRATION_TSV)] if GROUPS else [],
    output:
        tsv=report(
            paths.path(R, paths.SUMMARY_TSV),
            caption="../report/summary.rst",
            category="Campaign",
            labels={"table": "summary"},
        ),
        parquet=paths.path(R, paths.SUMMARY_PARQUET),
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
