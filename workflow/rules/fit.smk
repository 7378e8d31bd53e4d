# Fit: one job per (spectrum, K), exchange Monte Carlo, one atomic Zarr store each.


rule fit:
    wildcard_constraints:
        id=SINGLE_ID,
    input:
        spectrum=paths.path(R, paths.PREPROCESS),
        # series.warm_start: the previous frame's store of this K (README "Series")
        warm=lambda wildcards: [w] if (w := C.warm_store(wildcards.id, wildcards.K)) else [],
    output:
        directory(paths.path(R, paths.FIT)),
    params:
        fit=lambda wildcards: C.fit_params(wildcards.id, wildcards.K),
        warm_burn_in=C.warm_burn_in,
        # outside the output: Snakemake deletes the outputs of a failed (killed) job
        checkpoint=paths.path(R, paths.FIT_CHECKPOINT),
    threads: config["threads_per_fit"]
    # larger K runs longer: start it first, so the last jobs of a campaign are short ones
    priority: campaign.fit_priority
    resources:
        **C.fit_resources(),
    log:
        f"{L}/fit/{{id}}/K{{K}}.log",
    benchmark:
        f"{L}/benchmarks/fit/{{id}}/K{{K}}.tsv"
    conda:
        ENV
    script:
        "../../scripts/fit.py"
