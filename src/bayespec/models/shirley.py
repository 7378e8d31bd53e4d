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

from ..errors import DataError

__all__ = ["shirley_background"]


def _cumtrapz(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Cumulative trapezoid integral of f over x, starting at 0; shape (n,)."""
    out = np.zeros_like(f)
    np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(x), out=out[1:])
    return out


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
    ya = float(y[:ends].mean())
    yb = float(y[-ends:].mean())
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
