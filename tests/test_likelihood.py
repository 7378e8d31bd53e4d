"""Poisson likelihood: free energies against closed forms and quadrature, data and config checks,
and the heteroscedastic Gaussian (sd column) against its closed form."""

import math

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp

from bayespec.config import parse_fit_config
from bayespec.errors import ConfigError, DataError
from bayespec.inference.fit import FitSettings, fit_problems, fit_spectrum
from bayespec.models.likelihood import poisson_constant, poisson_energy
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior

FAST = dict(replicas=16, burn_in=300, sweeps=1500, chains=4, seed=3, threads=2)


def _p(spec, positive=False):
    return parse_prior(spec, "test", positive=positive)


def _gamma_case():
    rng = np.random.default_rng(11)
    n, a, b = 60, 3.0, 0.1
    x = np.linspace(0.0, 1.0, n)
    y = rng.poisson(25.0, n).astype(float)
    S = y.sum()
    exact = -(a * math.log(b) - gammaln(a) - gammaln(y + 1).sum() + gammaln(a + S)
              - (a + S) * math.log(b + n))
    return x, y, {"background": _p({"dist": "gamma", "shape": a, "rate": b})}, exact


def test_poisson_gamma_evidence_batched_numpy():
    """The array-API backend's Poisson path against the same closed form."""
    x, y, prior, exact = _gamma_case()
    [fit] = fit_spectrum(x, y, None, "gaussian", [0], "constant", None, prior,
                         FitSettings(**{**FAST, "backend": "numpy"}), likelihood="poisson")
    assert fit.free_energy_se < 0.05
    assert abs(fit.free_energy - exact) < 3 * fit.free_energy_se + 1e-3, (fit.free_energy, exact)


@pytest.mark.parametrize("shape,extra", [("asym_pseudo_voigt", [0.3, 0.7]),
                                         ("asym_pseudo_voigt", [0.6, -2.0]),
                                         ("doublet_gaussian", [-1.5, 0.6]),
                                         ("doublet_pseudo_voigt", [0.4, 2.0, 0.5]),
                                         ("doublet_asym_pseudo_voigt", [0.4, 0.5, -3.7, 0.75])])
def test_batched_profiles_match_numba(shape, extra):
    import array_api_compat.numpy as xp

    from bayespec.sampling import batched
    from bayespec.models.shapes import SHAPES

    x = np.linspace(0.0, 10.0, 201)
    out = np.zeros_like(x)
    lo, hi = SHAPES[shape].profile(x, 0.05, 5.0, 0.4, np.array(extra), out)
    out[:lo] = 0.0
    out[hi:] = 0.0
    got = batched.profile(xp, shape, x, np.array([5.0]), np.array([0.4]), np.array([extra]))[0]
    np.testing.assert_allclose(got, out, atol=1e-15)


def test_poisson_gamma_evidence():
    """y_i ~ Poisson(c), c ~ Gamma(a, rate b): log p(D) = a log b - lgamma(a) - sum log y_i!
    + lgamma(a + S) - (a + S) log(b + n), S = sum y."""
    x, y, prior, exact = _gamma_case()
    n, a, b, S = len(x), 3.0, 0.1, y.sum()
    [fit] = fit_spectrum(x, y, None, "gaussian", [0], "constant", None, prior,
                         FitSettings(**FAST), likelihood="poisson")
    assert math.isnan(fit.noise_sd) and fit.likelihood == "poisson"
    assert fit.ladder.beta[-1] == 1.0
    assert fit.free_energy_se < 0.05
    assert abs(fit.free_energy - exact) < 3 * fit.free_energy_se + 1e-3, (fit.free_energy, exact)
    # posterior of c is Gamma(a + S, b + n)
    c = fit.posterior["background"][..., 0]
    assert abs(c.mean() - (a + S) / (b + n)) < 4 * math.sqrt(a + S) / (b + n) / math.sqrt(50)


def _doublet_problem(y, x, amax):
    pri = {"amplitude": _p({"dist": "uniform", "low": 0.0, "high": amax}, True),
           "center": _p({"dist": "fixed", "value": 4.0}),
           "width": _p({"dist": "fixed", "value": 0.5}, True),
           "splitting": _p({"dist": "fixed", "value": 1.5}),
           "ratio": _p({"dist": "fixed", "value": 0.75}, True),
           "background": _p({"dist": "fixed", "value": 5.0})}
    return build_problem(x, y, None, "doublet_gaussian", 1, "constant", None, pri,
                         likelihood="poisson")


def test_poisson_amplitude_quadrature_with_fixed_parameters():
    """One free amplitude A ~ U(0, amax) of a doublet with fixed center, width, splitting,
    ratio and background: log p(D) by quadrature over A; fixed values add nothing to F."""
    rng = np.random.default_rng(5)
    x = np.linspace(0.0, 8.0, 81)
    g = np.exp(-0.5 * ((x - 4.0) / 0.5) ** 2) + 0.75 * np.exp(-0.5 * ((x - 5.5) / 0.5) ** 2)
    y = rng.poisson(40.0 * g + 5.0).astype(float)
    amax = 100.0
    grid = np.linspace(1e-9, amax, 200001)
    mean = grid[:, None] * g[None, :] + 5.0
    loglik = np.sum(y * np.log(mean) - mean, axis=1) - gammaln(y + 1).sum()
    exact = -(logsumexp(loglik) + math.log(grid[1] - grid[0]) - math.log(amax))
    prob = _doublet_problem(y, x, amax)
    [fit] = fit_problems([prob], FitSettings(**FAST))
    assert fit.free_energy_se < 0.05
    assert abs(fit.free_energy - exact) < 3 * fit.free_energy_se + 1e-3, (fit.free_energy, exact)
    # fixed parameters never move
    assert np.all(fit.posterior["splitting"] == 1.5) and np.all(fit.posterior["ratio"] == 0.75)
    assert np.all(fit.posterior["center"] == 4.0)


