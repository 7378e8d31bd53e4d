"""57Fe Moessbauer absorption multiplets on a velocity axis (mm/s), as dips (transmission).

Lines are Lorentzians of HWHM ``width``; a multiplet is minus the sum of its lines, normalised
so that ``amplitude`` is the depth of its strongest line when the lines do not overlap.

Quadrupole doublet: lines at delta -+ quad_splitting / 2 (delta = ``center``, the isomer shift),
equal depths.

Magnetic sextet: hyperfine field B (``field``, T), quadrupole shift eps (``quad_shift``, mm/s:
lines 1 and 6 move by +eps, lines 2-5 by -eps, first order; the often quoted "2 eps" is twice
it) and relative depths 3 : x : 1 : 1 : x : 3 (x = ``ratio_25``, 2 for a powder). The line
positions follow from the nuclear Zeeman levels E(m) = -g mu_N B m of the ground (I = 1/2) and
14.4 keV (I = 3/2) states, transitions Delta m = 0, +-1, and the Doppler shift v = c dE / E_gamma:

    v_i = delta + s_i eps + B (mu_N c / E_gamma) (g_g m_g - g_e m_e).

Constants: mu_g = +0.09044 mu_N (g_g = 0.18088), mu_e / mu_g = -1.7135 (g_e = -0.10331),
mu_N = 3.15245126e-8 eV/T (CODATA 2018), E_gamma = 14412.497 eV, c = 2.99792458e11 mm/s:
B = 33.0 T gives the outer lines at +-5.3105 mm/s, 0.03 % inside the +-5.312 mm/s of the
alpha-Fe calibration (Greenwood & Gibb, Moessbauer Spectroscopy, 1971).
"""

from __future__ import annotations

import numpy as np
from numba import njit

MU_N = 3.15245126e-8  # eV / T
E_GAMMA = 14412.497  # eV
C_MM = 2.99792458e11  # mm / s
G_GROUND = 2.0 * 0.09044
G_EXCITED = -1.7135 * 0.09044 / 1.5

# the six allowed transitions (m_g, m_e) in order of velocity, and their quadrupole signs
_TRANSITIONS = [(-0.5, -1.5), (-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5), (0.5, 1.5)]
#: velocity per tesla of each sextet line (mm/s / T), from the levels above
K_LINES = np.array([(G_GROUND * mg - G_EXCITED * me) * MU_N * C_MM / E_GAMMA
                    for mg, me in _TRANSITIONS])
Q_SIGNS = np.array([1.0 if abs(me) == 1.5 else -1.0 for _, me in _TRANSITIONS])


@njit(cache=True, inline="always")
def _lor(x, c, w, weight, out):
    inv = 1.0 / w
    for i in range(x.shape[0]):
        d = (x[i] - c) * inv
        out[i] -= weight / (1.0 + d * d)


@njit(cache=True)
def quadrupole_doublet(x, center, width, quad_splitting, out):
    """out = -(L(delta - Q/2) + L(delta + Q/2)), unit-depth Lorentzians of HWHM width."""
    out[:] = 0.0
    _lor(x, center - 0.5 * quad_splitting, width, 1.0, out)
    _lor(x, center + 0.5 * quad_splitting, width, 1.0, out)


@njit(cache=True)
def magnetic_sextet(x, center, width, quad_shift, field, ratio_25, out):
    """out = -sum_i (I_i / 3) L(v_i): the six lines, relative depths 3 : x : 1 : 1 : x : 3."""
    out[:] = 0.0
    for j in range(6):
        rel = 1.0 if (j == 0 or j == 5) else (ratio_25 / 3.0 if (j == 1 or j == 4) else 1.0 / 3.0)
        _lor(x, center + Q_SIGNS[j] * quad_shift + K_LINES[j] * field, width, rel, out)


def sextet_relative_area(ratio_25: np.ndarray) -> np.ndarray:
    """Sum of the relative depths (3 + x + 1 + 1 + x + 3) / 3 (each line's area a pi w rel)."""
    return (8.0 + 2.0 * np.asarray(ratio_25, dtype=float)) / 3.0
