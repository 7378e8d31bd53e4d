"""Model averaging: quantities over the candidate models, weighted by p(model | D).

The selected model is one candidate among several; when p(selected | D) is 0.55 a user should
not pretend it is certain. The model-averaged posterior of a quantity q is the mixture
sum_M p(M | D) p(q | M, D) over the candidates M that contain q, its weights renormalised over
them; ``{q}_p`` is the total probability of those candidates (how sure the data are that q
exists at all).

Which peak of another candidate is "the same" peak: each line of the selected candidate (peaks
sorted by center, per component for a composite model) is matched to a distinct line of every
other candidate with as many or more lines, by the assignment that minimises the summed squared
distance of posterior-mean centers in units of the lines' posterior sd (Hungarian algorithm,
scipy.optimize.linear_sum_assignment). A candidate with fewer lines matches the subset of the
selected lines that suits it best, and lacks the others. So ``peak2_center_avg`` is the position
of the selected model's second peak, averaged over the models that have it.

Pure functions on arrays: the stage (workflow/select.py) reads the stores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from ..models.shapes import LINE_QUANTITIES, SHAPES

__all__ = ["QUANTITIES", "line_draws", "match_lines", "model_average", "weighted_quantile"]

#: the per-line quantities averaged (the campaign summary's peak columns)
QUANTITIES = LINE_QUANTITIES

#: Lines = {component: {quantity: (N, K_c) draws}}; component "" for a one-shape model
Lines = dict[str, dict[str, np.ndarray]]


def line_draws(posterior: xr.Dataset, shape: str,
               components: Mapping[str, Mapping] | None = None) -> Lines:
    """Flattened draws (N = chain * draw, K_c) of center, width, amplitude and area of every
    line of one candidate's (relabelled) posterior: ``{"": ...}`` for a one-shape model with
    ``shape``; ``{component: ...}`` for a composite one (``components``: name -> {shape, K}, the
    store's ``<component>_<kind>`` variables on ``<component>_peak``)."""
    parts = ({"": (shape, "", "peak")} if not components else
             {n: (c["shape"], f"{n}_", f"{n}_peak") for n, c in components.items()})
    out: Lines = {}
    for name, (shp_name, prefix, dim) in parts.items():
        K = posterior.sizes.get(dim, 0)
        if K == 0:
            out[name] = {q: np.zeros((0, 0)) for q in QUANTITIES}
            continue
        shp = SHAPES[shp_name]
        flat = {k[len(prefix):]: np.asarray(posterior[k], dtype=float).reshape(-1, K)
                for k in posterior.data_vars if dim in posterior[k].dims}
        extra = (np.stack([flat[e] for e in shp.extra], axis=-1) if shp.extra
                 else np.zeros(flat["width"].shape + (0,)))
        out[name] = {"center": flat["center"], "width": flat["width"],
                     "amplitude": flat["amplitude"],
                     "area": np.asarray(shp.area(flat["amplitude"], flat["width"], extra),
                                        dtype=float)}
    return out


def match_lines(ref_center: np.ndarray, other_center: np.ndarray) -> np.ndarray:
    """For each reference line (K_r,) the index of its line among the other candidate's
    (-1: none), from (N, K) center draws: the assignment minimising sum ((m_r - m_o) / s)^2 with
    m the posterior means and s^2 the sum of the two posterior variances."""
    from scipy.optimize import linear_sum_assignment

    kr, ko = ref_center.shape[1], other_center.shape[1]
    out = np.full(kr, -1, dtype=np.int64)
    if kr == 0 or ko == 0:
        return out
    mr, mo = ref_center.mean(axis=0), other_center.mean(axis=0)
    var = ref_center.var(axis=0)[:, None] + other_center.var(axis=0)[None, :]
    cost = (mr[:, None] - mo[None, :]) ** 2 / np.maximum(var, np.finfo(float).tiny)
    rows, cols = linear_sum_assignment(cost)
    out[rows] = cols
    return out


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles ``q`` of the discrete distribution of ``values`` (N,) with ``weights`` (N,)
    (>= 0, not all 0): the inverse of the midpoint-interpolated weighted CDF (equal weights
    give numpy's 'linear' quantiles of the Hazen kind)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cdf = (np.cumsum(w) - 0.5 * w) / np.sum(w)
    return np.interp(np.asarray(q, dtype=float), cdf, v)


def model_average(lines: Sequence[Lines], probabilities: np.ndarray, selected: int,
                  K: Sequence[int], noise_sd: Sequence[float] | None = None,
                  quantiles: tuple[float, float] = (0.025, 0.975)) -> dict[str, float]:
    """The model-averaged summary of one spectrum's candidates.

    lines: each candidate's line_draws; probabilities: p(M | D) (M,); selected: the index of
    the selected candidate (its lines name the columns); K: each candidate's total line count;
    noise_sd: each candidate's noise sd (NaN for Poisson), averaged when given.
    Returns ``K_avg`` (posterior mean number of lines), ``noise_sd_avg``, and per line of the
    selected candidate ``{line}_p`` and for q in QUANTITIES ``{line}_{q}_avg``, ``_avg_lo``,
    ``_avg_hi`` (mixture mean and 95 % interval), ``{line}`` being ``peak{k}`` (one shape) or
    ``{component}{k}`` (k from 1, in order of center within the selected candidate).
    """
    p = np.asarray(probabilities, dtype=float)
    out: dict[str, float] = {"K_avg": float(np.sum(p * np.asarray(K, dtype=float)))}
    if noise_sd is not None:
        ns = np.asarray(noise_sd, dtype=float)
        out["noise_sd_avg"] = float(np.sum(p * ns)) if np.all(np.isfinite(ns)) else float("nan")
    for comp, ref in lines[selected].items():
        kr = ref["center"].shape[1]
        # per candidate: which of its lines is each selected line
        maps = [match_lines(ref["center"], c[comp]["center"]) if comp in c
                else np.full(kr, -1, dtype=np.int64) for c in lines]
        maps[selected] = np.arange(kr)
        for k in range(kr):
            col = f"{comp or 'peak'}{k + 1}"
            have = [m for m in range(len(lines)) if maps[m][k] >= 0]
            w_have = p[have]
            out[f"{col}_p"] = float(w_have.sum())
            if w_have.sum() <= 0:  # every candidate with this line is improbable (underflow)
                w_have = np.ones(len(have))
            for q in QUANTITIES:
                vals = [lines[m][comp][q][:, maps[m][k]] for m in have]
                wts = np.concatenate([np.full(v.size, wm / v.size) for v, wm in
                                      zip(vals, w_have)])
                v = np.concatenate(vals)
                lo, hi = weighted_quantile(v, wts, quantiles)
                out[f"{col}_{q}_avg"] = float(np.sum(wts * v) / np.sum(wts))
                out[f"{col}_{q}_avg_lo"] = float(lo)
                out[f"{col}_{q}_avg_hi"] = float(hi)
    return out