def test_poisson_energy_and_constant():
    y = np.array([0.0, 3.0, 10.0])
    f = np.array([0.5, 2.0, 12.0])
    ll = np.sum(y * np.log(f) - f - gammaln(y + 1))
    assert poisson_energy(f, y) - poisson_constant(y) == pytest.approx(-ll)
    assert poisson_energy(np.array([0.5, 0.0, 1.0]), y) == np.inf  # f = 0 with a count
    assert np.isfinite(poisson_energy(np.array([0.0, 1.0, 1.0]), y))  # f = 0, y = 0 is fine


def test_heteroscedastic_gaussian_closed_form():
    """An sd column gives weights 1/sd_i^2: K = 0 constant model with a Normal prior, known
    noise scale 1, against the closed-form Gaussian linear-model evidence."""
    rng = np.random.default_rng(2)
    n = 50
    x = np.linspace(0.0, 1.0, n)
    sd = np.linspace(0.5, 3.0, n)
    y = 2.0 + sd * rng.standard_normal(n)
    m0, s0 = 0.0, 5.0
    prec = 1 / s0 ** 2 + np.sum(1 / sd ** 2)
    mN = (m0 / s0 ** 2 + np.sum(y / sd ** 2)) / prec
    exact = (0.5 * n * math.log(2 * math.pi) + np.sum(np.log(sd)) + math.log(s0)
             + 0.5 * math.log(prec)
             + 0.5 * (np.sum(y ** 2 / sd ** 2) + m0 ** 2 / s0 ** 2 - mN ** 2 * prec))
    prior = {"background": _p({"dist": "normal", "mean": m0, "sd": s0})}
    [fit] = fit_spectrum(x, y, sd, "gaussian", [0], "constant", None, prior,
                         FitSettings(noise_sd=1.0, **FAST))
    assert fit.free_energy_se < 0.05
    assert abs(fit.free_energy - exact) < 3 * fit.free_energy_se + 1e-3, (fit.free_energy, exact)


def test_counts_must_be_integers(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("x,y\n1,3\n2,4.5\n3,2\n")
    with pytest.raises(DataError, match=r"s\.csv: x = 2: count 4\.5 is not a whole number"):
        build_problem(np.array([1.0, 2, 3]), np.array([3.0, 4.5, 2]), None, "gaussian", 0,
                      "constant", None, {}, source=str(p), likelihood="poisson")
    with pytest.raises(DataError, match="count"):
        build_problem(np.arange(4.0), np.array([3.0, -1, 2, 1]), None, "gaussian", 0,
                      "constant", None, {}, likelihood="poisson")


def test_poisson_refuses_sd_column_and_noise_block():
    x = np.arange(10.0)
    with pytest.raises(ConfigError, match="sd column"):
        build_problem(x, np.ones(10), np.ones(10), "gaussian", 0, "constant", None, {},
                      likelihood="poisson")
    with pytest.raises(ConfigError, match="noise: not used with model.likelihood poisson"):
        parse_fit_config({"model": {"likelihood": "poisson"}, "noise": {"sd": 1.0}})
    with pytest.raises(ConfigError, match="model.likelihood: must be one of"):
        parse_fit_config({"model": {"likelihood": "binomial"}})


def test_poisson_refuses_prior_of_mostly_negative_means():
    x = np.arange(20.0)
    prior = {"background": _p({"dist": "normal", "mean": -10.0, "sd": 5.0})}
    prob = build_problem(x, np.ones(20), None, "gaussian", 0, "constant", None, prior,
                         likelihood="poisson")
    with pytest.raises(ConfigError, match="positive mean"):
        fit_problems([prob], FitSettings(sweeps=20, burn_in=0, chains=2, threads=1))


def test_fit_to_dir_with_poisson_writes_stores(tmp_path):
    """The `bayespec fit` path: config -> stores with the likelihood recorded, NaN noise and a
    Poisson predictive band."""
    from bayespec.inference.runner import fit_to_dir
    from bayespec.io.store import read_fit

    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 10.0, 80)
    y = rng.poisson(300 * np.exp(-0.5 * ((x - 5) / 0.6) ** 2) + 30)
    data = tmp_path / "counts.csv"
    data.write_text("x,y\n" + "".join(f"{a},{b}\n" for a, b in zip(x, y)))
    cfg = parse_fit_config({"model": {"likelihood": "poisson", "K": [1],
                                      "background": {"kind": "constant"}},
                            "sampler": {"burn_in": 100, "sweeps": 100, "chains": 2,
                                        "threads": 1, "replicas": 8}})
    table, _ = fit_to_dir(data, cfg, tmp_path / "out")
    assert table.noise_sd.isna().all() and np.isfinite(table.free_energy).all()
    tree = read_fit(tmp_path / "out" / "K1.zarr")
    assert tree.attrs["likelihood"] == "poisson" and tree.ladder["beta"].values[-1] == 1.0
    pred = tree["predictive"]
    inside = (pred["y_lo"].values <= y) & (y <= pred["y_hi"].values)
    assert inside.mean() > 0.85  # a 95 % Poisson predictive band covers the data
    assert abs(float(tree.posterior["center"].mean()) - 5.0) < 0.1
