"""Proper prior distributions, parsed from config and evaluated inside the sampler kernel.

Every prior is encoded as an integer code plus five numbers so the Numba kernel can evaluate
its log density without Python objects: ``params = (p0, p1, p2, p3, log_norm)``. The log
normalising constant is computed here, once, because the free energy depends on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ..errors import PriorError

GAMMA, NORMAL, UNIFORM, LOGNORMAL, TRUNCNORMAL, FIXED = 0, 1, 2, 3, 4, 5

# dist name -> (code, required keys)
_DISTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "gamma": (GAMMA, ("shape", "rate")),
    "normal": (NORMAL, ("mean", "sd")),
    "uniform": (UNIFORM, ("low", "high")),
    "lognormal": (LOGNORMAL, ("mu", "sigma")),
    "truncnormal": (TRUNCNORMAL, ("mean", "sd", "low", "high")),
    # a point mass: the parameter is not sampled and adds nothing to the log prior, so the
    # evidence is that of the model with this value fixed (e.g. a physics-given splitting)
    "fixed": (FIXED, ("value",)),
}
_ALIASES = {"truncated_normal": "truncnormal", "normal_truncated": "truncnormal"}


@dataclass(frozen=True)
class Prior:
    """One proper prior. ``params`` holds (p0, p1, p2, p3, log_norm) for the kernel."""

    dist: str
    code: int
    params: tuple[float, float, float, float, float]
    spec: Mapping[str, Any]

    @property
    def support(self) -> tuple[float, float]:
        """(low, high) of the support."""
        p0, p1, p2, p3, _ = self.params
        if self.code in (GAMMA, LOGNORMAL):
            return (0.0, math.inf)
        if self.code == NORMAL:
            return (-math.inf, math.inf)
        if self.code == UNIFORM:
            return (p0, p1)
        if self.code == FIXED:
            return (p0, p0)
        return (p2, p3)

    @property
    def positive(self) -> bool:
        """True when the support lies in [0, inf) (for a fixed value: > 0)."""
        if self.code == FIXED:
            return self.params[0] > 0.0
        return self.support[0] >= 0.0

    @property
    def fixed(self) -> bool:
        """True for a point mass: the sampler never proposes a move for this parameter."""
        return self.code == FIXED

    def logpdf(self, theta: np.ndarray) -> np.ndarray:
        """Log density at ``theta`` (any shape); -inf outside the support."""
        theta = np.asarray(theta, dtype=float)
        return _logpdf_np(self.code, np.asarray(self.params), theta)

    def scipy(self):
        """The frozen scipy distribution (used for sampling initial states and in tests)."""
        from scipy import stats  # imported here: scipy.stats costs ~1.3 s per process

        p0, p1, p2, p3, _ = self.params
        if self.code == GAMMA:
            return stats.gamma(a=p0, scale=1.0 / p1)
        if self.code == NORMAL:
            return stats.norm(loc=p0, scale=p1)
        if self.code == UNIFORM:
            return stats.uniform(loc=p0, scale=p1 - p0)
        if self.code == LOGNORMAL:
            return stats.lognorm(s=p1, scale=math.exp(p0))
        if self.code == FIXED:
            raise ValueError("a fixed value has no scipy distribution")
        return stats.truncnorm((p2 - p0) / p1, (p3 - p0) / p1, loc=p0, scale=p1)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Independent draws (used to initialise replicas).

        Written with the Generator directly, in the same order of operations as scipy.stats'
        rvs (identical draws), so a fit job need not import scipy.stats (~0.5 s per process).
        """
        p0, p1, p2, p3, _ = self.params
        if self.code == GAMMA:
            return rng.standard_gamma(p0, size) * (1.0 / p1) + 0.0
        if self.code == NORMAL:
            return rng.standard_normal(size) * p1 + p0
        if self.code == UNIFORM:
            return rng.uniform(0.0, 1.0, size) * (p1 - p0) + p0
        if self.code == LOGNORMAL:
            return np.exp(p1 * rng.standard_normal(size)) * math.exp(p0) + 0.0
        if self.code == FIXED:
            return np.full(size, p0)
        return self.scipy().rvs(size=size, random_state=rng)

    def scale(self) -> float:
        """A typical spread of the prior, its 5-95 % range (initial and maximal proposal step)."""
        p0, p1, *_ = self.params
        if self.code == NORMAL:
            from scipy.special import ndtri

            return float((p0 + p1 * ndtri(0.95)) - (p0 + p1 * ndtri(0.05)))
        if self.code == UNIFORM:
            return float((p0 + 0.95 * (p1 - p0)) - (p0 + 0.05 * (p1 - p0)))
        if self.code == FIXED:
            return 0.0
        lo, hi = self.scipy().ppf([0.05, 0.95])
        return float(hi - lo)


def _logpdf_np(code: int, p: np.ndarray, theta: np.ndarray) -> np.ndarray:
    p0, p1, p2, p3, lnorm = p
    with np.errstate(divide="ignore", invalid="ignore"):
        if code == GAMMA:
            out = (p0 - 1.0) * np.log(theta) - p1 * theta + lnorm
            return np.where(theta > 0, out, -np.inf)
        if code == NORMAL:
            return -0.5 * ((theta - p0) / p1) ** 2 + lnorm
        if code == UNIFORM:
            return np.where((theta >= p0) & (theta <= p1), lnorm, -np.inf)
        if code == LOGNORMAL:
            lt = np.log(theta)
            out = -0.5 * ((lt - p0) / p1) ** 2 - lt + lnorm
            return np.where(theta > 0, out, -np.inf)
        if code == FIXED:
            return np.where(theta == p0, 0.0, -np.inf)
        out = -0.5 * ((theta - p0) / p1) ** 2 + lnorm
        return np.where((theta >= p2) & (theta <= p3), out, -np.inf)


