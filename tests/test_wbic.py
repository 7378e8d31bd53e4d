"""WBIC (Watanabe 2013) beside F: checked against its definition, computed here independently.

WBIC = < -log p(D | w) >_{beta_W}, the mean over the tempered posterior
p(D | w)^beta_W phi(w) / z(beta_W) with beta_W = 1 / log n.
* Gaussian linear model (DESIGN.md section 3): at noise precision b the tempered posterior is
  Gaussian with precision S0^-1 + beta_W b X^T X and mean m, so
  WBIC = (n/2) log(2 pi / b) + b [ |y - X m|^2 / 2 + tr(X^T X S) / 2 ], in closed form, for the
  known noise and for the estimated one (at the reported b-hat).
* Poisson constant level: one parameter, the tempered mean by quadrature on a fine grid.
Tolerance: Z = 3 of the engine's own batch-means SE; seeds fixed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import gammaln, logsumexp

from bayespec.inference.fit import FitSettings, fit_spectrum
from bayespec.inference.freeenergy import wbic
from bayespec.inference.selection import CRITERION_COLUMNS, selection_table
from bayespec.models.priors import parse_prior
from test_oracles import Z, _linear_problem


def closed_wbic(X: np.ndarray, y: np.ndarray, s: float, m0: np.ndarray, S0: np.ndarray) -> float:
    n = len(y)
    b = 1.0 / s ** 2
    bw = b / np.log(n)
    S0i = np.linalg.inv(S0)
    S = np.linalg.inv(S0i + bw * X.T @ X)
    m = S @ (S0i @ m0 + bw * X.T @ y)
    r = y - X @ m
    mean_ne = 0.5 * r @ r + 0.5 * np.trace(X.T @ X @ S)
    return float(0.5 * n * np.log(2 * np.pi / b) + b * mean_ne)


@pytest.mark.parametrize("case,noise", [("linear", 0.1), ("linear", None), ("poly2", 0.1)])
def test_wbic_of_the_linear_model(case, noise):
    x, y, X, kind, degree, priors, m0, S0 = _linear_problem(case)
    fit, = fit_spectrum(x, y, None, "gaussian", [0], kind, degree, priors,
                        FitSettings(noise_sd=noise, sweeps=5000, burn_in=1000, chains=4, thin=5,
                                    seed=0))
    exact = closed_wbic(X, y, fit.noise_sd, m0, S0)  # at the reported noise (b-hat if estimated)
    assert 0 < fit.wbic_se < 0.2
    assert abs(fit.wbic - exact) < Z * fit.wbic_se, (fit.wbic, exact, fit.wbic_se)
    # a cross-check of F, not F: here the prior's volume makes them differ by ~6 nats
    assert abs(fit.wbic - fit.free_energy) > 10 * fit.wbic_se
    t = selection_table([fit])
    assert list(t.columns[-2:]) == CRITERION_COLUMNS and t["wbic"][0] == fit.wbic


def test_wbic_of_a_poisson_level_by_quadrature():
    rng = np.random.default_rng(3)
    x = np.linspace(0.0, 1.0, 40)
    y = rng.poisson(30.0, x.size).astype(float)
    prior = {"background": [parse_prior({"dist": "uniform", "low": 5.0, "high": 80.0}, "p")]}
    fit, = fit_spectrum(x, y, None, "gaussian", [0], "constant", None, prior,
                        FitSettings(sweeps=5000, burn_in=1000, chains=4, thin=5, seed=1),
                        likelihood="poisson")
    c = np.linspace(5.0, 80.0, 200_001)
    nll = c[:, None] - y * np.log(c[:, None]) + gammaln(y + 1)
    nll = nll.sum(axis=1)
    lw = -nll / np.log(y.size)
    exact = float(np.sum(nll * np.exp(lw - logsumexp(lw))))
    assert 0 < fit.wbic_se < 0.2
    assert abs(fit.wbic - exact) < Z * fit.wbic_se, (fit.wbic, exact, fit.wbic_se)


def test_wbic_reweights_from_the_bracketing_rung():
    """Samples of a known tempered family: ne ~ Gamma(d/2, 1/beta) at each beta (a d-parameter
    Gaussian posterior with a flat prior), so <ne>_beta = d / (2 beta) exactly."""
    rng = np.random.default_rng(0)
    d, n = 4, 100
    betas = np.concatenate([[0.0], 2.0 ** np.arange(-6, 3)])
    ne = np.stack([[rng.gamma(d / 2, 1 / max(b, 1e-3), 4000) for b in betas] for _ in range(4)])
    b = 3.0
    w, se = wbic(ne, betas, n, b, 0.0)
    assert abs(w - b * d / 2 / (b / np.log(n))) < Z * se
    assert np.isnan(wbic(ne, betas, 2, betas[-1], 0.0)[0])  # 1 / log 2 > 1: above the top
