"""Rule integrate: one integration group -> <results>/integrate/<group>/ (or a failed status)."""

from _common import campaign_integrate, markers

sm = snakemake  # noqa: F821 - injected by Snakemake's script directive
with markers.logged(sm.log[0]):
    campaign_integrate.integrate_group(dict(zip(sm.params.ids, sm.input)), sm.output.csv,
                                       sm.params.group, sm.wildcards.group, threads=sm.threads)
