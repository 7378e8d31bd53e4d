"""Stage fit: one K fitted to one preprocessed spectrum (:func:`fit_one`) or to a batch of
them (:func:`fit_many`), each store exactly what ``bayespec fit`` writes for that K."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BayespecError, ConfigError
from ..sampling.seeds import predictive_seq
from .markers import (STATUS_OK, _clean_stale, _error_status, _open_dataset, _propagate, is_ok,
                      log, read_status, write_marker)


def fit_one(src: str | os.PathLike, out: str | os.PathLike, fit_raw: Mapping, K: int | str,
            threads: int | None = None, spectrum: str | None = None,
            log_path: str | None = None, checkpoint: str | os.PathLike | None = None,
            warm: tuple[str | os.PathLike, int] | None = None) -> str:
    """Fit K peaks to the preprocessed spectrum ``src`` and write the store ``out`` with
    :func:`bayespec.io.store.write_fit` (atomic), exactly as ``bayespec fit`` would for that K
    (same seeds: SeedSequence(seed, spawn_key=(K, chain)); predictive band spawn_key (K, 99)).
    ``fit_raw`` is a FIT.yaml mapping; ``threads`` only sets the worker count (the numbers do
    not depend on it). A bayespec error (bad prior for these data, too few points, sd column
    with a known noise sd) writes an error marker; other exceptions propagate.
    ``warm``: (store, burn_in) of a warm start (config series.warm_start): the chains start
    from that store's posterior draws (the previous frame's fit of this K) with that burn-in;
    a failed previous frame means a cold start with the config's burn-in (logged)."""
    sid = spectrum or Path(out).parent.name
    return fit_many([src], [out], [fit_raw], K, threads, [sid], log_path, checkpoint,
                    warms=[warm])[0]


def _fit_problem(src: str | os.PathLike, fit_raw: Mapping, K: int | str, sid: str):
    """(FitConfig, Problem) of one preprocessed spectrum, or for a composite model (K a
    candidate label such as '1-2') (FitConfig, that Candidate); raises BayespecError for bad
    input."""
    from ..config import parse_fit_config
    from ..io.spectrum import Spectrum
    from ..models.model import build_problem

    cfg = parse_fit_config(fit_raw, f"fit of {sid} K={K}")
    ds = _open_dataset(src)
    x = np.asarray(ds["x"], dtype=float)
    y = np.asarray(ds["y"], dtype=float)
    sd = np.asarray(ds["sd"], dtype=float) if "sd" in ds else None
    source = str(ds.attrs.get("source", src))
    if sd is not None and cfg.noise.sd is not None:
        raise ConfigError(f"{source}: the file has an sd column (per-point noise) and the "
                          f"fit config sets noise.sd; remove noise.sd (or the manifest's "
                          f"noise_sd) to use the column")
    m = cfg.model
    if m.components:
        from ..inference.runner import composite_candidates

        (cand,) = composite_candidates(Spectrum(x, y, sd, source), cfg, source, only=str(K))
        return cfg, cand
    return cfg, build_problem(x, y, sd, m.shape, int(K), m.background, m.degree, cfg.priors,
                              source=source, likelihood=m.likelihood, shirley=m.shirley)


