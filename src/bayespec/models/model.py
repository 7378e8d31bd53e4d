"""A K-peak model bound to one spectrum: parameter layout, priors (given or defaulted), weights."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError, DataError
from .likelihood import LIKELIHOODS, check_counts
from .priors import Prior, parse_prior
from .shapes import BACKGROUNDS, EXTRAS, SHAPES, Background, Shape, uniform_step
from .shirley import end_levels, running_integral, shirley_direction
from .tougaard import universal_log_priors

PEAK_KINDS = ("amplitude", "center", "width")


@dataclass(frozen=True)
class Problem:
    """Everything the kernel needs for one (spectrum, K).

    x, y: (n,) axis and data; w: (n,) relative weights 1/sd_i^2 (ones without an sd column);
    h: uniform step of x or 0. priors: (P,) one per packed parameter, in kernel layout:
    K * stride peak parameters, nb background coefficients, then with an active Shirley
    background (shirley_dir +1 / -1, see models/shirley.py) its scale s (1 / x units).
    """

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    h: float
    K: int
    shape: Shape
    background: Background
    nb: int
    priors: tuple[Prior, ...]
    param_names: tuple[str, ...]
    likelihood: str = "gaussian"  # gaussian | poisson (y are then raw counts)
    offset: np.ndarray | None = None  # (n,) fixed part of the mean (e.g. a Shirley curve)
    shirley_dir: int = 0  # active Shirley background: +1 / -1 its direction, 0 none
    #: warm start (inference/warm.py): (M, P) parameter draws in this layout that the chains
    #: start from (each replica one row, picked by the chain's own seed); None: prior draws
    start: np.ndarray | None = None

    @property
    def coef_names(self) -> list[str]:
        """Names of the tail parameters: the background coefficients (+ 'shirley')."""
        return self.background.coef_names(self.nb) + (["shirley"] if self.shirley_dir else [])

    @property
    def y_fit(self) -> np.ndarray:
        """The data the sampled part of the model is fitted to: y minus the fixed offset."""
        return self.y if self.offset is None else np.ascontiguousarray(self.y - self.offset)

    @property
    def stride(self) -> int:
        return 3 + len(self.shape.extra)

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def sum_log_w(self) -> float:
        return float(np.sum(np.log(self.w)))

    @property
    def peak_vars(self) -> tuple[str, ...]:
        return PEAK_KINDS + self.shape.extra

    def curve(self, theta: np.ndarray) -> np.ndarray:
        """Model f(x; theta) for natural-space draws theta (..., P) -> (..., n)."""
        theta = np.asarray(theta, dtype=float)
        flat = theta.reshape(int(np.prod(theta.shape[:-1])), theta.shape[-1])
        out = np.zeros((flat.shape[0], self.n))
        g = np.zeros(self.n)
        bgc = np.zeros(self.n)
        st = self.stride
        nb0 = self.K * st
        for d, t in enumerate(flat):
            for k in range(self.K):
                o = k * st
                g[:] = 0.0
                lo, hi = self.shape.profile(self.x, self.h, t[o + 1], t[o + 2], t[o + 3:o + st], g)
                out[d, lo:hi] += t[o] * g[lo:hi]
            if self.shirley_dir:
                out[d] += t[nb0 + self.nb] * running_integral(self.x, out[d], self.shirley_dir)
            if self.nb:
                self.background.curve(self.x, self.y, np.ascontiguousarray(t[nb0:nb0 + self.nb]),
                                      bgc)
                out[d] += bgc
        if self.offset is not None:
            out += self.offset
        return out.reshape(theta.shape[:-1] + (self.n,))

    def components(self, theta: np.ndarray) -> np.ndarray:
        """Each peak's contribution (K, n) and the background as the last row: (K + 1, n);
        an active Shirley step (of all peaks together) is part of the background row."""
        st = self.stride
        out = np.zeros((self.K + 1, self.n))
        g = np.zeros(self.n)
        nb0 = self.K * st
        for k in range(self.K):
            o = k * st
            g[:] = 0.0
            lo, hi = self.shape.profile(self.x, self.h, theta[o + 1], theta[o + 2],
                                        np.ascontiguousarray(theta[o + 3:o + st]), g)
            out[k, lo:hi] = theta[o] * g[lo:hi]
        if self.nb:
            self.background.curve(self.x, self.y, np.ascontiguousarray(theta[nb0:nb0 + self.nb]),
                                  out[-1])
        if self.shirley_dir:
            out[-1] += theta[nb0 + self.nb] * running_integral(self.x, out[:-1].sum(axis=0),
                                                               self.shirley_dir)
        if self.offset is not None:
            out[-1] += self.offset
        return out


def default_priors(x: np.ndarray, y: np.ndarray, shape: str, bg: str, nb: int) -> dict:
    """Weakly informative, proper priors scaled to the data (used for absent keys).

    Centers uniform over the axis; heights uniform up to twice the data's span; widths
    log-normal between two sampling steps and a quarter of the axis (+-2 sigma), since a peak
    narrower than the sampling cannot be resolved and spikes on single points would otherwise
    be a mode of their own; background coefficients normal, each term reaching about twice the
    data's magnitude over the axis; a Tougaard background's c0 as a constant background's,
    its B and C log-normal around the universal 2866 and 1643 eV^2 (sigma 1 and 0.5).
    """
    span = float(x[-1] - x[0])
    step = float(np.median(np.diff(x)))
    yspan = float(np.max(y) - np.min(y)) or 1.0
    ymag = float(np.max(np.abs(y))) or 1.0
    xmag = float(np.max(np.abs(x))) or 1.0
    lo, hi = 2 * step, span / 4
    if shape == "gaussian_nagata":  # width is a precision 1/sd^2
        lo, hi = 1.0 / hi ** 2, 1.0 / lo ** 2
    width = {"dist": "lognormal", "mu": 0.5 * math.log(lo * hi), "sigma": math.log(hi / lo) / 4}
    out = {
        "amplitude": {"dist": "uniform", "low": 0.0, "high": 2 * yspan},
        "center": {"dist": "uniform", "low": float(x[0]), "high": float(x[-1])},
        "width": width,
    }
    for name, e in EXTRAS.items():  # extra shape parameters: their registered defaults
        if e.default is not None:
            out[name] = e.default(x, y)
    if bg == "legendre":  # on t in [-1, 1]: c0 the mean level, c_j each a change across the axis
        out["background"] = [{"dist": "normal", "mean": 0.0, "sd": 2 * ymag}] + [
            {"dist": "normal", "mean": 0.0, "sd": 2 * yspan} for _ in range(nb - 1)]
    elif bg == "tougaard":  # c0 a level; B, C (eV^2) around the universal cross-section
        out["background"] = [{"dist": "normal", "mean": 0.0, "sd": 2 * ymag},
                             *universal_log_priors()]
    elif bg == "exponential":
        out["background"] = [{"dist": "normal", "mean": 0.0, "sd": 2 * ymag},
                             {"dist": "uniform", "low": 0.0, "high": 10.0 / span}]
    else:
        out["background"] = [{"dist": "normal", "mean": 0.0, "sd": 2 * ymag / xmag ** j}
                             for j in range(nb)]
    return out


def _spec_text(spec: dict) -> str:
    """A prior spec as FIT.yaml flow text: {dist: lognormal, mu: 7.961, sigma: 1}."""
    return "{" + ", ".join(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}"
                           for k, v in spec.items()) + "}"


_REQUIRED = {"splitting": "{dist: fixed, value: 3.67} (signed: partner at center + splitting)",
             "ratio": "{dist: fixed, value: 0.75} or {dist: uniform, low: 0.6, high: 0.9}"}

# the slot of a required extra that a tie sets in every peak: never sampled or read (the joint
# model's free parameters skip tied slots), but a Problem holds one prior per slot
_TIED_PLACEHOLDER = {"splitting": {"dist": "fixed", "value": 1.0},
                     "ratio": {"dist": "fixed", "value": 1.0}}
assert set(_TIED_PLACEHOLDER) == set(_REQUIRED)


def check_extra_prior(kind: str, p: Prior, key: str) -> None:
    """Raise ConfigError if prior ``p`` of extra parameter ``kind`` breaks its registered
    support (positive, or within its bounds); ``key`` names the config key."""
    e = EXTRAS[kind]
    if e.positive and not p.positive:
        raise ConfigError(f"{key}: must have positive support ({e.meaning}); use e.g. "
                          f"{{dist: uniform, low: 0.5, high: 1}} or a log-normal")
    if e.bounds is not None:
        lo, hi = p.support
        if lo < e.bounds[0] or hi > e.bounds[1]:
            raise ConfigError(f"{key}: {kind} lives in [{e.bounds[0]:g}, {e.bounds[1]:g}] "
                              f"({e.meaning}) but the {p.dist} prior has support [{lo:g}, "
                              f"{hi:g}]; use e.g. {{dist: uniform, low: {e.bounds[0]:g}, "
                              f"high: {e.bounds[1]:g}}} or a truncnormal inside that range")


def build_problem(x: np.ndarray, y: np.ndarray, sd: np.ndarray | None, shape: str, K: int,
                  background: str, degree: int | None, priors: dict, source: str = "",
                  likelihood: str = "gaussian", shirley: bool | str = False,
                  prior_key: str = "priors", tied: frozenset[str] = frozenset()) -> Problem:
    """Bind a model to data. ``priors`` maps kind -> Prior or list[Prior] (absent: defaults).

    ``likelihood`` poisson needs raw counts in y and no sd column; ``shirley`` adds the data's
    iterative Shirley background as a fixed offset to the model mean (the sampled background
    then models what the Shirley step leaves); ``shirley="active"`` puts the Shirley step of
    the model's own peaks into the model, its scale sampled (prior ``priors.shirley``, default
    :func:`shirley_prior`; direction from the data's end levels). ``prior_key`` names the
    priors block in messages (``priors.bulk`` for a component of a composite model).
    ``tied``: the kinds a tie of the model sets for every peak (ties.tied_kinds): a required
    prior is not required for them (their slots hold a placeholder the tie overrides)."""
    if shape not in SHAPES:
        raise ConfigError(f"model.shape: unknown shape {shape!r}; choose one of {sorted(SHAPES)}")
    if background not in BACKGROUNDS:
        raise ConfigError(f"model.background.kind: unknown {background!r}; "
                          f"choose one of {sorted(BACKGROUNDS)}")
    shp, bgd = SHAPES[shape], BACKGROUNDS[background]
    if likelihood not in LIKELIHOODS:
        raise ConfigError(f"model.likelihood: unknown {likelihood!r}; choose one of "
                          f"{', '.join(LIKELIHOODS)}")
    if likelihood == "poisson":
        if sd is not None:
            raise ConfigError(f"{source or 'data'}: the file has an sd column but "
                              f"model.likelihood is poisson (the variance of a count is its "
                              f"mean); drop the column or use likelihood gaussian")
        check_counts(y, source, x=x)
    offset = None
    active = shirley == "active"
    if shirley not in (True, False, "active"):
        raise ConfigError(f"model.background.shirley: {shirley!r}; use false, true (the data's "
                          f"Shirley curve as a fixed offset) or active (in the model)")
    if bgd.uses_data and bool(shirley):
        raise ConfigError(f"model.background: kind {background} with shirley: "
                          f"{str(shirley).lower()}: both model the inelastic background (the "
                          f"{background} background is computed from the measured data"
                          f"{', which a fixed Shirley offset would change' if not active else ''}"
                          f"); remove model.background.shirley, or use kind constant / linear "
                          f"with shirley")
    if bool(shirley) and not active:
        from .shirley import shirley_background

        try:
            offset = np.ascontiguousarray(shirley_background(np.asarray(x, float),
                                                             np.asarray(y, float)))
        except DataError as e:
            raise DataError(f"{source or 'data'}: {e}") from None
    nb = bgd.ncoef(degree)
    yb = y if offset is None else y - offset
    defaults = default_priors(x, yb, shape, background, nb)
    if likelihood == "poisson" and nb:
        # counts: a level with positive support, so most prior draws are valid Poisson means
        top = 2.0 * (float(np.max(np.abs(yb))) or 1.0)
        defaults["background"][0] = {"dist": "uniform", "low": 0.0, "high": top}
    peak_priors = []
    for kind in PEAK_KINDS + shp.extra:
        p = priors.get(kind)
        if p is None and kind in _REQUIRED and kind in tied:
            p = parse_prior(_TIED_PLACEHOLDER[kind], f"{prior_key}.{kind} (tied)",
                            positive=EXTRAS[kind].positive)
        if p is None and kind in _REQUIRED:
            raise ConfigError(f"{prior_key}.{kind}: required by shape {shape} (physics, not "
                              f"the data, sets it); give e.g. {_REQUIRED[kind]}")
        if p is None:
            positive = EXTRAS[kind].positive if kind in EXTRAS else kind != "center"
            p = parse_prior(defaults[kind], f"{prior_key}.{kind} (default)", positive=positive)
        if kind in EXTRAS:
            check_extra_prior(kind, p, f"{prior_key}.{kind}")
        peak_priors.append(p)
    bp = priors.get("background")
    if bp is None:
        bp = [parse_prior(s, f"{prior_key}.background[{j}] (default)")
              for j, s in enumerate(defaults["background"])]
    elif isinstance(bp, Prior):
        bp = [bp] * nb
    if len(bp) != nb:
        raise ConfigError(f"{prior_key}.background: {len(bp)} priors given but the "
                          f"{background} "
                          f"background has {nb} coefficients; give one prior or {nb}")
    for j in bgd.positive:
        if not bp[j].positive:
            raise ConfigError(f"{prior_key}.background[{j}]: the {background} background's "
                              f"{bgd.coef_names(nb)[j]} must be positive but the {bp[j].dist} "
                              f"prior has support down to {bp[j].support[0]:g}; use e.g. "
                              f"{_spec_text(defaults['background'][j])} (the default)")
    names, plist = [], []
    for k in range(K):
        for kind, p in zip(PEAK_KINDS + shp.extra, peak_priors):
            names.append(f"{kind}[{k}]")
            plist.append(p)
    coef_names = bgd.coef_names(nb)
    for j in range(nb):
        names.append(f"background[{coef_names[j]}]")
        plist.append(bp[j])
    if active:
        sp = priors.get("shirley")
        if sp is None:
            sp = parse_prior(shirley_prior(x, y), f"{prior_key}.shirley (default)", positive=True)
        elif not sp.positive:
            raise ConfigError(f"{prior_key}.shirley: the Shirley scale must have positive "
                              f"support; use e.g. {{dist: lognormal, mu: -3, sigma: 1}}")
        names.append("shirley")
        plist.append(sp)
    n = x.shape[0]
    if n <= len(plist):
        raise DataError(f"{source or 'data'}: {n} points but the K={K} model has {len(plist)} "
                        f"parameters; need more points than parameters (reduce K or simplify "
                        f"the background)")
    w = np.ones(n) if sd is None else 1.0 / np.asarray(sd, dtype=float) ** 2
    return Problem(np.ascontiguousarray(x, dtype=float), np.ascontiguousarray(y, dtype=float),
                   w, uniform_step(np.asarray(x, dtype=float)), K, shp, bgd, nb, tuple(plist),
                   tuple(names), likelihood, offset,
                   shirley_direction(y) if active else 0)


def shirley_prior(x: np.ndarray, y: np.ndarray, ends: int = 5) -> dict:
    """Default prior of the active Shirley scale s: log-normal, +-2 sigma a factor 10 around
    s0 = |step| / area, the data's end-level difference over the area of y above its lower
    end level (the scale of a Shirley step that explains the data's step)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ya, yb = end_levels(y, ends)
    above = np.clip(y - min(ya, yb), 0.0, None)
    area = float(np.sum(0.5 * (above[1:] + above[:-1]) * np.diff(x))) or 1.0
    s0 = max(abs(yb - ya), 1e-3 * float(np.max(above) or 1.0)) / area
    return {"dist": "lognormal", "mu": math.log(s0), "sigma": math.log(10.0) / 2}


def noise_guess(y: np.ndarray, w: np.ndarray) -> float:
    """Rough noise sd from second differences (robust MAD); sets the top of the noise ladder."""
    d = np.diff(y * np.sqrt(w), 2) if len(y) > 3 else np.diff(y)
    mad = float(np.median(np.abs(d - np.median(d))))
    s = mad / 0.6745 / math.sqrt(6.0)
    return s if s > 0 else float(np.std(y)) or 1.0
