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
import re
from pathlib import Path

import numpy as np
from scipy.special import gammaln, xlogy

from .errors import ConfigError, DataError

LIKELIHOODS = ("gaussian", "poisson")
CODES = {"gaussian": 0, "poisson": 1}  # kernel.GAUSSIAN_LIK, kernel.POISSON_LIK
MIN_VALID = 0.5  # smallest accepted prior mass on valid Poisson means
VALID_DRAWS = 4000  # prior draws used to estimate P_valid


def check_counts(y: np.ndarray, source: str = "") -> None:
    """Raise DataError unless every y_i is a non-negative integer (a Poisson count).

    Names the file and, when ``source`` is a readable text file, the first bad line."""
    y = np.asarray(y, dtype=float)
    bad = np.flatnonzero((y < 0) | (y != np.round(y)) | ~np.isfinite(y))
    if not bad.size:
        return
    where = _first_bad_line(source) or f"point {int(bad[0]) + 1}"
    raise DataError(f"{source or 'data'}: {where}: y = {float(y[bad[0]]):g} is not a count; "
                    f"model.likelihood poisson needs raw non-negative integer counts (not "
                    f"normalised or background-subtracted data); use likelihood gaussian "
                    f"for other data")


def _first_bad_line(source: str) -> str | None:
    """'line N' of the first data row whose 2nd column is not a non-negative integer."""
    try:
        text = Path(source).read_text(encoding="utf-8-sig", errors="replace")
    except (OSError, ValueError):
        return None
    for lineno, line in enumerate(text.splitlines(), 1):
        cells = [c for c in re.split(r"[,;\s]+", line.split("#", 1)[0].strip()) if c]
        if len(cells) < 2:
            continue
        try:
            v = float(cells[1])
        except ValueError:
            continue  # header
        if not (math.isfinite(v) and v >= 0 and v == round(v)):
            return f"line {lineno}"
    return None


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
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(problem.K, 2 ** 21)))
    theta = np.stack([p.sample(rng, draws) for p in problem.priors], axis=-1)
    ok = valid_mean(problem.curve(theta), problem.y)
    p = float(ok.mean())
    if p < MIN_VALID:
        raise ConfigError(f"priors: with model.likelihood poisson the model mean must stay > 0, "
                          f"but only {100 * p:.1f} % of prior draws (K={problem.K}) give a "
                          f"positive mean everywhere; give the background a prior with positive "
                          f"support, e.g. background: constant with priors.background "
                          f"{{dist: uniform, low: 0, high: <max count>}}")
    return p, math.sqrt(max(p * (1 - p), 1.0 / draws) / draws) / p
