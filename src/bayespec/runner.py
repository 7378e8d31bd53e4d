"""Fit a data file with a config into an output directory (the work behind `bayespec fit`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .config import FitConfig
from .fit import fit_problems, settings_from_config
from .io import read_spectrum
from .model import build_problem
from .selection import format_table, selection_table
from .store import write_fit, write_table_atomic
from .summary import predictive_band

SELECTION_FILE = "model_selection.csv"


def fit_to_dir(data: str | Path, cfg: FitConfig,
               out: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """Fit every K of ``cfg`` to the spectrum in ``data``; write ``out``/K{K}.zarr for each K
    and ``out``/model_selection.csv. Every file is written atomically; the table last, so its
    presence means every store it lists is complete. Returns the table and the warnings."""
    spec = read_spectrum(data)
    m = cfg.model
    if spec.sd is not None and cfg.noise.sd is not None:
        from .errors import ConfigError
        raise ConfigError(f"{data}: the file has an sd column (per-point noise) and "
                          f"{cfg.source} sets noise.sd; remove noise.sd to use the column, or "
                          f"drop the column to use a single noise level")
    problems = [build_problem(spec.x, spec.y, spec.sd, m.shape, K, m.background, m.degree,
                              cfg.priors, source=str(data), likelihood=m.likelihood,
                              shirley=m.shirley) for K in m.K]
    fits = fit_problems(problems, settings_from_config(cfg), cfg.raw)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for prob, f in zip(problems, fits):
        rng = np.random.default_rng(np.random.SeedSequence(cfg.sampler.seed, spawn_key=(f.K, 99)))
        f.predictive = predictive_band(prob, f, rng)
        write_fit(out / f"K{f.K}.zarr", f)
    table = selection_table(fits)
    write_table_atomic(out / SELECTION_FILE, format_table(table))
    return table, [w for f in fits for w in f.warnings]
