"""Absorption-edge steps (XAS): unit step height, half height at ``center``.

arctangent: 1/2 + arctan(u) / pi with u = (x - center) / w, the integral of a Lorentzian of
HWHM w (the core-hole lifetime broadening); error function: (1 + erf(u / sqrt 2)) / 2, the
integral of a Gaussian of sd w (instrumental broadening). Rising with x: amplitude is the
edge jump. An edge has no finite area; its FWHM is that of the derivative line.
"""

from __future__ import annotations

import math

from numba import njit

_ZCUT = 8.5  # below center - 8.5 sd the erf step is under 1e-16: exactly 0 there


@njit(cache=True)
def arctan_step(x, center, width, out):
    """out = 1/2 + arctan((x - center) / width) / pi, all points; returns (0, n)."""
    inv = 1.0 / width
    for i in range(x.shape[0]):
        out[i] = 0.5 + math.atan((x[i] - center) * inv) / math.pi
    return 0, x.shape[0]


@njit(cache=True)
def erf_step(x, h, center, width, out):
    """out = (1 + erf((x - center) / (width sqrt 2))) / 2 on [lo, n), 0 below; returns (lo, n)."""
    n = x.shape[0]
    lo = 0
    if h > 0.0:
        lo = max(0, min(n, int(math.ceil((center - _ZCUT * width - x[0]) / h))))
    c = 1.0 / (width * math.sqrt(2.0))
    for i in range(lo, n):
        out[i] = 0.5 * math.erfc(-(x[i] - center) * c)
    return lo, n
