"""The ladder reaches the prior: automatic extension for wide priors, and the warning without."""

import numpy as np

from bayespec.inference.fit import FitSettings, fit_spectrum
from bayespec.models.priors import parse_prior


def _data():
    x = np.linspace(0, 1, 60)
    return x, 3.0 + 2.0 * x + 0.1 * np.random.default_rng(7).standard_normal(60)


WIDE = {"background": parse_prior({"dist": "normal", "mean": 0, "sd": 100}, "bg")}


def test_wide_prior_without_extension_warns():
    x, y = _data()
    s = FitSettings(noise_sd=0.1, replicas=8, extend=False, sweeps=400, burn_in=200)
    (f,) = fit_spectrum(x, y, None, "gaussian", [0], "linear", None, WIDE, s)
    assert len(f.ladder.beta) == 8
    assert f.ladder.swap_acceptance[0] < 0.05
    assert f.warnings and "swap acceptance" in f.warnings[0] and "0-1" in f.warnings[0]


def test_wide_prior_extends_the_ladder_and_matches_closed_form():
    x, y = _data()
    s = FitSettings(noise_sd=0.1, replicas=8, sweeps=2000, burn_in=500)
    (f,) = fit_spectrum(x, y, None, "gaussian", [0], "linear", None, WIDE, s)
    assert len(f.ladder.beta) > 8 and not f.warnings
    # closed form (DESIGN.md section 3)
    n, sd0 = len(x), 100.0
    X = np.stack([np.ones(n), x], 1)
    S0 = np.eye(2) * sd0 ** 2
    SNi = np.linalg.inv(S0) + X.T @ X / 0.01
    SN = np.linalg.inv(SNi)
    mN = SN @ (X.T @ y / 0.01)
    F = (n / 2 * np.log(2 * np.pi * 0.01) + 0.5 * np.linalg.slogdet(S0)[1]
         - 0.5 * np.linalg.slogdet(SN)[1] + 0.5 * (y @ y / 0.01 - mN @ SNi @ mN))
    assert abs(f.free_energy - F) < 3 * f.free_energy_se, (f.free_energy, F, f.free_energy_se)
