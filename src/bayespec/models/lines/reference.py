"""Plain references of the measured line shapes, written from their definitions with NumPy and
SciPy only (no shared code with the fast paths), for the tests of the Numba profiles.

``profile(name, x, center, width, extra)`` returns the unit profile (n,) of one line of a shape
registered in :mod:`bayespec.models.shapes` beyond the basic ones (those have their plain
array-API formula in :func:`bayespec.sampling.batched.profile`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erf, voigt_profile

_SD_PER_HWHM = 1.0 / math.sqrt(2.0 * math.log(2.0))


def _pv(d: np.ndarray, w: float, eta: float) -> np.ndarray:
    return eta / (1 + (d / w) ** 2) + (1 - eta) * np.exp(-0.5 * (d / (w * _SD_PER_HWHM)) ** 2)


def doniach_sunjic(e: np.ndarray, gamma: float, alpha: float) -> np.ndarray:
    """The DS line (Doniach & Sunjic 1970) at offsets e, tail toward e < 0 for alpha > 0."""
    return (math.gamma(1 - alpha) * np.cos(np.pi * alpha / 2 + (1 - alpha) * np.arctan(e / gamma))
            / (e * e + gamma * gamma) ** ((1 - alpha) / 2))


def ds_convolved(e: np.ndarray, sigma: float, gamma: float, alpha: float) -> np.ndarray:
    """(DS * G)(e) by direct convolution: composite Simpson over s in [-12 sigma, 12 sigma] with
    a step of min(sigma, gamma) / 40 (error below 1e-9 of the peak); alpha < 0 mirrors."""
    if alpha < 0:
        return ds_convolved(-e, sigma, gamma, -alpha)
    step = min(sigma, gamma) / 40
    m = int(math.ceil(12 * sigma / step))
    s = np.linspace(-12 * sigma, 12 * sigma, 2 * m + 1)
    ws = np.ones(s.size)
    ws[1:-1:2], ws[2:-1:2] = 4.0, 2.0
    ws *= (s[1] - s[0]) / 3 * np.exp(-0.5 * (s / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    out = np.empty(e.shape)
    for i in range(0, e.size, 16):
        out[i:i + 16] = doniach_sunjic(e[i:i + 16, None] - s[None, :], gamma, alpha) @ ws
    return out


def _ds_unit(e, sigma, gamma, alpha):
    return ds_convolved(e, sigma, gamma, alpha) / ds_convolved(np.zeros(1), sigma, gamma, alpha)


def _voigt_unit(e, sigma, gamma):
    return voigt_profile(e, sigma, gamma) / voigt_profile(0.0, sigma, gamma)


# 57Fe: moments (nuclear magnetons) and the 14.4 keV transition, as documented in lines.mossbauer
_MU_G, _MU_RATIO, _MU_N, _E_G, _C = 0.09044, -1.7135, 3.15245126e-8, 14412.497, 2.99792458e11


def sextet_lines(center: float, eps: float, field: float, x25: float):
    """Positions (mm/s) and relative depths of the six 57Fe lines from the Zeeman levels: every
    (m_g, m_e) with |m_e - m_g| <= 1, E = E_e(m_e) - E_g(m_g), E(m) = -mu B m / I, sorted."""
    mu_e = _MU_RATIO * _MU_G
    lines = []
    for mg in (-0.5, 0.5):
        for me in (-1.5, -0.5, 0.5, 1.5):
            if abs(me - mg) > 1:
                continue
            de = (-mu_e * me / 1.5 + _MU_G * mg / 0.5) * _MU_N * field
            q = eps if abs(me) == 1.5 else -eps
            depth = 3.0 if abs(me) == 1.5 else (x25 if me == mg else 1.0)
            lines.append((center + q + de / _E_G * _C, depth / 3.0))
    return sorted(lines)


def profile(name: str, x: np.ndarray, center: float, width: float,
            extra: np.ndarray) -> np.ndarray:
    """The unit profile (n,) of shape ``name`` at one parameter set (extras as registered)."""
    d = x - center
    if name == "voigt":
        return _voigt_unit(d, width, extra[0])
    if name == "doublet_voigt":
        return _voigt_unit(d, width, extra[0]) + extra[2] * _voigt_unit(d - extra[1], width,
                                                                         extra[0])
    if name == "doniach_gaussian":
        return _ds_unit(d, width, extra[0], extra[1])
    if name == "doublet_doniach_gaussian":
        return (_ds_unit(d, width, extra[0], extra[1])
                + extra[3] * _ds_unit(d - extra[2], width, extra[0], extra[1]))
    if name == "gl_sum":  # CasaXPS SGL(m): (1 - m) G + m L, both of FWHM F = 2 width
        m, F = extra[0], 2 * width
        return (1 - m) * np.exp(-4 * math.log(2) * d * d / F ** 2) + m / (1 + 4 * d * d / F ** 2)
    if name == "gl_product":  # CasaXPS GL(m): exp(-4 ln2 (1-m) (x-E)^2/F^2) / (1 + 4m(x-E)^2/F^2)
        m, F = extra[0], 2 * width
        return np.exp(-4 * math.log(2) * (1 - m) * d * d / F ** 2) / (1 + 4 * m * d * d / F ** 2)
    if name == "split_pseudo_voigt":
        r = extra[1]
        wl, wr = 2 * width / (1 + r), 2 * width * r / (1 + r)
        return np.where(d < 0, _pv(d, wl, extra[0]), _pv(d, wr, extra[0]))
    if name == "kalpha_pseudo_voigt":
        out = _pv(d, width, extra[0])
        s = extra[2] * np.sin(np.radians(center) / 2)
        if abs(s) < 1:
            out = out + extra[1] * _pv(x - 2 * np.degrees(np.arcsin(s)), width, extra[0])
        return out
    if name == "edge_arctan":
        return 0.5 + np.arctan(d / width) / np.pi
    if name == "edge_erf":
        return 0.5 * (1 + erf(d / (width * math.sqrt(2))))
    if name == "mossbauer_doublet":
        q = extra[0] / 2
        return -(1 / (1 + ((d + q) / width) ** 2) + 1 / (1 + ((d - q) / width) ** 2))
    if name == "mossbauer_sextet":
        out = np.zeros(x.shape)
        for v, rel in sextet_lines(center, extra[0], extra[1], extra[2]):
            out -= rel / (1 + ((x - v) / width) ** 2)
        return out
    raise KeyError(f"no reference profile for shape {name!r}")


def tougaard_background(x: np.ndarray, y: np.ndarray, c0: float, B: float, C: float,
                        direction: int) -> np.ndarray:
    """The Tougaard background (n,) of the measured spectrum y, as a dense matrix product:
    c0 + B sum_j K(T_ij) y_j |dE_j|, K(T) = T / (C + T^2)^2, |dE_j| = |np.gradient(x)_j|, the
    loss T_ij = |x_i - x_j| from the points j before i (direction +1: the inelastic step toward
    the end of the axis, a binding-energy axis) or after i (-1: a kinetic-energy axis)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    i = np.arange(x.size)
    T = np.abs(x[:, None] - x[None, :])
    loss_side = (i[None, :] < i[:, None]) if direction > 0 else (i[None, :] > i[:, None])
    K = np.where(loss_side, T / (C + T * T) ** 2, 0.0)
    return c0 + B * (K @ (y * np.abs(np.gradient(x))))
