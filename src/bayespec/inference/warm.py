"""Warm starts: a fit whose chains start from another fit's posterior draws (the previous
frame of a series, README "Series"), so that its burn-in can be shorter.

Only the starting point changes: the chains, their seeds, the ladder, the step adaptation and
the free energy are those of a cold start, so a warm-started fit gives the cold one's numbers
within their error bars (tests/test_warm.py) whenever the burn-in suffices. The draws must be
of the same model (shape, K, background, priors' layout); draws outside the current priors'
support are dropped.
"""

from __future__ import annotations

import dataclasses
import os
from types import SimpleNamespace

import numpy as np

from ..errors import ConfigError
from ..models.model import Problem
from .summary import pack_draws

__all__ = ["warm_start", "with_start"]


def with_start(problem: Problem, draws: np.ndarray, source: str = "the given draws") -> Problem:
    """``problem`` whose chains start from ``draws`` (M, P) in its packed layout: the rows
    inside every prior's support (ConfigError when none is, or the width differs)."""
    if not isinstance(problem, Problem) or problem.shirley_dir:
        raise ConfigError(f"warm start from {source}: only one-shape models on the "
                          f"single-parameter kernel (no composite model, no active Shirley "
                          f"background, sampler.moves: single)")
    draws = np.asarray(draws, dtype=float)
    P = len(problem.priors)
    if draws.ndim != 2 or draws.shape[1] != P:
        raise ConfigError(f"warm start from {source}: draws of shape {draws.shape} do not fit "
                          f"the model's {P} parameters ({', '.join(problem.param_names)}); "
                          f"start from a fit of the same model and K")
    lp = sum(pr.logpdf(draws[:, i]) for i, pr in enumerate(problem.priors)) if P else \
        np.zeros(draws.shape[0])
    keep = np.isfinite(lp)
    if not keep.any():
        raise ConfigError(f"warm start from {source}: no draw lies inside the priors' support; "
                          f"the priors changed, start cold")
    return dataclasses.replace(problem, start=draws[keep])


def warm_start(problem: Problem, store: str | os.PathLike) -> Problem:
    """``problem`` whose chains start from the posterior draws in the fit store ``store``
    (written by `bayespec fit` or a campaign's fit job for the same model and K)."""
    from ..io.store import read_fit

    tree = read_fit(store, groups=("posterior",))
    if int(tree.attrs["K"]) != problem.K or str(tree.attrs["shape"]) != problem.shape.name \
            or "components" in tree.attrs:
        raise ConfigError(f"warm start from {store}: it holds K={tree.attrs['K']} "
                          f"{tree.attrs['shape']}, the fit is K={problem.K} "
                          f"{problem.shape.name}; start from a fit of the same model and K")
    ds = tree["posterior"].to_dataset()
    post = {k: np.asarray(ds[k].values) for k in ds.data_vars}
    if "background" not in post:  # a model without background coefficients
        first = next(iter(post.values()))
        post["background"] = np.zeros(first.shape[:2] + (0,))
    try:
        draws = pack_draws(problem, SimpleNamespace(posterior=post))
    except KeyError as e:
        raise ConfigError(f"warm start from {store}: its posterior has no {e}; start from a "
                          f"fit of the same model") from None
    return with_start(problem, draws, str(store))
