"""Iterative Shirley background (Shirley 1972; Proctor & Sherwood 1982) of a step-like spectrum.

The Shirley background B(x) rises from the level on one side of the spectrum to the level on
the other in proportion to the peak area already passed:

    B(x) = y_a + (y_b - y_a) * Q(x) / Q(x_b),   Q(x) = int_{x_a}^{x} (y - B) dx',

with y_a, y_b the mean of the first and last ``ends`` points. B appears on both sides, so it is
found by fixed-point iteration from B = y_a until it changes by less than ``tol`` (relative to
the step |y_b - y_a|). The same formula holds whether x is increasing or decreasing (kinetic or
binding energy), since only the fraction Q(x) / Q(x_b) enters.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import DataError

__all__ = ["end_levels", "shirley_background", "shirley_direction", "running_integral", "add_shirley"]


def _cumtrapz(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Cumulative trapezoid integral of f over x, starting at 0; shape (n,)."""
    out = np.zeros_like(f)
    np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(x), out=out[1:])
    return out


def end_levels(y: np.ndarray, ends: int = 5) -> tuple[float, float]:
    """(y_a, y_b): the means of the first and last ``ends`` points of y (units of y), the end
    levels every Shirley quantity (background, direction, scale prior) starts from."""
    y = np.asarray(y, dtype=float)
    return float(y[:ends].mean()), float(y[-ends:].mean())


def shirley_background(x: np.ndarray, y: np.ndarray, *, tol: float = 1e-6, max_iter: int = 50,
                       ends: int = 5) -> np.ndarray:
    """The iterative Shirley background of ``y`` on the strictly monotone axis ``x``.

    x, y: shape (n,), n >= 2 * ends. ``ends``: how many points at each end are averaged for the
    end levels y_a (start of x) and y_b (end of x). ``tol``: stop when max |B_new - B_old| <=
    tol * |y_b - y_a|; ``max_iter``: raise DataError if that has not happened by then.
    Returns B, shape (n,), in the units of y, with B[0] = y_a and B[-1] = y_b.
    Raises DataError for bad shapes, non-finite values, a non-monotone axis, no peak area above
    the background, or no convergence (messages name the cause and the fix; the caller adds
    the file name).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise DataError(f"Shirley background: x and y must be 1-D of the same length, got "
                        f"shapes {x.shape} and {y.shape}")
    ends = int(ends)
    if ends < 1:
        raise DataError(f"Shirley background: ends must be >= 1, got {ends}")
    if x.size < 2 * ends + 1:
        raise DataError(f"Shirley background: needs more than 2 * ends = {2 * ends} points, got "
                        f"{x.size}; widen the region of interest or lower shirley ends")
    if not (tol > 0 and np.isfinite(tol)) or int(max_iter) < 1:
        raise DataError(f"Shirley background: tol must be > 0 and max_iter >= 1, got tol={tol!r}, "
                        f"max_iter={max_iter!r}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise DataError("Shirley background: x and y must be finite (no NaN or inf)")
    dx = np.diff(x)
    if not (np.all(dx > 0) or np.all(dx < 0)):
        raise DataError("Shirley background: x must be strictly increasing or strictly "
                        "decreasing; sort the points and remove duplicates")
    ya, yb = end_levels(y, ends)
    step = yb - ya
    b = np.full_like(y, ya)
    if step == 0.0:
        return b  # equal end levels: the Shirley background is flat
    scale = abs(step)
    for _ in range(int(max_iter)):
        q = _cumtrapz(x, y - b)
        total = q[-1]
        if not np.isfinite(total) or abs(total) <= 1e-12 * scale * abs(x[-1] - x[0]):
            raise DataError("Shirley background: no peak area above the background (the "
                            "integral of y - B is zero); the region of interest holds no peak, "
                            "or use a linear background instead")
        new = ya + step * q / total
        change = float(np.max(np.abs(new - b)))
        b = new
        if change <= tol * scale:
            return b
    raise DataError(f"Shirley background: did not converge in {int(max_iter)} iterations (last "
                    f"change {change / scale:.3g} of the step, tolerance {tol:g}); raise "
                    f"max_iter or tol, choose a region of interest with flat ends, or use a "
                    f"background in the model (fit.model.background) instead")


# ----------------------------------------------------------------------------- active Shirley
# Inside the model the Shirley background is s * Q(x), Q the running integral of the model's own
# peaks from the side where the background is low: S(x) = s * int_{x_a}^{x} P dx' (direction +1:
# the step rises toward higher x, e.g. a binding-energy axis) or s * int_{x}^{x_b} P dx'
# (direction -1: it rises toward lower x, a kinetic-energy axis). The scale s (1 / x units: the
# step height per unit peak area) is sampled. S is linear in the peaks, so each peak carries its
# own share a_k s Q_k and the kernel updates one peak at a time.


def shirley_direction(y: np.ndarray, ends: int = 5) -> int:
    """+1 if the data's last ``ends`` points lie above its first (the step rises with x), else
    -1: the side of the inelastic background, from the data's end levels."""
    ya, yb = end_levels(y, ends)
    return 1 if yb >= ya else -1


def running_integral(x: np.ndarray, f: np.ndarray, direction: int) -> np.ndarray:
    """Q (..., n): the trapezoid integral of f (..., n) from the low end of x (direction +1) or
    down from the high end (-1), 0 at the start; the plain reference of :func:`add_shirley`."""
    f = np.asarray(f, dtype=float)
    seg = 0.5 * (f[..., 1:] + f[..., :-1]) * np.diff(x)
    out = np.zeros(f.shape)
    if direction > 0:
        out[..., 1:] = np.cumsum(seg, axis=-1)
    else:
        out[..., :-1] = np.cumsum(seg[..., ::-1], axis=-1)[..., ::-1]
    return out


@njit(cache=True)
def add_shirley(x, g, lo, hi, direction, scale):
    """g[i] += scale * Q[i] in place, Q the running integral of g (zero outside [lo, hi)) in
    ``direction``; returns the new window ([lo, n) or [0, hi))."""
    n = x.shape[0]
    if lo >= hi:
        return lo, hi
    if direction > 0:
        q = 0.0
        prev = g[lo]
        if lo > 0:  # the half segment from the zero at lo - 1
            q = 0.5 * prev * (x[lo] - x[lo - 1])
            g[lo] = prev + scale * q
        for i in range(lo + 1, n):
            cur = g[i] if i < hi else 0.0
            q += 0.5 * (prev + cur) * (x[i] - x[i - 1])
            prev = cur
            g[i] = cur + scale * q
        return lo, n
    q = 0.0
    prev = g[hi - 1]
    if hi < n:
        q = 0.5 * prev * (x[hi] - x[hi - 1])
        g[hi - 1] = prev + scale * q
    for i in range(hi - 2, -1, -1):
        cur = g[i] if i >= lo else 0.0
        q += 0.5 * (prev + cur) * (x[i + 1] - x[i])
        prev = cur
        g[i] = cur + scale * q
    return 0, hi
