"""Gaussian-Lorentzian product line GL(m) of XPS software (CasaXPS's GL(p), p = 100 m).

    GL(x) = exp(-ln 2 (1 - m) u^2) / (1 + m u^2),   u = (x - center) / w,

w = F / 2 with F the FWHM of both parts (the product's own FWHM is slightly below F for 0 < m
< 1); m = 0 is a Gaussian, m = 1 a Lorentzian, both of HWHM w. The sum form SGL(m) = (1 - m)
G + m L is the pseudo-Voigt of equal HWHM (registered as ``gl_sum``, m = ``eta``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_LN2 = math.log(2.0)


@njit(cache=True)
def gl_product_line(x, center, width, m, weight, out):
    """out += weight * GL(x); unit height at center. x (n,); width w > 0; m in [0, 1]."""
    c = _LN2 * (1.0 - m)
    inv = 1.0 / width
    for i in range(x.shape[0]):
        u = (x[i] - center) * inv
        u2 = u * u
        out[i] += weight * math.exp(-c * u2) / (1.0 + m * u2)


_GRID = np.linspace(-60.0, 60.0, 24001)


def gl_product_unit(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Area and FWHM of the unit-height, unit-w GL(m), per m (any shape): trapezoid on |u| <= 60
    plus the Lorentzian tails beyond (2 m / 60 when the Gaussian factor has not cut them)."""
    m = np.asarray(m, dtype=float)
    flat = m.ravel()
    area = np.empty(flat.shape)
    fwhm = np.empty(flat.shape)
    uniq, inv = np.unique(flat, return_inverse=True)
    u2 = _GRID * _GRID
    du = _GRID[1] - _GRID[0]
    a_u = np.empty(uniq.shape)
    f_u = np.empty(uniq.shape)
    for s0 in range(0, uniq.size, 256):
        mm = uniq[s0:s0 + 256, None]
        g = np.exp(-_LN2 * (1.0 - mm) * u2) / (1.0 + mm * u2)
        tail = 2.0 * mm[:, 0] * np.exp(-_LN2 * (1.0 - mm[:, 0]) * 3600.0) / 60.0
        a_u[s0:s0 + 256] = np.trapezoid(g, dx=du, axis=1) + tail
        # the half-maximum point on u > 0: GL is decreasing there; solve on the grid + interp
        half = g[:, _GRID.size // 2:]
        j = np.argmax(half < 0.5, axis=1)
        u0 = _GRID[_GRID.size // 2 + j - 1]
        g0 = half[np.arange(half.shape[0]), j - 1]
        g1 = half[np.arange(half.shape[0]), j]
        f_u[s0:s0 + 256] = 2.0 * (u0 + du * (g0 - 0.5) / (g0 - g1))
    area[:] = a_u[inv]
    fwhm[:] = f_u[inv]
    return area.reshape(m.shape), fwhm.reshape(m.shape)
