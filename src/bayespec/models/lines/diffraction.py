"""Diffraction lines: the split pseudo-Voigt and the X-ray K-alpha1/K-alpha2 pair.

Split pseudo-Voigt: a pseudo-Voigt (Lorentzian fraction eta) whose HWHM is w_l below the
center and w_r above it, w_l = 2 w / (1 + r), w_r = 2 w r / (1 + r): ``width`` w is the mean
HWHM (FWHM = 2 w) and ``width_ratio`` r = w_r / w_l (> 1: tail toward higher 2-theta).

K-alpha pair: pseudo-Voigts of shared HWHM and eta at 2-theta_1 = ``center`` (K-alpha1) and
2-theta_2 = 2 asin(lambda_ratio sin(theta_1)) (Bragg's law with lambda_ratio = lambda(Ka2) /
lambda(Ka1)), the K-alpha2 height ``ka2_ratio`` times the K-alpha1 height; axis in degrees
2-theta. Where lambda_ratio sin(theta_1) >= 1 the K-alpha2 line does not exist (left out).
"""

from __future__ import annotations

import math

from numba import njit

_SD_PER_HWHM = 1.0 / math.sqrt(2.0 * math.log(2.0))

#: lambda(K-alpha2) / lambda(K-alpha1) per anode: Hoelzer et al., Phys. Rev. A 56 (1997) 4554
#: (Cu 1.5405929 / 1.5444140 A, Co 1.7889960 / 1.7928350 A, Fe 1.9360410 / 1.9399730 A,
#: Cr 2.2897260 / 2.2936510 A) and Deslattes et al., Rev. Mod. Phys. 75 (2003) 35 (Mo 0.7093171
#: / 0.7136040 A); Cu is the default prior of ``lambda_ratio``.
LAMBDA_RATIO = {"Cu": 1.5444140 / 1.5405929, "Co": 1.7928350 / 1.7889960,
                "Fe": 1.9399730 / 1.9360410, "Cr": 2.2936510 / 2.2897260,
                "Mo": 0.7136040 / 0.7093171}


@njit(cache=True, inline="always")
def _pv(d, w, eta):
    u = d / w
    v = d / (w * _SD_PER_HWHM)
    return eta / (1.0 + u * u) + (1.0 - eta) * math.exp(-0.5 * v * v)


@njit(cache=True)
def split_pv_line(x, center, width, eta, ratio, weight, out):
    """out += weight * split pseudo-Voigt (unit height at center); x (n,), ratio = w_r / w_l."""
    wl = 2.0 * width / (1.0 + ratio)
    wr = ratio * wl
    for i in range(x.shape[0]):
        d = x[i] - center
        out[i] += weight * _pv(d, wl if d < 0.0 else wr, eta)


@njit(cache=True)
def ka2_center(center, lambda_ratio):
    """2-theta (degrees) of K-alpha2 from K-alpha1 at ``center``; NaN if it does not exist."""
    s = lambda_ratio * math.sin(0.5 * math.radians(center))
    if not (-1.0 < s < 1.0):
        return math.nan
    return 2.0 * math.degrees(math.asin(s))


@njit(cache=True)
def kalpha_pair(x, center, width, eta, ka2_ratio, lambda_ratio, out):
    """out = K-alpha1 (unit height at center) + ka2_ratio * K-alpha2; x (n,) in degrees."""
    c2 = ka2_center(center, lambda_ratio)
    for i in range(x.shape[0]):
        v = _pv(x[i] - center, width, eta)
        if c2 == c2:
            v += ka2_ratio * _pv(x[i] - c2, width, eta)
        out[i] = v
