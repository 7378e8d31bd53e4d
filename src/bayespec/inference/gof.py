"""Goodness of fit of one candidate model (pure NumPy functions, no I/O).

A free energy compares models with each other, not with the data: F keeps falling with K
when the line shape or the background is wrong. These checks tell whether the model
describes the data at all. Everything is at the posterior rung (the posterior draws).

* ``chi2_n`` (Gaussian): the posterior mean over the draws of
  chi2(w) / n = sum_i (y_i - f(x_i; w))^2 / sigma_i^2 / n. sigma_i is the **reference
  noise**: the given ``noise.sd``, or the data's sd column as given (scale 1, whatever scale
  factor F picked). If the noise is estimated and there is no sd column, it is the
  model-free noise estimate s0 from second differences (models.model.noise_guess). At the
  noise F picks, chi2/n = 1 by construction (dF/db = 0 means b <ne> = n/2), so that noise
  cannot be the yardstick. The posterior mean of chi2 over the draws is about chi2_min + p,
  and its expectation under the model is n for any number of parameters p. So chi2_n ~ 1,
  with sd ~ sqrt(2/n), when the model and the noise level are right.
* ``chi2_n`` (Poisson counts): the mean deviance per point,
  2 sum_i [y_i log(y_i / mu_i) - (y_i - mu_i)] / n, which is 2 * (sampler energy) / n.
* ``ppc_p``: a posterior predictive p-value. For up to :data:`PPC_DRAWS` posterior draws w_s,
  replicated data y_rep are drawn from the model at w_s and compared with the data through a
  discrepancy T: ppc_p = #{T(y_rep, w_s) >= T(y, w_s)} / S. y_rep is Poisson(mu) for counts,
  else Gaussian with the reference noise when it is known (noise.sd, sd column), or with the
  noise F picked when it is estimated. T is chi2 (counts: the deviance) when the noise is
  known. When the noise is estimated, chi2 is matched by construction (ppc_p would be ~0.5
  for any model), so T is then the lag-1 autocorrelation of the standardised residuals.
  A missing peak or a wrong line shape leaves runs of same-sign residuals (T > 0), and T does
  not depend on the noise scale. The draws come from a stream seeded by the fit's seed
  (spawn key (K, PPC), or (K_1, .., K_C, PPC) for a composite candidate; sampling.seeds).
* ``adequate`` is False when ppc_p < :data:`PPC_P_MIN` = 0.01, or when chi2_n >
  :data:`CHI2_N_MAX` = 2 and the excess is more than :data:`CHI2_SIGMAS` = 5 of its own sds
  (5 sqrt(2/n); this only matters for n < 50). Posterior predictive p-values are
  conservative (they pile up near 0.5 for a good model), so a 1 % limit rarely flags an
  adequate model. chi2/n = 2 means half the scatter is unexplained.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

CHI2_N_MAX = 2.0  # chi2/n (deviance/n) above this, and CHI2_SIGMAS sds above 1: inadequate
CHI2_SIGMAS = 5.0
PPC_P_MIN = 0.01  # posterior predictive p-value below this: inadequate
PPC_DRAWS = 400  # posterior draws used by the predictive check


def chi2_per_point(ne_draws: np.ndarray, precision: float, n: int) -> float:
    """Posterior mean chi2/n from the sampler's energies.

    ne_draws: (...) n*E = sum_i w_i (y_i - f_i)^2 / 2 per draw (y-units^2 times w);
    precision: 1/sigma^2 of the reference noise (w then gives the per-point weights)."""
    return float(np.mean(2.0 * precision * np.asarray(ne_draws, float)) / n)


def deviance_per_point(ne_draws: np.ndarray, n: int) -> float:
    """Posterior mean Poisson deviance per point; ne_draws (...) are the sampler's energies
    sum_i [mu_i - y_i - y_i log(mu_i / y_i)] (models.likelihood), half the deviance."""
    return float(np.mean(2.0 * np.asarray(ne_draws, float)) / n)


def chi2(y: np.ndarray, f: np.ndarray, w: np.ndarray, precision: float) -> np.ndarray:
    """chi2 per draw: sum_i precision * w_i (y_i - f_i)^2. y (n,) or (S, n), f (S, n)."""
    return precision * np.sum(w * (y - f) ** 2, axis=-1)


def deviance(y: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Poisson deviance per draw, 2 sum_i [y log(y/mu) - (y - mu)]; y (n,) or (S, n), mu (S, n)
    (y log y = 0 at y = 0; mu = 0 where y > 0 gives inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 * np.sum(xlogy(y, y) - xlogy(y, mu) - (y - mu), axis=-1)


def lag1_autocorrelation(y: np.ndarray, f: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Lag-1 autocorrelation of the standardised residuals r_i = (y_i - f_i) sqrt(w_i) per
    draw: sum r_i r_{i+1} / sum r_i^2 (dimensionless; ~N(0, 1/n) for independent noise)."""
    r = (y - f) * np.sqrt(w)
    den = np.sum(r * r, axis=-1)
    return np.sum(r[..., 1:] * r[..., :-1], axis=-1) / np.where(den > 0, den, 1.0)


