"""Preprocessing steps as pure functions on (x, y, sd) arrays, and :func:`run` that applies the
configured ones in a fixed order and returns a record of what it did.

Order: binding_energy (x -> E_exc - x, re-sorted increasing) -> roi (crop) -> bin -> subtract
(linear or Shirley background) -> normalise. Every step is optional; each returns new arrays
(x increasing, shape (n,)) and a dict of its parameters and results, which the campaign stores
in the preprocessed dataset's attrs (``preprocessing``, a JSON list in order).

Subtracting an estimated background treats it as exact: its uncertainty is lost and the noise
of the end points leaks into every point. The Bayesian alternative is a parametric background
inside the model (``fit.model.background``: constant, linear, polynomial or exponential), whose
parameters are sampled with the peaks and marginalised in the evidence; prefer it, and use the
subtractions here to reproduce a conventional analysis.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..models.shirley import shirley_background

__all__ = ["KEYS", "SUBTRACTIONS", "NORMALISATIONS", "check_params", "binding_energy", "roi",
           "bin_points", "subtract_linear", "subtract_shirley", "normalise", "run"]

Arrays = tuple[np.ndarray, np.ndarray, "np.ndarray | None"]

SUBTRACTIONS = ("none", "linear", "shirley")
NORMALISATIONS = ("none", "max", "area")
#: every preprocessing key (config ``preprocess`` block and the manifest columns of the same
#: names) with its default
KEYS: dict[str, Any] = {
    "roi_min": None, "roi_max": None, "binding_energy": None, "bin": 1, "subtract": "none",
    "edge_points": 5, "shirley": {}, "normalise": "none", "min_points": 10,
}
_SHIRLEY_KEYS = {"tol": 1e-6, "max_iter": 50, "ends": 5}


def check_params(params: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The full parameter set (defaults filled in) or ConfigError naming ``where`` and the key.
    Extra keys ``spectrum`` (an id for messages) are allowed."""
    out = dict(KEYS)
    for k, v in params.items():
        if k == "spectrum":
            continue
        if k not in KEYS:
            close = difflib.get_close_matches(str(k), KEYS, n=1)
            raise ConfigError(f"{where}: unknown preprocessing key {k!r}"
                              + (f"; did you mean {close[0]!r}?" if close else "")
                              + f" (keys: {', '.join(KEYS)})")
        if v is not None:
            out[k] = v
    for k in ("bin", "edge_points", "min_points"):
        v = out[k]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{where}: {k}: must be an integer >= 1, got {v!r}")
    for k, allowed in (("subtract", SUBTRACTIONS), ("normalise", NORMALISATIONS)):
        if out[k] not in allowed:
            raise ConfigError(f"{where}: {k}: {out[k]!r}; choose one of {', '.join(allowed)}")
    for k in ("roi_min", "roi_max", "binding_energy"):
        v = out[k]
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))
                              or not np.isfinite(v)):
            raise ConfigError(f"{where}: {k}: must be a number, got {v!r}")
    if out["roi_min"] is not None and out["roi_max"] is not None and \
            not out["roi_min"] < out["roi_max"]:
        raise ConfigError(f"{where}: roi_min ({out['roi_min']:g}) must be smaller than roi_max "
                          f"({out['roi_max']:g})")
    sh = out["shirley"] or {}
    if not isinstance(sh, Mapping):
        raise ConfigError(f"{where}: shirley: must be a mapping of tol, max_iter, ends")
    bad = [k for k in sh if k not in _SHIRLEY_KEYS]
    if bad:
        raise ConfigError(f"{where}: shirley.{bad[0]}: unknown key (keys: "
                          f"{', '.join(_SHIRLEY_KEYS)})")
    sh = {**_SHIRLEY_KEYS, **sh}
    if not (isinstance(sh["tol"], (int, float)) and sh["tol"] > 0):
        raise ConfigError(f"{where}: shirley.tol: must be > 0, got {sh['tol']!r}")
    for k in ("max_iter", "ends"):
        if isinstance(sh[k], bool) or not isinstance(sh[k], int) or sh[k] < 1:
            raise ConfigError(f"{where}: shirley.{k}: must be an integer >= 1, got {sh[k]!r}")
    out["shirley"] = sh
    return out


# ---------------------------------------------------------------------------- the steps

def binding_energy(x: np.ndarray, y: np.ndarray, sd: np.ndarray | None,
                   excitation: float) -> tuple[Arrays, dict]:
    """Kinetic -> binding energy: E_B = excitation - x (excitation = photon energy minus the
    work function, in x's units), then reversed so E_B increases."""
    xb = float(excitation) - x[::-1]
    return (xb, y[::-1].copy(), None if sd is None else sd[::-1].copy()), {
        "step": "binding_energy", "excitation": float(excitation), "reversed": True}


def roi(x: np.ndarray, y: np.ndarray, sd: np.ndarray | None, lo: float | None,
        hi: float | None) -> tuple[Arrays, dict]:
    """Keep lo <= x <= hi (either bound may be None)."""
    keep = np.ones(x.size, bool)
    if lo is not None:
        keep &= x >= float(lo)
    if hi is not None:
        keep &= x <= float(hi)
    return (x[keep], y[keep], None if sd is None else sd[keep]), {
        "step": "roi", "min": lo, "max": hi, "n_before": int(x.size), "n_after": int(keep.sum())}