def _num(spec: Mapping[str, Any], k: str, key: str) -> float:
    v = spec[k]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise PriorError(f"{key}.{k}: expected a number, got {v!r}")
    v = float(v)
    if not math.isfinite(v):
        raise PriorError(f"{key}.{k}: must be finite, got {v!r}")
    return v


def parse_prior(spec: Any, key: str, positive: bool = False) -> Prior:
    """Parse and validate one prior spec such as ``{dist: gamma, shape: 5, rate: 5}``.

    ``key`` names the config key in error messages (e.g. ``priors.width``); ``positive`` says
    the parameter must be > 0 (amplitudes, widths), so the prior's support must be too.
    Raises PriorError naming the key and the fix for an improper or impossible prior.
    """
    if not isinstance(spec, Mapping):
        raise PriorError(f"{key}: a prior must be a mapping like {{dist: normal, mean: 0, sd: 1}}, "
                         f"got {spec!r}")
    dist = spec.get("dist")
    if dist is None:
        raise PriorError(f"{key}: missing 'dist'; choose one of {sorted(_DISTS)}")
    dist = _ALIASES.get(str(dist), str(dist))
    if dist not in _DISTS:
        raise PriorError(f"{key}.dist: unknown distribution {spec.get('dist')!r}; "
                         f"choose one of {sorted(_DISTS)}")
    code, needed = _DISTS[dist]
    extra = set(spec) - set(needed) - {"dist"}
    if extra:
        raise PriorError(f"{key}: unknown key(s) {sorted(extra)} for dist {dist}; "
                         f"it takes {list(needed)}")
    missing = [k for k in needed if k not in spec]
    if missing:
        raise PriorError(f"{key}: dist {dist} needs {list(needed)}; missing {missing}")
    v = {k: _num(spec, k, key) for k in needed}

    if code == GAMMA:
        for k in ("shape", "rate"):
            if v[k] <= 0:
                raise PriorError(f"{key}.{k}: gamma {k} must be > 0 (got {v[k]:g}); "
                                 f"an improper prior makes the free energy meaningless")
        a, r = v["shape"], v["rate"]
        params = (a, r, 0.0, 0.0, a * math.log(r) - math.lgamma(a))
    elif code == NORMAL:
        if v["sd"] <= 0:
            raise PriorError(f"{key}.sd: must be > 0 (got {v['sd']:g})")
        params = (v["mean"], v["sd"], 0.0, 0.0, -math.log(v["sd"]) - 0.5 * math.log(2 * math.pi))
    elif code == UNIFORM:
        if not v["low"] < v["high"]:
            raise PriorError(f"{key}: uniform needs low < high (got low={v['low']:g}, "
                             f"high={v['high']:g}); swap or widen them")
        params = (v["low"], v["high"], 0.0, 0.0, -math.log(v["high"] - v["low"]))
    elif code == FIXED:
        params = (v["value"], 0.0, 0.0, 0.0, 0.0)
    elif code == LOGNORMAL:
        if v["sigma"] <= 0:
            raise PriorError(f"{key}.sigma: must be > 0 (got {v['sigma']:g})")
        params = (v["mu"], v["sigma"], 0.0, 0.0,
                  -math.log(v["sigma"]) - 0.5 * math.log(2 * math.pi))
    else:
        m, s, lo, hi = v["mean"], v["sd"], v["low"], v["high"]
        if s <= 0:
            raise PriorError(f"{key}.sd: must be > 0 (got {s:g})")
        if not lo < hi:
            raise PriorError(f"{key}: truncnormal needs low < high (got low={lo:g}, high={hi:g})")
        from scipy import special

        a, b = (lo - m) / s, (hi - m) / s
        # log(Phi(b) - Phi(a)) computed stably in the tails
        if a > 0:
            lmass = special.log_ndtr(-a) + math.log1p(-math.exp(special.log_ndtr(-b)
                                                                 - special.log_ndtr(-a)))
        else:
            lmass = special.log_ndtr(b) + math.log1p(-math.exp(special.log_ndtr(a)
                                                                - special.log_ndtr(b)))
        if not math.isfinite(lmass):
            raise PriorError(f"{key}: truncnormal has no mass in [{lo:g}, {hi:g}] "
                             f"(mean {m:g}, sd {s:g}); move the bounds")
        params = (m, s, lo, hi, -math.log(s) - 0.5 * math.log(2 * math.pi) - lmass)

    prior = Prior(dist=dist, code=code, params=tuple(float(p) for p in params), spec=dict(spec))
    if positive and not prior.positive:
        lo = prior.support[0]
        fix = {"normal": "use gamma, lognormal, uniform with low >= 0 or truncnormal with low >= 0"}
        raise PriorError(f"{key}: this parameter must be positive but the {dist} prior has "
                         f"support down to {lo:g}; "
                         f"{fix.get(dist, 'set low >= 0 or use a gamma or lognormal prior')}")
    return prior


def pack(priors: list[Prior]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays for the kernel: codes (P,) int64, params (P, 5) float64, log-space flags (P,) bool."""
    codes = np.array([p.code for p in priors], dtype=np.int64)
    params = np.array([p.params for p in priors], dtype=np.float64).reshape(len(priors), 5)
    logspace = np.array([p.positive and not p.fixed for p in priors], dtype=np.bool_)
    return codes, params, logspace