def ppc_pvalue(y: np.ndarray, f: np.ndarray, w: np.ndarray, likelihood: str,
               precision: float, statistic: str, rng: np.random.Generator) -> float:
    """Posterior predictive p-value P(T(y_rep, w_s) >= T(y, w_s)).

    y: (n,) data; f: (S, n) model means at S posterior draws; w: (n,) weights (1/sd_i^2 or 1);
    precision: 1/sigma^2 of the replicated noise (Gaussian: sd_i = 1/sqrt(precision w_i));
    statistic: ``chi2``, ``deviance`` (counts) or ``lag1`` (:func:`lag1_autocorrelation`)."""
    if likelihood == "poisson":
        mu = np.maximum(f, 0.0)
        rep = rng.poisson(mu).astype(float)
    else:
        mu = f
        rep = f + rng.standard_normal(f.shape) / np.sqrt(precision * w)
    if statistic == "chi2":
        t_obs, t_rep = chi2(y, f, w, precision), chi2(rep, f, w, precision)
    elif statistic == "deviance":
        t_obs, t_rep = deviance(y, mu), deviance(rep, mu)
    elif statistic == "lag1":
        t_obs, t_rep = lag1_autocorrelation(y, f, w), lag1_autocorrelation(rep, f, w)
    else:
        raise ValueError(f"unknown discrepancy {statistic!r}")
    return float(np.mean(t_rep >= t_obs))


def p_text(p: float, draws: int) -> str:
    """``p_ppc = 0.034``, or ``p_ppc < 0.0025`` (one over the draws) when no replicate reached
    the data's discrepancy."""
    if not np.isfinite(p):
        return "p_ppc n/a"
    return f"p_ppc < {1.0 / draws:.2g}" if p == 0 else f"p_ppc = {p:.2g}"


def inadequacy(chi2_n: float, ppc_p: float, n: int, label: str, likelihood: str,
               draws: int) -> str | None:
    """The warning for a clearly inadequate model (module docstring), or None if adequate.

    label: the candidate (``K=2``, ``K=1-2``); draws: how many draws the p-value used."""
    bad_chi2 = (np.isfinite(chi2_n) and chi2_n > CHI2_N_MAX
                and chi2_n - 1.0 > CHI2_SIGMAS * np.sqrt(2.0 / n))
    bad_ppc = np.isfinite(ppc_p) and ppc_p < PPC_P_MIN
    if not (bad_chi2 or bad_ppc):
        return None
    what = "deviance/n" if likelihood == "poisson" else "chi2/n"
    return (f"{label}: {what} = {chi2_n:.3g} ({p_text(ppc_p, draws)}): the model does not "
            f"describe the data; do not read K from this fit")
