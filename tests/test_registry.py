"""Every fast path against one plain reference, for every registered shape, background, prior
and likelihood (issue 12): the Numba profiles (windowed, with the Gaussian recurrence on a
uniform axis) and backgrounds against the array-API formulas of sampling/batched.py evaluated
with NumPy (plain expressions of the documented parameterisation), the kernels' log prior
against Prior.logpdf (scipy-backed), and the kernels' Poisson energy against
likelihood.poisson_energy. Parametrised over the registries, so a new shape without its
reference fails here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from bayespec.models.likelihood import poisson_energy
from bayespec.models.lines import reference
from bayespec.models.priors import _DISTS, parse_prior
from bayespec.models.shapes import BACKGROUNDS, SHAPES, background_any, profile_any, uniform_step
from bayespec.models.shirley import shirley_direction
from bayespec.sampling import batched
from bayespec.sampling.kernel import _pois_ss, log_prior

EXTRA = {"eta": (0.0, 1.0), "asym": (-0.8, 0.8), "splitting": (-2.0, 2.0), "ratio": (0.3, 1.2),
         "gamma": (0.01, 1.0), "alpha": (-0.5, 0.5), "width_ratio": (0.5, 2.0),
         "ka2_ratio": (0.3, 0.7), "lambda_ratio": (1.001, 1.01), "quad_splitting": (0.0, 3.0),
         "quad_shift": (-0.5, 0.5), "field": (0.0, 30.0), "ratio_25": (0.0, 4.0)}
#: shapes whose plain reference is in models.lines.reference (the others: batched.profile), and
#: the tolerance of the fast path against it, relative to the peak: the Voigt to 1e-9 (scipy's
#: Faddeeva function), the DS * G line to 1e-7 (a direct Simpson convolution)
LINE_REFS = {"voigt": 1e-9, "doublet_voigt": 1e-9, "doniach_gaussian": 1e-7,
             "doublet_doniach_gaussian": 1e-7}


def _axis(uniform: bool) -> np.ndarray:
    x = np.linspace(-5.0, 5.0, 401)
    if not uniform:
        x = x + 0.003 * np.sin(7 * x)  # strictly increasing, not uniform: no recurrence
    return x


@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "non-uniform"])
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_numba_profile_matches_reference(name, uniform):
    shp = SHAPES[name]
    x = _axis(uniform)
    h = uniform_step(x)
    assert (h > 0) == uniform
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    for _ in range(20):
        center = rng.uniform(-3, 3)
        width = rng.uniform(0.05, 1.5) if name != "gaussian_nagata" else rng.uniform(0.5, 200)
        extra = np.array([rng.uniform(*EXTRA[e]) for e in shp.extra])
        out = np.zeros(x.size)
        lo, hi = profile_any(shp.code, x, h, center, width, extra, out)
        assert 0 <= lo <= hi <= x.size and np.all(out[:lo] == 0) and np.all(out[hi:] == 0)
        top = max(1.0, float(np.max(np.abs(out))))
        if name in batched.SHAPES:
            ref = batched.profile(np, name, x, np.array([center]), np.array([width]),
                                  extra[None, :])[0]
        else:
            ref = reference.profile(name, x, center, width, extra)
        if name in LINE_REFS:
            np.testing.assert_allclose(out, ref, rtol=0, atol=LINE_REFS[name] * top)
        else:  # the window drops the tails below 2e-16 of the height
            np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14 * top)


@pytest.mark.parametrize("name", sorted(BACKGROUNDS))
def test_numba_background_matches_reference(name):
    """Against batched.background, or (tougaard, computed from the measured data: Numba only)
    models.lines.reference.tougaard_background."""
    bg = BACKGROUNDS[name]
    x = _axis(False)
    m = bg.ncoef(3 if name in ("polynomial", "legendre") else None)
    rng = np.random.default_rng(5)
    kind = name if name in ("exponential", "legendre") else "polynomial"
    for _ in range(10):
        ydata = rng.uniform(0, 100, x.size)
        if name == "tougaard":
            coefs = np.array([rng.uniform(0, 5), rng.uniform(1e3, 5e3), rng.uniform(1e-2, 10)])
        else:
            coefs = rng.normal(size=m) if kind == "polynomial" else np.array(
                [rng.uniform(0.1, 3), rng.uniform(0, 0.5)])
        out = np.zeros(x.size)
        if m:
            background_any(bg.code, x, ydata, coefs, out)
        if name == "tougaard":
            ref = reference.tougaard_background(x, ydata, *coefs, shirley_direction(ydata))
        else:
            ref = batched.background(np, kind, x, coefs[None, :])[0] if m else np.zeros(x.size)
        np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)


SPECS = {"gamma": {"shape": 3.0, "rate": 2.0}, "normal": {"mean": 0.5, "sd": 2.0},
         "uniform": {"low": -1.0, "high": 3.0}, "lognormal": {"mu": 0.2, "sigma": 0.7},
         "truncnormal": {"mean": 0.5, "sd": 1.0, "low": -0.5, "high": 2.0},
         "fixed": {"value": 1.25}}


def _scipy_logpdf(dist: str, spec: dict, t: np.ndarray) -> np.ndarray:
    if dist == "gamma":
        return stats.gamma(spec["shape"], scale=1 / spec["rate"]).logpdf(t)
    if dist == "normal":
        return stats.norm(spec["mean"], spec["sd"]).logpdf(t)
    if dist == "uniform":
        return stats.uniform(spec["low"], spec["high"] - spec["low"]).logpdf(t)
    if dist == "lognormal":
        return stats.lognorm(spec["sigma"], scale=math.exp(spec["mu"])).logpdf(t)
    a, b = (spec["low"] - spec["mean"]) / spec["sd"], (spec["high"] - spec["mean"]) / spec["sd"]
    return stats.truncnorm(a, b, loc=spec["mean"], scale=spec["sd"]).logpdf(t)


@pytest.mark.parametrize("dist", sorted(_DISTS))
def test_log_prior_fast_paths_match_reference(dist):
    """Numba log_prior, the array backend's log_prior and Prior.logpdf agree with scipy's
    density (a fixed prior is a point mass: no density, the kernels add a constant)."""
    assert set(SPECS) == set(_DISTS)
    pr = parse_prior({"dist": dist, **SPECS[dist]}, dist)
    t = np.linspace(-2.0, 4.0, 61)
    p = np.asarray(pr.params, dtype=float)
    numba = np.array([log_prior(pr.code, p, v) for v in t])
    arr = np.asarray(batched.log_prior(np, pr.code, p, t), dtype=float)
    if dist == "fixed":
        assert np.all(numba == p[4]) and np.all(arr == 0.0)
        assert pr.logpdf(np.array([1.25]))[0] == 0.0
        return
    ref = _scipy_logpdf(dist, SPECS[dist], t)
    for got in (numba, arr, pr.logpdf(t)):
        fin = np.isfinite(ref)
        assert np.array_equal(np.isfinite(got), fin)
        np.testing.assert_allclose(got[fin], ref[fin], rtol=1e-10, atol=1e-10)


def test_poisson_energy_fast_path_matches_reference():
    rng = np.random.default_rng(2)
    counts = rng.poisson(rng.uniform(0, 30, 200)).astype(float)
    for _ in range(10):
        f = counts + rng.normal(0, 3, 200) + 3.0
        f[f <= 0] = 0.5
        r = counts - f  # the kernel's residual: mean = counts - r
        assert _pois_ss(counts, r) / 2 == pytest.approx(float(poisson_energy(f, counts)),
                                                        rel=1e-12)
    bad = counts.copy()
    bad[counts > 0] = 0.0  # a zero mean where a count is positive: zero likelihood
    assert _pois_ss(counts, counts - bad) == np.inf == float(poisson_energy(bad, counts))
