"""Fit a data file with a config into an output directory (the work behind `bayespec fit`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import checkpoint
from .config import FitConfig
from .inference.fit import fit_problems, settings_from_config
from .io import describe_source, read_spectrum
from .model import build_problem
from .inference.selection import format_table, selection_table
from .store import write_fit, write_table_atomic
from .summary import predictive_band

SELECTION_FILE = "model_selection.csv"


def checkpoint_path(data: str | Path, checkpoint_dir: str | Path,
                    read_options: Mapping[str, Any] | None = None) -> Path:
    """The checkpoint file of fitting ``data``: DIR/<data file stem>.checkpoint.npz, with the
    reader options in the name when given (DIR/stack.index-3.checkpoint.npz: one file per row
    of a stack)."""
    tag = "".join(f".{k}-{v}" for k, v in sorted((read_options or {}).items()) if v is not None)
    tag = re.sub(r"[^\w.-]", "_", tag)
    return Path(checkpoint_dir) / f"{Path(data).stem}{tag}.checkpoint.npz"


def fit_to_dir(data: str | Path, cfg: FitConfig, out: str | Path,
               checkpoint_dir: str | Path | None = None,
               read_options: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Fit every K of ``cfg`` to the spectrum in ``data``; write ``out``/K{K}.zarr for each K
    and ``out``/model_selection.csv. Every file is written atomically; the table last, so its
    presence means every store it lists is complete. Returns the table and the warnings.

    ``read_options``: ``format`` and that format's reader options (``index``, ``nxdata``,
    ``mu``, ``x_col``, ``y_col``, ``sd_col``; see :mod:`bayespec.readers`), None values ignored.
    With ``checkpoint_dir`` the sampler state is checkpointed there (see chunked.py): a killed
    run resumes from it when rerun, and it is deleted once the table is written."""
    spec = read_spectrum(data, read_options)
    m = cfg.model
    if spec.sd is not None and cfg.noise.sd is not None:
        from .errors import ConfigError
        raise ConfigError(f"{data}: the file has an sd column (per-point noise) and "
                          f"{cfg.source} sets noise.sd; remove noise.sd to use the column, or "
                          f"drop the column to use a single noise level")
    source = describe_source(data, read_options)
    problems = [build_problem(spec.x, spec.y, spec.sd, m.shape, K, m.background, m.degree,
                              cfg.priors, source=source, likelihood=m.likelihood,
                              shirley=m.shirley) for K in m.K]
    ckpt = None if checkpoint_dir is None else checkpoint_path(data, checkpoint_dir,
                                                               read_options)
    fits = fit_problems(problems, settings_from_config(cfg), cfg.raw, checkpoint=ckpt)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for prob, f in zip(problems, fits):
        rng = np.random.default_rng(np.random.SeedSequence(cfg.sampler.seed, spawn_key=(f.K, 99)))
        f.predictive = predictive_band(prob, f, rng)
        write_fit(out / f"K{f.K}.zarr", f)
    table = selection_table(fits)
    write_table_atomic(out / SELECTION_FILE, format_table(table))
    checkpoint.remove(ckpt)
    return table, [w for f in fits for w in f.warnings]
