"""Tougaard background of XPS inelastic losses (the universal cross-section: S. Tougaard, Surf.
Interface Anal. 11, 453 (1988)).

Electrons that lose an energy T > 0 on their way out appear at a lower kinetic energy (a higher
binding energy) than their line. With Tougaard's universal inelastic cross-section

    K(T) = T / (C + T^2)^2   (T > 0 in eV; 0 otherwise),

the background at point i is computed from the measured spectrum y, as CasaXPS and lmfitxps'
TougaardBG do:

    bg_i = c0 + B * sum_j K(T_ij) y_j |dE_j|,

a plain sum (no trapezoid weights) with |dE_j| the local axis step (``np.gradient(x)``: the
central difference inside, the one-sided step at the ends) and T_ij the loss from point j to
point i on the loss side. The loss side comes from the data exactly as for the active Shirley
background (:func:`bayespec.models.shirley.shirley_direction`, the data's end levels):
direction +1 (the last points lie above the first: the inelastic step is toward the end of the
axis, e.g. a binding-energy axis in increasing order) gives T_ij = |x_i - x_j| for j < i (on an
increasing axis x_j < x_i); direction -1 (step toward the start, e.g. a kinetic-energy axis)
gives T_ij = |x_j - x_i| for j > i. B (eV^2; universal 2866 eV^2) scales the loss
probability, C (eV^2; universal 1643 eV^2) sets where K peaks (T = sqrt(C / 3), 23 eV for the
universal value); c0 is a constant offset in the units of y. B and C are sampled (positive,
log space); the background is linear in c0 and B.

The Numba function :func:`tougaard` has the kernel's background signature plus the data,
``tougaard(x, ydata, coefs, out)``, coefs = (c0, B, C). O(n^2) per evaluation, one K per pair
at the pair's own loss |x_i - x_j| on any axis, vectorised (measured on one core of the 2-core
development machine, contiguous arrays: about 21 us for 321 points, 125 us for 801, 500 us for
1601; a strided view, e.g. a column of np.loadtxt's table, is not vectorised and 3x slower).
A table of K per lag m (T = m h) on a uniform axis runs 1.6-2.5x faster but differs from the
pairs' own losses by the rounding of x (up to ~5e-12 relative on a kinetic axis near 1400 eV
with a 0.025 eV step), so it is not used. The plain NumPy reference is :func:`bayespec.models.lines.reference.tougaard_background`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["UNIVERSAL_B", "UNIVERSAL_C", "DIRECTION_ENDS", "cross_section", "data_direction",
           "tougaard", "universal_log_priors"]

UNIVERSAL_B = 2866.0  # eV^2, Tougaard's universal cross-section
UNIVERSAL_C = 1643.0  # eV^2
DIRECTION_ENDS = 5  # points averaged at each end for the direction (shirley_direction's ends)


def cross_section(T: np.ndarray, C: float = UNIVERSAL_C) -> np.ndarray:
    """K(T) = T / (C + T^2)^2 for T > 0, else 0 (1 / eV^3 for T, C in eV, eV^2)."""
    T = np.asarray(T, dtype=float)
    return np.where(T > 0, T / (C + T * T) ** 2, 0.0)


@njit(cache=True)
def data_direction(y):
    """+1 if the mean of the last DIRECTION_ENDS points of y is >= that of the first, else -1:
    models.shirley.shirley_direction(y) (same sums, same comparison), in Numba."""
    n = y.shape[0]
    e = min(DIRECTION_ENDS, n)
    first = 0.0
    last = 0.0
    for i in range(e):
        first += y[i]
    for i in range(n - e, n):
        last += y[i]
    return 1 if last / e >= first / e else -1


# error_model "numpy": a float division without Python's ZeroDivisionError check, which keeps
# LLVM from vectorising the per-pair K (14x slower); C + T^2 > 0 for the positive C sampled
@njit(cache=True, error_model="numpy")
def tougaard(x, ydata, coefs, out):
    """out[i] = c0 + B * sum_j K(T_ij) ydata[j] |dE_j| (module docstring), coefs = (c0, B, C);
    the loss side from the data's end levels (:func:`data_direction`)."""
    n = x.shape[0]
    c0 = coefs[0]
    B = coefs[1]
    C = coefs[2]
    if n < 2:
        for i in range(n):
            out[i] = c0
        return
    d = data_direction(ydata)
    for i in range(n):
        out[i] = 0.0
    # Point j, of weight y_j |dE_j| (|dE_j| as np.gradient(x)), feeds the points on its loss
    # side. The inner loops run over contiguous out[i] with indices that are sums of
    # non-negative terms (no wraparound check) and no sum is reassociated, so LLVM vectorises
    # them (K and its division too: error_model "numpy"); no array is allocated, so inlined
    # into the kernels' dispatch this adds no allocation or exception path there.
    if d > 0:
        for j in range(n - 1):  # the points after j
            xj = x[j]
            if j == 0:
                dE = abs(x[1] - x[0])
            else:
                dE = abs((x[j + 1] - x[j - 1]) / 2.0)
            wj = dE * ydata[j]
            for t in range(n - 1 - j):
                T = abs(x[j + 1 + t] - xj)
                q = C + T * T
                out[j + 1 + t] += T / (q * q) * wj
    else:
        for j in range(1, n):  # the points before j
            xj = x[j]
            if j == n - 1:
                dE = abs(x[n - 1] - x[n - 2])
            else:
                dE = abs((x[j + 1] - x[j - 1]) / 2.0)
            wj = dE * ydata[j]
            for t in range(j):
                T = abs(xj - x[t])
                q = C + T * T
                out[t] += T / (q * q) * wj
    for i in range(n):
        out[i] = c0 + B * out[i]


def universal_log_priors() -> list[dict]:
    """Default priors of (B, C): log-normal around the universal values, B with sigma 1
    (a factor e either way at 1 sd), C with sigma 0.5."""
    return [{"dist": "lognormal", "mu": math.log(UNIVERSAL_B), "sigma": 1.0},
            {"dist": "lognormal", "mu": math.log(UNIVERSAL_C), "sigma": 0.5}]
