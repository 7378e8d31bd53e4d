"""Fit a spectrum with a config: the work behind `bayespec fit` and :func:`bayespec.fit`.

:func:`fit_spectrum_config` is the one computation both run (problems, sampling, predictive
bands, the selection table); :func:`fit_to_dir` reads a file, runs it and writes the outputs
with :func:`write_fit_outputs`."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import FitConfig
from ..errors import ConfigError
from ..io.spectrum import Spectrum, describe_source, read_spectrum
from ..io.store import write_fit, write_table_atomic
from ..models.composite import build_composite
from ..models.model import Problem, build_problem
from ..sampling import checkpoint
from ..sampling.seeds import predictive_seq
from .composite import candidates, fit_composite
from .fit import fit_problems, settings_from_config
from .result import KFit
from .selection import format_table, selection_table
from .summary import predictive_band

SELECTION_FILE = "model_selection.csv"
#: the driver's progress callback: (job, chain, sweeps done, total sweeps), see chunked.run_many
ProgressFn = Callable[[int, int, int, int], None]


@dataclass
class FitOutputs:
    """What one `bayespec fit` computes: a Problem and a KFit per K (the KFits with their
    predictive bands) and the selection table (model_selection.csv's frame)."""

    problems: list[Problem]
    fits: list[KFit]
    table: pd.DataFrame


def checkpoint_path(data: str | Path, checkpoint_dir: str | Path,
                    read_options: Mapping[str, Any] | None = None) -> Path:
    """The checkpoint file of fitting ``data``: DIR/<data file stem>.checkpoint.npz, with the
    reader options in the name when given (DIR/stack.index-3.checkpoint.npz: one file per row
    of a stack)."""
    tag = "".join(f".{k}-{v}" for k, v in sorted((read_options or {}).items()) if v is not None)
    tag = re.sub(r"[^\w.-]", "_", tag)
    return Path(checkpoint_dir) / f"{Path(data).stem}{tag}.checkpoint.npz"


def add_predictive(problems: list[Problem], fits: list[KFit], seed: int) -> None:
    """Set every fit's ``predictive`` band (summary.predictive_band), seeded per candidate from
    the sampler seed: SeedSequence(seed, spawn_key=(K, 99)), or (K_1, ..., K_C, 99) for a
    composite model's candidate."""
    for prob, f in zip(problems, fits):
        key = tuple(c["K"] for c in f.components.values()) if f.components else (f.K,)
        rng = np.random.default_rng(predictive_seq(seed, *key))
        f.predictive = predictive_band(prob, f, rng)


def fit_spectrum_config(spec: Spectrum, cfg: FitConfig, source: str,
                        checkpoint: str | Path | None = None,
                        progress: ProgressFn | None = None) -> FitOutputs:
    """Fit every K of ``cfg`` to ``spec``: build the problems, sample (fit_problems with the
    config's settings; ``checkpoint`` and ``progress`` passed on), add the predictive bands and
    build the selection table. ``source`` names the data in messages. The caller checks that
    an sd column and ``noise.sd`` are not both given (its message names its input)."""
    m = cfg.model
    if m.components:
        problems = composite_candidates(spec, cfg, source)
        fits = fit_composite(problems, settings_from_config(cfg), cfg.raw, checkpoint,
                             progress)
        add_predictive(problems, fits, cfg.sampler.seed)
        return FitOutputs(problems, fits, selection_table(fits))
    problems = [build_problem(spec.x, spec.y, spec.sd, m.shape, K, m.background, m.degree,
                              cfg.priors, source=source, likelihood=m.likelihood,
                              shirley=m.shirley) for K in m.K]
    fits = fit_problems(problems, settings_from_config(cfg), cfg.raw, checkpoint=checkpoint,
                        progress=progress)
    add_predictive(problems, fits, cfg.sampler.seed)
    return FitOutputs(problems, fits, selection_table(fits))


def composite_candidates(spec: Spectrum, cfg: FitConfig, source: str,
                         only: str | None = None) -> list:
    """The candidates of ``cfg``'s composite model (the product of the components' count
    ranges, in model order) bound to ``spec``, ties and offsets resolved; ``only``: just the
    candidate with that label ('1-2', a campaign's fit job)."""
    m = cfg.model
    combos = list(itertools.product(*[c.K for c in m.components]))
    if only is not None:
        combos = [ks for ks in combos if "-".join(map(str, ks)) == only]
        if not combos:
            raise ConfigError(f"{cfg.source}: no candidate {only!r} in model.components")
    probs = [build_composite(spec.x, spec.y, spec.sd,
                             [(c.name, c.shape, k) for c, k in zip(m.components, ks)],
                             m.background, m.degree, cfg.priors, source, m.likelihood,
                             m.shirley, ties=cfg.ties)
             for ks in combos]
    return candidates(probs, list(cfg.ties), dict(cfg.offsets), cfg.source)


def write_fit_outputs(out: str | Path, fits: list[KFit], table: pd.DataFrame) -> Path:
    """Write ``out``/K{label}.zarr for each fit (label: K, or a composite candidate's counts
    joined by '-'), then ``out``/model_selection.csv (last: its presence means every store it
    lists is complete). Returns the table's path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for f in fits:
        write_fit(out / f"K{f.label}.zarr", f)
    return write_table_atomic(out / SELECTION_FILE, format_table(table))


def fit_to_dir(data: str | Path, cfg: FitConfig, out: str | Path,
               checkpoint_dir: str | Path | None = None,
               read_options: Mapping[str, Any] | None = None,
               progress: ProgressFn | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Fit every K of ``cfg`` to the spectrum in ``data``; write ``out``/K{K}.zarr for each K
    and ``out``/model_selection.csv. Every file is written atomically; the table last, so its
    presence means every store it lists is complete. Returns the table and the warnings (every
    fit's sampler warnings; :func:`selected_warnings` are the selected candidate's checks).

    ``read_options``: ``format`` and that format's reader options (``index``, ``nxdata``,
    ``mu``, ``x_col``, ``y_col``, ``sd_col``; see :mod:`bayespec.io.readers`), None values ignored.
    With ``checkpoint_dir`` the sampler state is checkpointed there (see chunked.py): a killed
    run resumes from it when rerun, and it is deleted once the table is written.
    ``progress``: the sampler's progress callback (see chunked.run_many); numbers unchanged."""
    spec = read_spectrum(data, read_options)
    if spec.sd is not None and cfg.noise.sd is not None:
        raise ConfigError(f"{data}: the file has an sd column (per-point noise) and "
                          f"{cfg.source} sets noise.sd; remove noise.sd to use the column, or "
                          f"drop the column to use a single noise level")
    ckpt = None if checkpoint_dir is None else checkpoint_path(data, checkpoint_dir,
                                                               read_options)
    res = fit_spectrum_config(spec, cfg, describe_source(data, read_options), ckpt, progress)
    write_fit_outputs(out, res.fits, res.table)
    checkpoint.remove(ckpt)
    return res.table, [w for f in res.fits for w in f.warnings]


def check_warnings(label: str, diagnostics: Mapping[str, Any]) -> list[str]:
    """Warnings about a candidate's checks (KFit.diagnostics, or a store's ``diagnostics``
    attr read back): it has not converged (with the reasons), it does not describe the data.
    ``label``: the candidate (K, or a composite's counts '1-2')."""
    d, out = diagnostics, []
    if d and not d["converged"]:
        out.append(f"the selected K={label} has not converged: "
                   f"{'; '.join(d['convergence_reasons'])}; its F, p(K|D) and posterior are "
                   f"not reliable (run more sampler.sweeps)")
    if d and not d["adequate"]:
        out.append(d["adequacy_warning"])
    return out


def selected_warnings(fits: list[KFit], table: pd.DataFrame) -> list[str]:
    """:func:`check_warnings` of the selected candidate (largest probability)."""
    if not fits:
        return []
    f = fits[int(np.argmax(table["probability"].to_numpy()))]
    return check_warnings(f.label, f.diagnostics)
