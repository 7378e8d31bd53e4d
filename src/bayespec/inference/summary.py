"""Posterior summaries: peak tables with credible intervals, MAP draw, predictive band."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..models.model import Problem
from ..models.shapes import SHAPES
from .result import KFit

if TYPE_CHECKING:  # annotations only: a fit's predictive band needs no xarray (~0.1 s)
    import xarray as xr

QUANTILES = (0.025, 0.5, 0.975)


def _stats(name: str, v: np.ndarray, imap: int) -> dict[str, float]:
    """v: flattened draws (N,). imap: index of the MAP draw."""
    q = np.quantile(v, QUANTILES)
    return {"quantity": name, "mean": float(v.mean()), "sd": float(v.std(ddof=1)),
            "q2.5": q[0], "q50": q[1], "q97.5": q[2], "map": float(v[imap])}


def peak_table(posterior: xr.Dataset, lp: np.ndarray, shape: str) -> pd.DataFrame:
    """One row per (peak, quantity): center, width, amplitude, area, fwhm (and extras).

    posterior: the store's posterior group (peaks already relabelled by center); lp (chain,
    draw) the unnormalised log posterior, whose largest value marks the MAP draw.
    """
    shp = SHAPES[shape]
    imap = int(np.argmax(np.asarray(lp).ravel()))
    rows = []
    K = posterior.sizes.get("peak", 0)
    flat = {k: np.asarray(posterior[k]).reshape(-1, K) for k in posterior.data_vars
            if "peak" in posterior[k].dims}
    extra = np.stack([flat[e] for e in shp.extra], axis=-1) if shp.extra else np.zeros(
        flat["width"].shape + (0,))
    derived = {"area": shp.area(flat["amplitude"], flat["width"], extra),
               "fwhm": shp.fwhm(flat["width"], extra)}
    for k in range(K):
        for name in ("center", "width", "amplitude", *shp.extra, "area", "fwhm"):
            v = derived[name][:, k] if name in derived else flat[name][:, k]
            rows.append({"peak": k, **_stats(name, np.asarray(v, dtype=float), imap)})
    return pd.DataFrame(rows + _background_rows(posterior, imap))


def _background_rows(posterior: xr.Dataset, imap: int) -> list[dict]:
    if "background" not in posterior:
        return []
    bg = np.asarray(posterior["background"])
    return [{"peak": -1, **_stats(f"background[{c}]", bg[..., j].ravel(), imap)}
            for j, c in enumerate(posterior["coef"].values)]


def predictive_band(problem: Problem, fit: KFit, rng: np.random.Generator,
                    max_draws: int = 400) -> dict[str, np.ndarray]:
    """Fitted curve, its 95 % band and the 95 % posterior predictive band of new data.

    Returns (n,) arrays f_mean, f_lo, f_hi (credible band of f(x; w)), y_lo, y_hi (adds the
    noise at the posterior rung) and components (K + 1, n): each peak and the background at
    the posterior-mean parameters of the relabelled draws.
    """
    theta = pack_draws(problem, fit)  # (N, P)
    pick = rng.choice(theta.shape[0], size=min(max_draws, theta.shape[0]), replace=False)
    f = problem.curve(theta[np.sort(pick)])
    if problem.likelihood == "poisson":  # new counts given the mean (valid: f >= 0)
        yrep = rng.poisson(np.maximum(f, 0.0)).astype(float)
    else:
        sd = fit.noise_sd / np.sqrt(problem.w)
        yrep = f + rng.standard_normal(f.shape) * sd
    lo, hi = np.quantile(f, [0.025, 0.975], axis=0)
    ylo, yhi = np.quantile(yrep, [0.025, 0.975], axis=0)
    return {"f_mean": f.mean(axis=0), "f_lo": lo, "f_hi": hi, "y_lo": ylo, "y_hi": yhi,
            "components": problem.components(theta.mean(axis=0))}


def component_table(posterior: xr.Dataset, lp: np.ndarray,
                    components: dict[str, dict]) -> pd.DataFrame:
    """:func:`peak_table` of a composite model's posterior: the rows of each component (its
    ``<component>_<kind>`` variables on dim ``<component>_peak``, its own shape) with a
    ``component`` column, then the background rows (component empty)."""
    parts = []
    for name, c in components.items():
        if not c["K"]:
            continue  # absent in this candidate
        dim = f"{name}_peak"
        keys = [k for k in posterior.data_vars if dim in posterior[k].dims]
        sub = posterior[keys].rename({k: k[len(name) + 1:] for k in keys}).rename({dim: "peak"})
        tab = peak_table(sub, lp, c["shape"])
        tab.insert(0, "component", name)
        parts.append(tab)
    bg = pd.DataFrame(_background_rows(posterior, int(np.argmax(np.asarray(lp).ravel()))))
    if len(bg):
        bg.insert(0, "component", "")
        parts.append(bg)
    return pd.concat(parts, ignore_index=True)


def pack_draws(problem: Problem, fit: KFit) -> np.ndarray:
    """Relabelled posterior draws back into kernel layout, flattened: (chain * draw, P)."""
    if hasattr(problem, "pack_posterior"):  # a composite candidate: its local layout
        return problem.pack_posterior(fit.posterior)
    cols = []
    post = fit.posterior
    for k in range(problem.K):
        for name in problem.peak_vars:
            cols.append(np.asarray(post[name])[..., k].ravel())
    bg = np.asarray(post["background"])
    for j in range(problem.nb):
        cols.append(bg[..., j].ravel())
    n = np.asarray(post["background"]).shape[0] * np.asarray(post["background"]).shape[1]
    return np.stack(cols, axis=-1) if cols else np.zeros((n, 0))
