# Integrate: manifest rows with the same `group` value are fitted jointly (shared parameters
# tied as in config integration.groups) and separately; the verdict compares the free energies.

from bayespec import campaign_integrate

try:
    GROUPS, _skipped = campaign_integrate.groups(C, config)
except BayespecError as e:
    raise WorkflowError(str(e)) from None
for _w in _skipped:
    print(f"bayespec: warning: {_w}", file=sys.stderr)
# what `rule all` asks for from this stage (nothing without groups)
INTEGRATION_OUTPUTS = campaign_integrate.outputs(R, GROUPS)


rule integrate:
    input:
        lambda wildcards: [f"{R}/preprocess/{i}.zarr" for i in GROUPS[wildcards.group]],
    output:
        csv=report(
            f"{R}/integrate/{{group}}/integration.csv",
            caption="../report/integration.rst",
            category="Integration",
            subcategory="{group}",
            labels={"group": "{group}", "item": "table"},
        ),
        png=report(
            f"{R}/integrate/{{group}}/integration.png",
            caption="../report/integration_figure.rst",
            category="Integration",
            subcategory="{group}",
            labels={"group": "{group}", "item": "figure"},
        ),
    params:
        group=lambda wildcards: campaign_integrate.group_mapping(C, config, wildcards.group),
        ids=lambda wildcards: GROUPS[wildcards.group],
    threads: config["threads_per_fit"]
    resources:
        **{k: v for k, v in C.fit_resources().items() if k != "gpu"},  # numba only
    log:
        f"{L}/integrate/{{group}}.log",
    wildcard_constraints:
        group=campaign.ID_PATTERN,
    conda:
        ENV
    script:
        "../../scripts/integrate.py"


rule integration_summary:
    input:
        expand(f"{R}/integrate/{{group}}/integration.csv", group=list(GROUPS)),
    output:
        report(
            f"{R}/integration.tsv",
            caption="../report/integration_summary.rst",
            category="Campaign",
            labels={"table": "integration"},
        ),
    params:
        names=list(GROUPS),
        members=GROUPS,
    log:
        f"{L}/integration_summary.log",
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/integration_summary.py"