def fit_many(srcs: Sequence[str | os.PathLike], outs: Sequence[str | os.PathLike],
             fit_raws: Sequence[Mapping], K: int | str, threads: int | None = None,
             spectra: Sequence[str] | None = None, log_path: str | None = None,
             checkpoint: str | os.PathLike | None = None,
             warms: Sequence[tuple[str | os.PathLike, int] | None] | None = None) -> list[str]:
    """Fit K peaks to several preprocessed spectra in one process (a batch job) and write one
    store per spectrum, each identical to what :func:`fit_one` writes for it alone.

    Spectra whose fit settings (sampler, noise) agree are sampled together: on the Numba backend
    all their (spectrum, chain) tasks share one thread pool; on the array backends spectra that
    also share an axis, model and priors run as one vectorised batch. Seeds are per spectrum
    (SeedSequence(seed, spawn_key=(K, chain))), so batch-mates never change a spectrum's numbers.
    A bayespec error in one spectrum writes its marker; the others are fitted. Returns the
    statuses (same order).
    ``checkpoint``: a file outside the job's outputs (Snakemake deletes the outputs of a failed
    job) for the sampler state (numba backend; ``.g{n}`` is added per settings group when there
    are several): a rerun after a kill resumes from it, one left by another config or batch is
    ignored (logged), and it is deleted once the group's stores are written. SIGTERM writes it
    and raises errors.FitInterrupted (the job fails; rerun it to resume).
    ``warms``: per spectrum None or the (store, burn_in) of a warm start (see fit_one)."""
    from ..sampling.checkpoint import remove as remove_checkpoint
    from ..inference.composite import fit_composite
    from ..inference.fit import fit_problems, resolve_backend, settings_from_config
    from ..io.store import write_fit
    from ..inference.summary import predictive_band

    K = str(K) if "-" in str(K) else int(K)  # a composite candidate's label, or a K
    sids = list(spectra) if spectra is not None else [Path(o).parent.name for o in outs]
    status: list[str | None] = [None] * len(outs)
    todo: dict[str, list[tuple[int, Any, Any]]] = {}  # settings -> [(index, cfg, problem)]
    for i, (src, out, raw, sid) in enumerate(zip(srcs, outs, fit_raws, sids)):
        if not is_ok(read_status(src)):
            status[i] = _propagate(src, out, sid, K=K)
            continue
        _clean_stale(Path(out))
        warm = warms[i] if warms is not None else None
        try:
            cfg, prob = _fit_problem(src, raw, K, sid)
            settings = dataclasses.replace(settings_from_config(cfg), threads=threads)
            if warm is not None and is_ok(read_status(warm[0])):
                from ..inference.warm import warm_start

                prob = warm_start(prob, warm[0])
                cfg = _with_burn_in(cfg, int(warm[1]))
                settings = dataclasses.replace(settings, burn_in=int(warm[1]))
                log.info("%s K=%s: warm start from %s, burn-in %d", sid, K, warm[0], warm[1])
            elif warm is not None:
                log.warning("%s K=%s: the previous frame's fit %s failed: cold start", sid, K,
                            warm[0])
        except BayespecError as e:
            status[i] = _error_status(e)
            log.error("%s K=%s: fit failed: %s", sid, K, status[i])
            write_marker(out, status[i], spectrum=sid, stage="fit", log=log_path, K=K)
            continue
        todo.setdefault(repr(settings), []).append((i, cfg, prob))
    for g, group in enumerate(todo.values()):
        settings = dataclasses.replace(settings_from_config(group[0][1]), threads=threads)
        ck = None
        if checkpoint is not None and resolve_backend(settings.backend) == "numba":
            ck = Path(checkpoint) if len(todo) == 1 else Path(checkpoint).with_suffix(f".g{g}.npz")
        run = fit_composite if group[0][1].model.components else fit_problems
        try:
            fits = run([prob for _, _, prob in group], settings,
                       json.loads(json.dumps(group[0][1].raw)), checkpoint=ck,
                       restart_on_mismatch=True)
        except BayespecError as e:  # e.g. backend cupy without a GPU: every spectrum of it
            for i, _, _ in group:
                status[i] = _error_status(e)
                log.error("%s K=%s: fit failed: %s", sids[i], K, status[i])
                write_marker(outs[i], status[i], spectrum=sids[i], stage="fit", log=log_path,
                             K=K)
            continue
        for (i, cfg, prob), fit in zip(group, fits):
            fit.config = json.loads(json.dumps(cfg.raw))
            if getattr(prob, "start", None) is not None:  # provenance of a warm start
                fit.warm_start = str(warms[i][0])
            key = [c["K"] for c in fit.components.values()] if fit.components else [K]
            rng = np.random.default_rng(predictive_seq(cfg.sampler.seed, *key))
            fit.predictive = predictive_band(prob, fit, rng)
            if len(outs) > 1:
                fit.timing["batch_size"] = float(len(outs))
            write_fit(outs[i], fit)
            for w in fit.warnings:
                log.warning("%s: %s", sids[i], w)
            log.info("%s K=%s: F = %.4f +- %.4f, noise sd %.4g (%s), %d rungs, %.1f s", sids[i],
                     K, fit.free_energy, fit.free_energy_se, fit.noise_sd,
                     "estimated" if fit.noise_estimated else "given", len(fit.ladder.beta),
                     fit.timing.get("wall_seconds", float("nan")))
            status[i] = STATUS_OK
        remove_checkpoint(ck)
    return [str(s) for s in status]


def _with_burn_in(cfg, burn_in: int):
    """``cfg`` with sampler.burn_in set (a warm start's): what the store records."""
    from ..config import with_overrides

    return dataclasses.replace(with_overrides(cfg, sampler={"burn_in": burn_in}),
                               source=cfg.source)


def fit_priority(wildcards: Any) -> int:
    """Snakemake priority of a fit job: its K (wildcard). A fit's run time grows with K, so
    the largest K start first (longest job first) and a campaign does not end on one long fit."""
    return sum(int(k) for k in str(wildcards.K).split("-"))  # a candidate: its total
