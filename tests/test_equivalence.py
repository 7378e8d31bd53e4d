"""The Numba and batched (NumPy) backends sample the same posterior (issue 6 item 2).

A two-peak problem, fitted by both backends with different random streams: the free energies
agree within 3 combined standard errors, and every relabelled posterior mean within 3 combined
Monte Carlo standard errors (ArviZ mcse, which accounts for autocorrelation).
"""

from __future__ import annotations

import arviz_stats
import numpy as np

from bayespec.inference.fit import FitSettings, fit_spectrum
from bayespec.models.priors import parse_prior

Z = 3.0


def two_peaks() -> tuple[np.ndarray, np.ndarray]:
    """Gaussian peaks (sd 0.5) at 3.0 and 6.5 with heights 1.5 and 1.0 on [0, 10], noise 0.1."""
    x = np.linspace(0.0, 10.0, 121)
    f = 1.5 * np.exp(-0.5 * ((x - 3.0) / 0.5) ** 2) + 1.0 * np.exp(-0.5 * ((x - 6.5) / 0.5) ** 2)
    return x, f + 0.1 * np.random.default_rng(11).standard_normal(x.size)


PRIORS = {
    "amplitude": parse_prior({"dist": "gamma", "shape": 2.0, "rate": 1.0}, "amplitude"),
    "center": parse_prior({"dist": "uniform", "low": 0.0, "high": 10.0}, "center"),
    "width": parse_prior({"dist": "lognormal", "mu": -0.7, "sigma": 0.5}, "width"),
}


def _mcse(draws: np.ndarray) -> float:
    """Monte Carlo SE of the mean of (chain, draw) draws (ArviZ); a 1-D array is one chain."""
    a = np.atleast_2d(np.asarray(draws, dtype=float))
    return float(arviz_stats.mcse(a, chain_axis=0, draw_axis=1))


def test_numba_and_numpy_backends_agree_on_two_peaks():
    x, y = two_peaks()
    fits = {be: fit_spectrum(x, y, None, "gaussian", [2], "none", None, PRIORS,
                             FitSettings(noise_sd=0.1, replicas=16, sweeps=sweeps, burn_in=1000,
                                         chains=4, seed=3, threads=2, backend=be))[0]
            for be, sweeps in (("numba", 6000), ("numpy", 2500))}
    a, b = fits["numba"], fits["numpy"]
    se = np.hypot(a.free_energy_se, b.free_energy_se)
    assert 0 < se < 0.2, se  # small enough for the comparison to mean something
    assert abs(a.free_energy - b.free_energy) < Z * se, (a.free_energy, b.free_energy, se)
    # the ladders themselves agree rung by rung
    rung_se = np.hypot(a.ladder.free_energy_se[1:], b.ladder.free_energy_se[1:])
    dz = (a.ladder.free_energy[1:] - b.ladder.free_energy[1:]) / rung_se
    assert np.all(np.abs(dz) < Z), dz
    for name in ("amplitude", "center", "width"):
        for k in range(2):  # peaks relabelled by center in every draw
            da, db = a.posterior[name][..., k], b.posterior[name][..., k]
            mcse = np.hypot(_mcse(da), _mcse(db))
            assert abs(da.mean() - db.mean()) < Z * mcse, (name, k, da.mean(), db.mean(), mcse)
    # and both found the two peaks (a check that the test data are what they claim)
    assert np.allclose(a.posterior["center"].mean(axis=(0, 1)), [3.0, 6.5], atol=0.05)
