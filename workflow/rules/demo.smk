# Demo data: synthetic spectra from known parameters (config demo.spectra) for the manifest
# rows whose path is <results>/demo_data/<id>.csv.


rule demo_data:
    output:
        paths.path(R, paths.DEMO_CSV),
    params:
        spec=lambda wildcards: C.demo_spec(wildcards.id),
    log:
        f"{L}/demo_data/{{id}}.log",
    wildcard_constraints:
        id=C.demo_id_pattern,
    localrule: True
    conda:
        ENV
    script:
        "../../scripts/demo_data.py"