def bin_points(x: np.ndarray, y: np.ndarray, sd: np.ndarray | None,
               factor: int) -> tuple[Arrays, dict]:
    """Means of ``factor`` neighbouring points (a leftover tail is dropped); sd combined as
    sqrt(sum sd^2) / factor."""
    b = int(factor)
    m = (x.size // b) * b
    xb = x[:m].reshape(-1, b).mean(axis=1)
    yb = y[:m].reshape(-1, b).mean(axis=1)
    sdb = None if sd is None else np.sqrt((sd[:m].reshape(-1, b) ** 2).sum(axis=1)) / b
    return (xb, yb, sdb), {"step": "bin", "factor": b, "dropped": int(x.size - m),
                           "n_after": int(xb.size)}


def subtract_linear(x: np.ndarray, y: np.ndarray, edge: int,
                    source: str = "") -> tuple[np.ndarray, np.ndarray, dict]:
    """Subtract the straight line through the mean points of the first and last ``edge``
    points. Returns (y - line, line, record with intercept and slope)."""
    if x.size < 2 * edge:
        raise DataError(f"{source}: linear background: {x.size} point(s), fewer than 2 * "
                        f"edge_points = {2 * edge}; lower preprocess.edge_points or widen the "
                        f"region of interest")
    xa, xb = x[:edge].mean(), x[-edge:].mean()
    ya, yb = y[:edge].mean(), y[-edge:].mean()
    slope = (yb - ya) / (xb - xa)
    intercept = ya - slope * xa
    line = intercept + slope * x
    return y - line, line, {"step": "subtract", "kind": "linear", "edge_points": int(edge),
                            "intercept": float(intercept), "slope": float(slope)}


def subtract_shirley(x: np.ndarray, y: np.ndarray, tol: float = 1e-6, max_iter: int = 50,
                     ends: int = 5, source: str = "") -> tuple[np.ndarray, np.ndarray, dict]:
    """Subtract the iterative Shirley background
    (:func:`bayespec.models.shirley.shirley_background`). Returns (y - B, B, record with the end
    levels and the settings)."""
    try:
        bg = shirley_background(x, y, tol=tol, max_iter=max_iter, ends=ends)
    except DataError as e:
        raise DataError(f"{source}: {e}") from None
    return y - bg, bg, {"step": "subtract", "kind": "shirley", "tol": float(tol),
                        "max_iter": int(max_iter), "ends": int(ends), "start_level": float(bg[0]),
                        "end_level": float(bg[-1])}


def normalise(x: np.ndarray, y: np.ndarray, sd: np.ndarray | None,
              mode: str) -> tuple[Arrays, dict]:
    """Divide y (and sd) by max |y| (``max``) or the trapezoid area of |y| (``area``)."""
    scale = 1.0
    if mode == "max" and x.size:
        scale = float(np.max(np.abs(y))) or 1.0
    elif mode == "area" and x.size > 1:
        scale = float(np.sum(0.5 * (np.abs(y[1:]) + np.abs(y[:-1])) * np.diff(x))) or 1.0
    return (x, y / scale, None if sd is None else sd / scale), {
        "step": "normalise", "mode": mode, "scale": scale}


def run(x: np.ndarray, y: np.ndarray, sd: np.ndarray | None, params: Mapping[str, Any],
        source: str = "") -> tuple[Arrays, np.ndarray | None, list[dict], dict]:
    """Apply the configured steps (``params`` as from :func:`check_params`) in order.

    Returns ((x, y, sd), background or None (the subtracted curve on the final grid, before
    normalisation), steps (one dict per step applied, in order), the full checked params).
    DataError (naming ``source``) when a step fails or fewer than ``min_points`` remain."""
    p = check_params(params, f"{source}: preprocess")
    steps: list[dict] = []
    arrs: Arrays = (np.asarray(x, float), np.asarray(y, float),
                    None if sd is None else np.asarray(sd, float))
    if p["binding_energy"] is not None:
        arrs, rec = binding_energy(*arrs, p["binding_energy"])
        steps.append(rec)
    if p["roi_min"] is not None or p["roi_max"] is not None:
        arrs, rec = roi(*arrs, p["roi_min"], p["roi_max"])
        steps.append(rec)
    if p["bin"] > 1:
        arrs, rec = bin_points(*arrs, p["bin"])
        steps.append(rec)
    need = int(p["min_points"])
    if arrs[0].size < need:
        lo, hi = p["roi_min"], p["roi_max"]
        span = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
        raise DataError(f"{source}: region of interest {span} with bin {p['bin']} leaves "
                        f"{arrs[0].size} point(s), fewer than preprocess.min_points = {need}; "
                        f"widen roi_min/roi_max in the manifest")
    bg = None
    if p["subtract"] == "linear":
        yy, bg, rec = subtract_linear(arrs[0], arrs[1], int(p["edge_points"]), source)
        arrs = (arrs[0], yy, arrs[2])
        steps.append(rec)
    elif p["subtract"] == "shirley":
        yy, bg, rec = subtract_shirley(arrs[0], arrs[1], source=source, **p["shirley"])
        arrs = (arrs[0], yy, arrs[2])
        steps.append(rec)
    if p["normalise"] != "none":
        arrs, rec = normalise(*arrs, p["normalise"])
        steps.append(rec)
    return arrs, bg, steps, p
