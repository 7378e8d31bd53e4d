"""Rule integration_summary: one row per integration group (F_joint vs F_separate, verdict)."""

from _common import campaign_integrate, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    campaign_integrate.integration_summary(sm.input, sm.params.names, sm.params.members,
                                           sm.output[0])
