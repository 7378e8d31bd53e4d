# bayespec campaign workflow: many spectra -> peaks, noise and model probabilities.
#
#   snakemake --profile workflow/profiles/default                # the demo campaign, all cores
#   snakemake --profile workflow/profiles/default --configfile config/paper.yaml
#   snakemake --report results/report.html                       # HTML report with captions
#
# Stages (workflow/rules/): demo data -> ingest -> preprocess -> fit (one job per spectrum
# and K) -> select -> summarise -> figures; integration groups (manifest column group) -> integrate. Config: config/config.yaml (schema
# workflow/schemas/config.schema.yaml); manifest: config/spectra.tsv (schema
# workflow/schemas/spectra.schema.yaml).

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/fit.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/batch.smk"
include: "workflow/rules/summarise.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/integrate.smk"
include: "workflow/rules/series.smk"


rule all:
    input:
        C.final_outputs(),
        INTEGRATION_OUTPUTS,
    default_target: True
    localrule: True


onsuccess:
    print(campaign.failure_report(f"{R}/summary.tsv", L))


onerror:
    print(campaign.error_hint(L))
