"""Rule demo_data: write one synthetic spectrum from its known parameters."""

from _common import campaign

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with campaign.logged(sm.log[0]) as log:
    campaign.write_demo_csv(sm.output[0], sm.wildcards.id, sm.params.spec)
    log.info("%s: wrote %s", sm.wildcards.id, sm.output[0])
