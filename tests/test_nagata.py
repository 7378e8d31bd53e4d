"""Nagata, Sugita & Okada (2012) synthetic spectrum under the paper's priors and ladder."""

import numpy as np
import pytest

from bayespec.inference.fit import FitSettings, fit_spectrum
from bayespec.models.priors import parse_prior
from conftest import NAGATA_PEAKS

PAPER_PRIORS = {
    "amplitude": parse_prior({"dist": "gamma", "shape": 5, "rate": 5}, "amplitude", True),
    "center": parse_prior({"dist": "normal", "mean": 1.5, "sd": 0.2 ** 0.5}, "center"),
    "width": parse_prior({"dist": "gamma", "shape": 5, "rate": 0.04}, "width", True),
}


@pytest.mark.slow
def test_nagata_selects_three_peaks_and_estimates_noise(nagata):
    x, y = nagata
    # the paper's ladder (24 replicas, ratio 1.5); more sweeps than the default because the
    # verdict K = 3 over K = 4 (about 0.3 nats) needs SE <= 0.05
    s = FitSettings(noise_sd=None, sweeps=20000, burn_in=2000, seed=3, target_se=None)
    fits = fit_spectrum(x, y, None, "gaussian_nagata", [1, 2, 3, 4, 5, 6], "none", None,
                        PAPER_PRIORS, s)
    F = np.array([f.free_energy for f in fits])
    se = np.array([f.free_energy_se for f in fits])
    assert int(np.argmin(F)) == 2, F
    assert se[2] <= 0.05 and se[3] <= 0.05, se
    k3 = fits[2]
    # noise estimated within 10 % of the true 0.1
    assert abs(k3.noise_sd - 0.1) < 0.01, k3.noise_sd
    c = k3.posterior["center"].reshape(-1, 3)
    true = np.array([m for _, m, _ in NAGATA_PEAKS])
    z = np.abs(c.mean(axis=0) - true) / c.std(axis=0)
    assert np.all(z < 3), z
