"""Count statistics: the Poisson likelihood's data checks, constants and prior support.

With ``model.likelihood: poisson`` the data y_i are raw counts c_i ~ Poisson(f_i), f the model
mean (peaks + background + any fixed offset). The sampler's energy is the deviance form

    E(w) = sum_i [f_i - c_i - c_i log(f_i / c_i)]   (c log c = 0 at c = 0),

so -log p(D | w) = E(w) - C with C = sum_i [c_i log c_i - c_i - log c_i!]. The tempered
posteriors are exp(-beta E) phi(w) for beta from 0 to 1 and the free energy is

    F = -log p(D) = -C - log z(1) - log P_valid,

where P_valid is the prior probability that the mean is a valid Poisson mean (f_i > 0 where
c_i > 0, f_i >= 0 elsewhere): the likelihood is zero outside, the sampler rejects such states
at every rung (it samples the prior restricted to them at beta = 0), and P_valid, estimated
from prior draws, restores the evidence under the prior as given. A prior that puts less than
MIN_VALID of its mass on valid means is refused (fix the priors instead).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, xlogy

from ..errors import ConfigError, DataError

LIKELIHOODS = ("gaussian", "poisson")
CODES = {"gaussian": 0, "poisson": 1}  # kernel.GAUSSIAN_LIK, kernel.POISSON_LIK
MIN_VALID = 0.5  # smallest accepted prior mass on valid Poisson means
VALID_DRAWS = 4000  # prior draws used to estimate P_valid


def check_counts(y: np.ndarray, source: str = "", where: list[str] | None = None,
                 x: np.ndarray | None = None) -> None:
    """Check that ``y`` (shape (n,)) holds counts for a Poisson likelihood: finite, >= 0 and
    whole numbers; DataError naming ``source`` and the first bad point otherwise.

    The point is named by ``where[i]`` ("line 12") when given, else by its axis value
    ``x[i]`` (after preprocessing, lines of the file no longer map to points), else "point i"."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise DataError(f"{source or 'data'}: counts must be a 1-D array, got shape {y.shape}")

    def at(i: int) -> str:
        if where is not None:
            return where[i]
        if x is not None:
            return f"x = {float(x[i]):.6g}"
        return f"point {i} (0-based, after preprocessing)"

    src = source or "data"
    bad = np.flatnonzero(~np.isfinite(y))
    if bad.size:
        raise DataError(f"{src}: {at(int(bad[0]))}: count is {float(y[bad[0]])!r}; a Poisson "
                        f"likelihood needs finite counts")
    bad = np.flatnonzero(y < 0)
    if bad.size:
        raise DataError(f"{src}: {at(int(bad[0]))}: negative count {y[bad[0]]:g} "
                        f"({bad.size} negative in all); a Poisson likelihood needs raw counts "
                        f">= 0: do not subtract a background or normalise before a Poisson "
                        f"fit, or use the Gaussian likelihood")
    bad = np.flatnonzero(y != np.round(y))
    if bad.size:
        raise DataError(f"{src}: {at(int(bad[0]))}: count {float(y[bad[0]])!r} is not a whole "
                        f"number; a Poisson likelihood needs raw counts (no binning by mean, "
                        f"normalisation or background subtraction), or use the Gaussian "
                        f"likelihood")


def poisson_constant(counts: np.ndarray) -> float:
    """C = sum_i [c_i log c_i - c_i - log c_i!] (the deviance energy's offset; see above)."""
    c = np.asarray(counts, dtype=float)
    return float(np.sum(xlogy(c, c) - c - gammaln(c + 1.0)))


def valid_mean(f: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Whether each mean curve f (..., n) is a valid Poisson mean for ``counts`` (n,)."""
    c = np.asarray(counts, dtype=float)
    return np.all(np.where(c > 0, f > 0, f >= 0), axis=-1)


def poisson_energy(f: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Deviance energy E (...,) of mean curves f (..., n); +inf where the mean is invalid."""
    c = np.asarray(counts, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.sum(f - c - xlogy(c, np.where(f > 0, f, 1.0)) + xlogy(c, c), axis=-1)
    return np.where(valid_mean(f, c), e, np.inf)


def prior_valid_fraction(problem, seed: int, draws: int = VALID_DRAWS) -> tuple[float, float]:
    """P_valid and its standard error from ``draws`` prior draws of ``problem`` (a model.Problem).

    Raises ConfigError when P_valid < MIN_VALID: the priors then mostly describe impossible
    (negative) count rates, and the fix is a background prior with positive support."""
    # function-level: models/ is below sampling/ (tests/test_layout.py); seeds.py is a leaf
    from ..sampling.seeds import valid_fraction_seq

    rng = np.random.default_rng(valid_fraction_seq(seed, problem.K))
    theta = np.stack([p.sample(rng, draws) for p in problem.priors], axis=-1)
    ok = valid_mean(problem.curve(theta), problem.y)
    return valid_estimate(ok, f"prior draws (K={problem.K})",
                          "give the background a prior with positive support, e.g. background: "
                          "constant with priors.background {dist: uniform, low: 0, high: <max "
                          "count>}")


def valid_estimate(ok: np.ndarray, draws: str, fix: str) -> tuple[float, float]:
    """P_valid and its relative SE from the validity ``ok`` (N,) of N prior draws; ConfigError
    below MIN_VALID naming the ``draws`` and the ``fix``."""
    p, n = float(ok.mean()), int(ok.size)
    if p < MIN_VALID:
        raise ConfigError(f"priors: with model.likelihood poisson the model mean must stay > 0, "
                          f"but only {100 * p:.1f} % of {draws} give a positive mean "
                          f"everywhere; {fix}")
    return p, math.sqrt(max(p * (1 - p), 1.0 / n) / n) / p
