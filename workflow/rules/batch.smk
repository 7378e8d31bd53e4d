# Batch jobs (config `batch_size` > 1): one job per batch of spectra for ingest, preprocess and
# select, and one per (batch, K) for the fit, writing the same per-spectrum outputs as the
# per-spectrum rules (which then match no id). Batches group spectra with equal fit settings,
# in manifest order (bayespec.workflow.batching.plan). Rules are generated here, one per batch
# and stage.
# Each batch job also writes its batch index (results/batches/...: spectrum, store, status),
# and the next stage depends on that one file, not on the batch's stores: Snakemake's scheduler
# stats every input of every ready job whenever it selects jobs (see bayespec.workflow.batching).


def _fit_params_of(ids):
    return lambda wildcards: [C.fit_params(i, wildcards.K) for i in ids]


def _index(stage, label):
    return paths.path(R, paths.BATCH_INDEX, stage=stage, label=label)


for _n, (_label, _ids) in enumerate(BATCHES.items()):

    rule:
        name:
            f"ingest_batch_{_n}"
        input:
            [C.source(i) for i in _ids],
        output:
            stores=[directory(paths.path(R, paths.INGEST, id=i)) for i in _ids],
            index=_index("ingest", _label),
        params:
            spec=[C.ingest_params(i) for i in _ids],
            spectra=_ids,
        log:
            f"{L}/ingest/batch/{_label}.log",
        conda:
            ENV
        script:
            "../../scripts/ingest_batch.py"

    rule:
        name:
            f"preprocess_batch_{_n}"
        input:
            _index("ingest", _label),
        output:
            stores=[directory(paths.path(R, paths.PREPROCESS, id=i)) for i in _ids],
            index=_index("preprocess", _label),
        params:
            sources=[paths.path(R, paths.INGEST, id=i) for i in _ids],
            spec=[C.preprocess_params(i) for i in _ids],
            spectra=_ids,
        log:
            f"{L}/preprocess/batch/{_label}.log",
        conda:
            ENV
        script:
            "../../scripts/preprocess_batch.py"

    rule:
        name:
            f"fit_batch_{_n}"
        input:
            _index("preprocess", _label),
        output:
            stores=[directory(paths.path(R, paths.FIT, id=i)) for i in _ids],
            index=_index("fit", f"{_label}/K{{K}}"),
        params:
            sources=[paths.path(R, paths.PREPROCESS, id=i) for i in _ids],
            fit=_fit_params_of(_ids),
            spectra=_ids,
            # outside the outputs: Snakemake deletes the outputs of a failed (killed) job
            checkpoint=paths.path(R, paths.BATCH_CHECKPOINT, label=_label),
        threads: config["threads_per_fit"]
        priority: campaign.fit_priority
        resources:
            **C.fit_resources(),
        log:
            f"{L}/fit/batch/{_label}/K{{K}}.log",
        benchmark:
            f"{L}/benchmarks/fit/batch/{_label}/K{{K}}.tsv"
        conda:
            ENV
        script:
            "../../scripts/fit_batch.py"

    rule:
        name:
            f"select_batch_{_n}"
        input:
            [_index("fit", f"{_label}/K{K}") for K in C.Ks(_ids[0])],
        output:
            table=[paths.path(R, paths.MODEL_SELECTION, id=i) for i in _ids],
            peaks=[paths.path(R, paths.SELECT_PEAKS, id=i) for i in _ids],
            info=[paths.path(R, paths.SELECT_INFO, id=i) for i in _ids],
        params:
            stores=[C.fit_stores(i) for i in _ids],
            spectra=_ids,
        log:
            f"{L}/select/batch/{_label}.log",
        conda:
            ENV
        script:
            "../../scripts/select_batch.py"
