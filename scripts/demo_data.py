"""Rule demo_data: write one synthetic spectrum from its known parameters."""

from _common import demo, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]) as log:
    demo.write_demo_csv(sm.output[0], sm.wildcards.id, sm.params.spec)
    log.info("%s: wrote %s", sm.wildcards.id, sm.output[0])
