# Integrate: manifest rows with the same `group` value are fitted jointly (shared parameters
# tied as in config integration.groups) and separately; the verdict compares the free energies.

from bayespec.workflow import campaign_integrate

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
        lambda wildcards: [paths.path(R, paths.PREPROCESS, id=i) for i in GROUPS[wildcards.group]],
    output:
        csv=report(
            paths.path(R, paths.INTEGRATION, ext="csv"),
            caption="../report/integration.rst",
            category="Integration",
            subcategory="{group}",
            labels={"group": "{group}", "item": "table"},
        ),
        png=report(
            paths.path(R, paths.INTEGRATION, ext="png"),
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
        expand(paths.path(R, paths.INTEGRATION, ext="csv"), group=list(GROUPS)),
    output:
        report(
            paths.path(R, paths.INTEGRATION_TSV),
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
