"""NIST StRD nonlinear regression, Gauss1 and Gauss2 (certified least-squares values).

Model (NIST): y = b1 exp(-b2 x) + b3 exp(-(x-b4)^2/b5^2) + b6 exp(-(x-b7)^2/b8^2) + e,
e ~ N(0, 2.5^2).
In bayespec terms: K = 2 peaks of shape "gaussian" (width = sd = b5 / sqrt(2)) on an
"exponential" background c1 exp(-c2 x) (c1 = b1, c2 = b2), noise estimated along the ladder.

With weakly informative priors the posterior is close to Gaussian around the least-squares
solution, so the posterior means must sit within 3 certified standard deviations of the
certified values, the noise estimate near the certified residual sd, and the free energy must
pick K = 2 among K = 1, 2, 3. Data: tests/data/nist-strd (see SOURCE.md there).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from bayespec.inference.fit import FitSettings, fit_spectrum
from bayespec.models.priors import parse_prior

DATA = Path(__file__).parent / "data" / "nist-strd"
_NUM = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"


def read_strd(name: str):
    """Certified values (8,), their sds (8,), residual sd, and the data x, y (250,)."""
    lines = (DATA / f"{name}.dat").read_text().splitlines()
    header = lines[40:53]  # file lines 41-53
    cert, sd = np.full(8, np.nan), np.full(8, np.nan)
    rsd = math.nan
    for line in header:
        m = re.match(rf"\s*b(\d)\s*=\s*{_NUM}\s+{_NUM}\s+({_NUM})\s+({_NUM})\s*$", line)
        if m:
            i = int(m.group(1)) - 1
            cert[i], sd[i] = float(m.group(2)), float(m.group(3))
        m = re.match(rf"\s*Residual Standard Deviation:\s*({_NUM})\s*$", line)
        if m:
            rsd = float(m.group(1))
    assert np.all(np.isfinite(cert)) and np.all(sd > 0) and math.isfinite(rsd), "bad header"
    data = np.array([[float(v) for v in line.split()] for line in lines[60:310]])  # 61-310
    assert data.shape == (250, 2)
    y, x = data[:, 0], data[:, 1]
    assert np.array_equal(x, np.arange(1.0, 251.0))
    return cert, sd, rsd, x, y


def test_read_strd_header():
    cert, sd, rsd, x, y = read_strd("Gauss1")
    assert cert[0] == 9.8778210871e01 and sd[0] == 5.7527312730e-01
    assert cert[7] == 1.8389389025e01 and sd[7] == 2.0134312832e-01
    assert rsd == 2.3317980180e00
    assert y[0] == 97.62227 and y[-1] == 4.875359
    assert read_strd("Gauss2")[2] == 2.2704790782e00


def _p(**spec):
    return parse_prior(spec, "nist")


# Weakly informative, proper priors (the same for both data sets; the free energy depends on
# them, the posterior means hardly do):
# - amplitude U(0, 300): any height up to ~3x the largest observed value (~100-115);
# - center U(1, 250): anywhere on the measured axis;
# - width (Gaussian sd) U(1, 100): from the sampling step to ~0.4 of the axis length;
# - background c1 ~ N(0, 300^2): the baseline's value at x = 0, either sign, up to a few
#   times the data scale; c2 ~ U(0, 0.1): a decay (not growth) with a decay length of at least
#   10 points, anything faster is indistinguishable from a few outliers at the axis start.
PRIORS = {
    "amplitude": _p(dist="uniform", low=0.0, high=300.0),
    "center": _p(dist="uniform", low=1.0, high=250.0),
    "width": _p(dist="uniform", low=1.0, high=100.0),
    "background": [_p(dist="normal", mean=0.0, sd=300.0), _p(dist="uniform", low=0.0, high=0.1)],
}

# The default settings: with priors this wide the geometric ladder (24 rungs, ratio 1.5, top
# 25 / s0^2) would stop at b ~ 5e-4, where n b E is still hundreds of nats; the prior -> rung 1
# step would never swap and stepping stone would miss log z by 20-30 nats. The default
# `extend` adds rungs below (41-42 here) until beta_2 * sd_prior(n E) <= 2; this test proves it.
SETTINGS = FitSettings(noise_sd=None, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["Gauss1", "Gauss2"])
def test_nist_gauss(name):
    cert, cert_sd, rsd, x, y = read_strd(name)
    fits = fit_spectrum(x, y, None, "gaussian", [1, 2, 3], "exponential", None, PRIORS, SETTINGS)
    F = np.array([f.free_energy for f in fits])
    se = np.array([f.free_energy_se for f in fits])
    for f in fits:  # the ladder reaches the prior: the first swap pair mixes
        assert f.ladder.swap_acceptance[0] > 0.3, (f.K, f.ladder.swap_acceptance[:3])
    assert np.all(np.isfinite(F)) and np.all(se > 0)
    assert int(np.argmin(F)) == 1, (F, se)  # K = 2 selected

    fit = fits[1]
    post = fit.posterior  # peaks sorted by center: peak 0 is (b3, b4, b5), peak 1 (b6, b7, b8)
    bg = post["background"]
    est = [
        bg[..., 0], bg[..., 1],
        post["amplitude"][..., 0], post["center"][..., 0], post["width"][..., 0] * np.sqrt(2),
        post["amplitude"][..., 1], post["center"][..., 1], post["width"][..., 1] * np.sqrt(2),
    ]
    means = np.array([e.mean() for e in est])
    z = (means - cert) / cert_sd
    assert np.all(np.abs(z) < 3.0), dict(zip([f"b{i + 1}" for i in range(8)], z.round(2)))
    # the posterior spread matches the least-squares standard errors (same data, near-Gaussian
    # posterior; the posterior is taken at the rung nearest b-hat, up to sqrt(1.5) in b away)
    sds = np.array([e.std() for e in est])
    ratio = sds / cert_sd
    assert np.all((ratio > 0.8) & (ratio < 1.25)), ratio.round(3)

    assert fit.noise_estimated
    assert abs(fit.noise_sd / rsd - 1) < 0.05, (fit.noise_sd, rsd)
