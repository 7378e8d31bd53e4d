"""Peak shapes and backgrounds: one small Numba function each, plus a registration.

A peak profile function has the signature ``profile(x, h, center, width, extra, out) -> (lo, hi)``:
it writes the unit-height profile into ``out[lo:hi]`` and promises the profile is zero (below
1e-16 of its height) outside ``[lo, hi)``. ``x`` (n,) is the axis; ``h`` > 0 means the axis is
uniform with step h (x[i] == x[0] + i h to 1e-9 h), which lets a Gaussian be evaluated with
four exp() calls and a multiplicative recurrence instead of n exp() calls (pip's llvmlite has no
vectorised exp, so exp dominates an O(n) move otherwise). ``extra`` holds shape parameters
beyond (amplitude, center, width), e.g. the pseudo-Voigt mixing fraction.

A background function has the signature ``background(x, coefs, out)`` and writes the full (n,)
curve; one computed from the measured data (``Background.uses_data``: tougaard) takes the data
too, ``background(x, ydata, coefs, out)``. The kernels call every background through
``background_any(code, x, ydata, coefs, out)`` (the others ignore ``ydata``); Python code
through ``Background.curve(x, ydata, coefs, out)``. ``amplitude`` is always the peak height, so
the amplitude move never needs exp().
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

from . import tougaard as _tougaard
from .lines import broadened, diffraction, edges, gl, mossbauer

# Gaussian tails beyond this many sd are below exp(-36) = 2e-16 of the height: treated as 0.
_ZCUT = 8.5


@dataclass(frozen=True)
class Shape:
    """A registered peak shape."""

    name: str
    code: int  # index used by profile_any inside the kernel
    profile: Callable  # numba dispatcher, see module docstring
    width_meaning: str  # what the width parameter is, for docs and tables
    extra: tuple[str, ...]  # names of extra per-peak parameters (prior keys)
    area: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (a, width, extra) -> area
    fwhm: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (width, extra) -> FWHM


@dataclass(frozen=True)
class Extra:
    """An extra per-peak parameter (beyond amplitude, center, width), shared by name across
    shapes: what it means, its support, and its default prior.

    default: the prior spec used when the config gives none, a function of the data axis and
    values (x, y) -> spec dict; None when physics, not the data, must set it (the config must
    give it). shown: the default as the docs show it. positive: sampled in log space (a
    positive prior is required). bounds: the closed range a prior must lie in (None: any);
    ties on a bounded parameter may only be '='.
    """

    name: str
    meaning: str
    default: Callable[[np.ndarray, np.ndarray], dict] | None
    shown: str
    positive: bool = False
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class Background:
    """A registered background.

    uses_data: computed from the measured data (evaluate takes ``ydata``: tougaard);
    positive: indices of the coefficients that must have a positive prior (sampled in log
    space)."""

    name: str
    code: int  # index used by background_any inside the kernel
    evaluate: Callable  # numba dispatcher background(x, coefs, out) (+ ydata, see uses_data)
    ncoef: Callable[[int | None], int]  # degree -> number of coefficients
    coef_names: Callable[[int], list[str]]
    uses_data: bool = False
    positive: tuple[int, ...] = ()

    def curve(self, x: np.ndarray, ydata: np.ndarray, coefs: np.ndarray,
              out: np.ndarray) -> None:
        """Write the background of coefficients ``coefs`` on axis ``x`` into ``out`` (n,);
        ``ydata`` (n,) is the measured data (read only when ``uses_data``), as the kernels'
        background_any."""
        if self.uses_data:
            self.evaluate(x, ydata, coefs, out)
        else:
            self.evaluate(x, coefs, out)


SHAPES: dict[str, Shape] = {}
EXTRAS: dict[str, Extra] = {}
BACKGROUNDS: dict[str, Background] = {}
_BG_FUNCS: list = []


def register_extra(extra: Extra) -> None:
    """Register an extra parameter (once; a shape names it in ``extra``)."""
    EXTRAS[extra.name] = extra


def _span(x: np.ndarray) -> float:
    return float(x[-1] - x[0])


def _step(x: np.ndarray) -> float:
    return float(np.median(np.diff(x)))


def _lognormal_between(lo: float, hi: float) -> dict:
    """A log-normal prior with lo and hi at -+2 sigma."""
    return {"dist": "lognormal", "mu": 0.5 * math.log(lo * hi), "sigma": math.log(hi / lo) / 4}


for _e in [
    Extra("eta", "Lorentzian fraction of a pseudo-Voigt (CasaXPS SGL/GL mixing m = p / 100)",
          lambda x, y: {"dist": "uniform", "low": 0.0, "high": 1.0}, "U(0, 1)", bounds=(0.0, 1.0)),
    Extra("asym", "sigmoid slope of the asymmetric pseudo-Voigt's width (> 0: tail toward "
          "lower x)", lambda x, y: {"dist": "uniform", "low": -1.0, "high": 1.0}, "U(-1, 1)",
          bounds=(-1.0, 1.0)),
    Extra("splitting", "signed distance of a doublet's partner line (axis units)", None,
          "required"),
    Extra("ratio", "height (= area) ratio partner : main line of a doublet", None, "required",
          positive=True),
    Extra("gamma", "Lorentzian (lifetime) half width at half maximum, axis units",
          lambda x, y: _lognormal_between(_step(x) / 5, _span(x) / 8),
          "log-normal, step/5 .. span/8 at -+2 sd", positive=True),
    Extra("alpha", "Doniach-Sunjic asymmetry |alpha| < 1 (> 0: tail toward lower x, e.g. a "
          "kinetic-energy axis; < 0: toward higher x, a binding-energy axis)",
          lambda x, y: {"dist": "uniform", "low": -0.5, "high": 0.5}, "U(-0.5, 0.5)",
          bounds=(-0.95, 0.95)),
    Extra("width_ratio", "HWHM above / HWHM below the center of a split pseudo-Voigt",
          lambda x, y: {"dist": "lognormal", "mu": 0.0, "sigma": 0.5},
          "log-normal(0, 0.5)", positive=True),
    Extra("ka2_ratio", "height of K-alpha2 / height of K-alpha1 (theory: 0.5)",
          lambda x, y: {"dist": "truncnormal", "mean": 0.5, "sd": 0.05, "low": 0.3,
                        "high": 0.7}, "truncnormal(0.5, 0.05) on [0.3, 0.7]", positive=True),
    Extra("lambda_ratio", "wavelength K-alpha2 / K-alpha1 of the anode (Bragg's law places "
          "K-alpha2)", lambda x, y: {"dist": "fixed", "value": diffraction.LAMBDA_RATIO["Cu"]},
          "fixed 1.0024803 (Cu)", positive=True),
    Extra("quad_splitting", "quadrupole splitting Delta E_Q of a Moessbauer doublet (mm/s)",
          lambda x, y: {"dist": "uniform", "low": 0.0, "high": 0.5 * _span(x)},
          "U(0, span/2)"),
    Extra("quad_shift", "quadrupole shift eps of a Moessbauer sextet (mm/s; lines 1, 6: +eps, "
          "2-5: -eps)", lambda x, y: {"dist": "uniform", "low": -_span(x) / 20,
                                      "high": _span(x) / 20}, "U(-span/20, span/20)"),
    Extra("field", "magnetic hyperfine field B of a Moessbauer sextet (tesla)",
          lambda x, y: {"dist": "uniform", "low": 0.0,
                        "high": 0.5 * _span(x) / float(mossbauer.K_LINES[-1])},
          "U(0, B at which the outer lines reach the axis ends)", positive=True),
    Extra("ratio_25", "relative depth x of sextet lines 2 and 5 (3 : x : 1 : 1 : x : 3; 2 for a "
          "powder, 0..4 with texture)", lambda x, y: {"dist": "fixed", "value": 2.0},
          "fixed 2 (powder)", positive=True),
]:
    register_extra(_e)


def register_shape(name: str, width_meaning: str, area, fwhm, extra: tuple[str, ...] = ()):
    """Decorator: register a Numba peak-profile function under ``name``."""

    def deco(fn):
        unknown = [e for e in extra if e not in EXTRAS]
        assert not unknown, f"register the extra parameters {unknown} first"
        SHAPES[name] = Shape(name, len(SHAPES), fn, width_meaning, tuple(extra), area, fwhm)
        return fn

    return deco


def register_background(name: str, ncoef, coef_names, uses_data: bool = False,
                        positive: tuple[int, ...] = ()):
    """Decorator: register a Numba background function under ``name`` (see Background)."""

    def deco(fn):
        BACKGROUNDS[name] = Background(name, len(_BG_FUNCS), fn, ncoef, coef_names, uses_data,
                                       tuple(positive))
        _BG_FUNCS.append(fn)
        return fn

    return deco


@njit(cache=True, inline="always")
def _gauss_run(out, x0, h, center, c, i0, count, sgn):
    """Fill out[i0 + sgn * t], t = 0..count-1, with exp(-c (x - center)^2).

    Four interleaved multiplicative recurrences: with d the offset of a point and D = 4 h,
    g(d + D) = g(d) r(d), r(d + D) = r(d) q with q = exp(-2 c D^2). Four independent chains
    keep the multiplier pipeline busy (one chain is latency-bound); 9 exp() calls in all.
    """
    hs = sgn * h
    if count <= 12:
        for t in range(count):
            d = x0 + (i0 + sgn * t) * h - center
            out[i0 + sgn * t] = math.exp(-c * d * d)
        return
    D = 4.0 * hs
    q = math.exp(-2.0 * c * D * D)
    d0 = x0 + i0 * h - center
    d1 = d0 + hs
    d2 = d1 + hs
    d3 = d2 + hs
    g0 = math.exp(-c * d0 * d0)
    g1 = math.exp(-c * d1 * d1)
    g2 = math.exp(-c * d2 * d2)
    g3 = math.exp(-c * d3 * d3)
    r0 = math.exp(-c * (2.0 * d0 * D + D * D))
    r1 = math.exp(-c * (2.0 * d1 * D + D * D))
    r2 = math.exp(-c * (2.0 * d2 * D + D * D))
    r3 = math.exp(-c * (2.0 * d3 * D + D * D))
    t = 0
    i = i0
    step4 = 4 * sgn
    while t + 4 <= count:
        out[i] = g0
        out[i + sgn] = g1
        out[i + 2 * sgn] = g2
        out[i + 3 * sgn] = g3
        g0 *= r0
        g1 *= r1
        g2 *= r2
        g3 *= r3
        r0 *= q
        r1 *= q
        r2 *= q
        r3 *= q
        t += 4
        i += step4
    rest = count - t
    if rest > 0:
        out[i] = g0
    if rest > 1:
        out[i + sgn] = g1
    if rest > 2:
        out[i + 2 * sgn] = g2


@njit(cache=True, inline="always")
def _gauss_sd(x, h, center, sd, out):
    n = x.shape[0]
    c = 0.5 / (sd * sd)
    if h > 0.0:
        x0 = x[0]
        lo = int(math.ceil((center - _ZCUT * sd - x0) / h))
        hi = int(math.floor((center + _ZCUT * sd - x0) / h)) + 1
        if lo < 0:
            lo = 0
        if hi > n:
            hi = n
        if lo >= hi:
            return 0, 0
        i0 = int(round((center - x0) / h))
        if i0 < lo:
            i0 = lo
        if i0 > hi - 1:
            i0 = hi - 1
        # outward from the point nearest the center, so factors shrink and never overflow
        _gauss_run(out, x0, h, center, c, i0, hi - i0, 1)
        _gauss_run(out, x0, h, center, c, i0 - 1, i0 - lo, -1)
        return lo, hi
    for i in range(n):
        d = x[i] - center
        out[i] = math.exp(-c * d * d)
    return 0, n


def _gauss_area(a, w, extra):
    return a * w * math.sqrt(2 * math.pi)


@register_shape("gaussian", "standard deviation", _gauss_area,
                lambda w, e: 2 * math.sqrt(2 * math.log(2)) * w)
@njit(cache=True)
def gaussian(x, h, center, width, extra, out):
    """a * exp(-(x - center)^2 / (2 width^2)); width is the standard deviation."""
    return _gauss_sd(x, h, center, width, out)


@register_shape("gaussian_nagata", "precision b of exp(-b (x-mu)^2 / 2)",
                lambda a, b, e: a * np.sqrt(2 * np.pi / b),
                lambda b, e: 2 * np.sqrt(2 * np.log(2) / b))
@njit(cache=True)
def gaussian_nagata(x, h, center, width, extra, out):
    """a * exp(-width (x - center)^2 / 2) (Nagata et al. 2012); width is a precision."""
    return _gauss_sd(x, h, center, 1.0 / math.sqrt(width), out)


@register_shape("lorentzian", "half width at half maximum", lambda a, w, e: a * np.pi * w,
                lambda w, e: 2 * w)
@njit(cache=True)
def lorentzian(x, h, center, width, extra, out):
    """a / (1 + ((x - center) / width)^2); width is the HWHM. Heavy tails: never truncated."""
    inv = 1.0 / width
    for i in range(x.shape[0]):
        d = (x[i] - center) * inv
        out[i] = 1.0 / (1.0 + d * d)
    return 0, x.shape[0]


_SD_PER_HWHM = 1.0 / math.sqrt(2.0 * math.log(2.0))


def _pv_area(a, w, extra):
    eta = extra[..., 0]
    return a * (eta * np.pi * w + (1 - eta) * w * _SD_PER_HWHM * np.sqrt(2 * np.pi))


@register_shape("pseudo_voigt", "half width at half maximum (shared by both parts)", _pv_area,
                lambda w, e: 2 * w, extra=("eta",))
@njit(cache=True)
def pseudo_voigt(x, h, center, width, extra, out):
    """a * (eta L + (1 - eta) G), L and G of unit height and equal HWHM ``width``; eta in [0, 1]."""
    eta = extra[0]
    c = 0.5 / (width * _SD_PER_HWHM) ** 2
    inv = 1.0 / width
    for i in range(x.shape[0]):
        d = x[i] - center
        u = d * inv
        out[i] = eta / (1.0 + u * u) + (1.0 - eta) * math.exp(-c * d * d)
    return 0, x.shape[0]


# ----------------------------------------------------------------------------- asymmetric lines

_EXP_MAX = 700.0  # exp() argument beyond which the sigmoid width is 0 (profile exactly 0)


@njit(cache=True, inline="always")
def _apv_point(d, width, eta, asym):
    """Asymmetric pseudo-Voigt at offset d: HWHM w(d) = 2 width / (1 + exp(asym d / width))."""
    t = asym * d / width
    if t > _EXP_MAX:
        return 0.0
    wx = 2.0 * width / (1.0 + math.exp(t))
    if wx <= 0.0:
        return 0.0
    u = d / wx
    v = d / (wx * _SD_PER_HWHM)
    return eta / (1.0 + u * u) + (1.0 - eta) * math.exp(-0.5 * v * v)


_GRID_U = np.linspace(-40.0, 40.0, 3201)  # offsets in units of the width, for areas and FWHMs


def _apv_unit(eta: np.ndarray, asym: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Area and FWHM of the unit-height, unit-width asymmetric pseudo-Voigt, per (eta, asym).

    Trapezoid on |u| <= 40 plus the Lorentzian tails beyond, eta s^2 / 40 on each side with s
    the limiting width there (2 or 0 for asym != 0, 1 for asym = 0). Shapes broadcast.
    """
    eta, asym = np.broadcast_arrays(np.asarray(eta, float), np.asarray(asym, float))
    flat_e, flat_a = eta.ravel(), asym.ravel()
    area = np.empty(flat_e.shape)
    fwhm = np.empty(flat_e.shape)
    u = _GRID_U
    du = u[1] - u[0]
    for s0 in range(0, flat_e.size, 512):  # chunks bound the (chunk, 3201) temporaries
        e = flat_e[s0:s0 + 512, None]
        a = flat_a[s0:s0 + 512, None]
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            wx = 2.0 / (1.0 + np.exp(np.clip(a * u, -_EXP_MAX, _EXP_MAX)))
            q = np.where(wx > 0, u / wx, np.inf)
            g = e / (1 + q * q) + (1 - e) * np.exp(-0.5 * (q / _SD_PER_HWHM) ** 2)
        g = np.nan_to_num(g)
        tails = e[:, 0] * (wx[:, 0] ** 2 + wx[:, -1] ** 2) / u[-1]
        area[s0:s0 + 512] = np.trapezoid(g, dx=du, axis=1) + tails
        half = g >= 0.5 * g.max(axis=1, keepdims=True)
        first = np.argmax(half, axis=1)
        last = u.size - 1 - np.argmax(half[:, ::-1], axis=1)
        fwhm[s0:s0 + 512] = (last - first) * du
    return area.reshape(eta.shape), fwhm.reshape(eta.shape)


def _apv_area(a, w, extra):
    return a * w * _apv_unit(extra[..., 0], extra[..., 1])[0]


def _apv_fwhm(w, extra):
    return w * _apv_unit(extra[..., 0], extra[..., 1])[1]


@register_shape("asym_pseudo_voigt", "half width at half maximum at the center (shared by both "
                "parts)", _apv_area, _apv_fwhm, extra=("eta", "asym"))
@njit(cache=True)
def asym_pseudo_voigt(x, h, center, width, extra, out):
    """Asymmetric pseudo-Voigt (Stancik & Brauns 2008): a pseudo-Voigt whose HWHM varies
    sigmoidally across the line, w(x) = 2 width / (1 + exp(asym (x - center) / width)).

    Chosen over a Doniach-Sunjic line convolved with a Gaussian because it is closed form (no
    convolution per proposal, O(n) exp() like the pseudo-Voigt) and integrable: the DS line has
    an infinite area for any asymmetry, so its height/area needs a cut-off anyway. ``asym`` is
    dimensionless (the sigmoid's slope in units of 1/width): 0 is the symmetric pseudo-Voigt;
    > 0 puts the tail at lower x (metals on a kinetic-energy axis), < 0 at higher x (on a
    binding-energy axis). Height 1 at ``center``; eta (Lorentzian fraction) in [0, 1].
    """
    eta = extra[0]
    asym = extra[1]
    for i in range(x.shape[0]):
        out[i] = _apv_point(x[i] - center, width, eta, asym)
    return 0, x.shape[0]


# ----------------------------------------------------------------------------- doublets
# A doublet is one component with two lines of the same shape and width: the main line
# (amplitude = its height, center) and a partner at center + splitting with `ratio` times its
# height. Equal shape and width make `ratio` the AREA ratio partner : main as well (what
# spectroscopists quote: 3/4 for f, 2/3 for d, 1/2 for p spin-orbit pairs with the higher-j
# line as main). The sign of `splitting` follows the axis: the 4f5/2 partner of 4f7/2 lies at
# +3.67 eV on a binding-energy axis and at -3.67 eV on a kinetic-energy axis.


def _doublet_area(base):
    def area(a, w, extra):
        return base(a, w, extra[..., :-2]) * (1.0 + extra[..., -1])
    return area


def _doublet_fwhm(base):
    def fwhm(w, extra):  # FWHM of each line (not of the pair)
        return base(w, extra[..., :-2])
    return fwhm


@register_shape("doublet_gaussian", "standard deviation of each line", _doublet_area(
    _gauss_area), _doublet_fwhm(lambda w, e: 2 * math.sqrt(2 * math.log(2)) * w),
                extra=("splitting", "ratio"))
@njit(cache=True)
def doublet_gaussian(x, h, center, width, extra, out):
    """Two Gaussians (sd ``width``) at center and center + splitting, heights 1 and ratio."""
    split = extra[0]
    ratio = extra[1]
    n = x.shape[0]
    c2 = center + split
    cmin = min(center, c2)
    cmax = max(center, c2)
    lo, hi = 0, n
    if h > 0.0:
        lo = max(0, int(math.ceil((cmin - _ZCUT * width - x[0]) / h)))
        hi = min(n, int(math.floor((cmax + _ZCUT * width - x[0]) / h)) + 1)
        if lo >= hi:
            return 0, 0
    c = 0.5 / (width * width)
    for i in range(lo, hi):
        d1 = x[i] - center
        d2 = x[i] - c2
        out[i] = math.exp(-c * d1 * d1) + ratio * math.exp(-c * d2 * d2)
    return lo, hi


@register_shape("doublet_pseudo_voigt", "half width at half maximum of each line",
                _doublet_area(_pv_area), _doublet_fwhm(lambda w, e: 2 * w),
                extra=("eta", "splitting", "ratio"))
@njit(cache=True)
def doublet_pseudo_voigt(x, h, center, width, extra, out):
    """Two pseudo-Voigts (shared HWHM and eta) at center and center + splitting."""
    eta = extra[0]
    c2 = center + extra[1]
    ratio = extra[2]
    c = 0.5 / (width * _SD_PER_HWHM) ** 2
    inv = 1.0 / width
    for i in range(x.shape[0]):
        d1 = x[i] - center
        d2 = x[i] - c2
        u1 = d1 * inv
        u2 = d2 * inv
        out[i] = (eta / (1.0 + u1 * u1) + (1.0 - eta) * math.exp(-c * d1 * d1)
                  + ratio * (eta / (1.0 + u2 * u2) + (1.0 - eta) * math.exp(-c * d2 * d2)))
    return 0, x.shape[0]


@register_shape("doublet_asym_pseudo_voigt", "half width at half maximum of each line at its "
                "center", _doublet_area(_apv_area), _doublet_fwhm(_apv_fwhm),
                extra=("eta", "asym", "splitting", "ratio"))
@njit(cache=True)
def doublet_asym_pseudo_voigt(x, h, center, width, extra, out):
    """Two asymmetric pseudo-Voigts (shared HWHM, eta, asym) at center and center + splitting."""
    eta = extra[0]
    asym = extra[1]
    c2 = center + extra[2]
    ratio = extra[3]
    for i in range(x.shape[0]):
        out[i] = (_apv_point(x[i] - center, width, eta, asym)
                  + ratio * _apv_point(x[i] - c2, width, eta, asym))
    return 0, x.shape[0]


# ----------------------------------------------------------------------------- measured lines
# The maths lives in .lines (one module per family); here they get the kernel's signature
# profile(x, h, center, width, extra, out) -> (lo, hi), their extras, area and FWHM.


def _voigt_area(a, w, extra):
    from scipy.special import voigt_profile  # scipy.special loads in ~0.1 s: on use only

    return a / voigt_profile(0.0, w, extra[..., 0])


def _voigt_fwhm(w, extra):
    """Exact FWHM by bisection on scipy's Voigt profile (60 halvings: to machine precision)."""
    from scipy.special import voigt_profile

    w, g = np.broadcast_arrays(np.asarray(w, float), np.asarray(extra[..., 0], float))
    top = voigt_profile(0.0, w, g)
    lo, hi = np.zeros(w.shape), 3.0 * (w + g)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        above = voigt_profile(mid, w, g) > 0.5 * top
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return lo + hi


@register_shape("voigt", "standard deviation of the Gaussian (extra gamma: Lorentzian HWHM)",
                _voigt_area, _voigt_fwhm, extra=("gamma",))
@njit(cache=True)
def voigt(x, h, center, width, extra, out):
    """Voigt profile (Lorentzian HWHM gamma * Gaussian sd width), unit height at center."""
    out[:] = 0.0
    broadened.add_broadened(x, h, center, width, extra[0], 0.0, 1.0, out)
    return 0, x.shape[0]


#: the per-line quantities that summaries, averages, series trends and designs report
LINE_QUANTITIES = ("center", "width", "amplitude", "area")

DS_WINDOW = 25.0  # a DS line's area: over center -+ 25 (sigma + gamma) (its tail never ends)


def _ds_unit(w, extra):
    """Area (over the DS window) and FWHM of unit-height DS * G lines, per (sigma, gamma, alpha)
    row: the fast path on a 1201-point grid (Simpson; FWHM by linear interpolation of the
    half-maximum crossings, to about 1e-4), once per distinct (gamma / sigma, alpha)."""
    w = np.asarray(w, float)
    g = np.broadcast_to(np.asarray(extra[..., 0], float), w.shape)
    al = np.broadcast_to(np.asarray(extra[..., 1], float), w.shape)
    keys = np.ascontiguousarray(np.stack([(g / w).ravel(), al.ravel()], axis=1))
    ua, uf, inv = _ds_unit_rows(keys.tobytes())
    inv = inv.reshape(w.shape)
    return ua[inv] * w, uf[inv] * w


# the summary asks for a line's area and then its FWHM from the same draws: the grid work (one
# 1201-point profile per distinct row) is done once for both
@functools.lru_cache(maxsize=2)
def _ds_unit_rows(key: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit-sigma area and FWHM per distinct (gamma / sigma, alpha) row of the (R, 2) float64
    array whose bytes are ``key``, and each row's index into them (R,)."""
    keys = np.frombuffer(key, dtype=np.float64).reshape(-1, 2)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    ua, uf = np.empty(len(uniq)), np.empty(len(uniq))
    out = np.empty(1201)
    for j, (a, alpha) in enumerate(uniq):
        half = DS_WINDOW * (1.0 + a)
        u = np.linspace(-half, half, 1201)
        broadened.unit_grid_profile(u, a, alpha, out)
        du = u[1] - u[0]
        ua[j] = du / 3.0 * (out[0] + out[-1] + 4.0 * out[1:-1:2].sum() + 2.0 * out[2:-1:2].sum())
        top = int(np.argmax(out))
        hm = 0.5 * out[top]
        left = top - int(np.argmax(out[top::-1] < hm))
        right = top + int(np.argmax(out[top:] < hm))
        xl = u[left] + du * (hm - out[left]) / (out[left + 1] - out[left])
        xr = u[right - 1] + du * (out[right - 1] - hm) / (out[right - 1] - out[right])
        uf[j] = xr - xl
    for arr in (ua, uf, inv):
        arr.flags.writeable = False  # shared by the cache's callers
    return ua, uf, inv.ravel()


def _ds_area(a, w, extra):
    return a * _ds_unit(w, extra)[0]


def _ds_fwhm(w, extra):
    return _ds_unit(w, extra)[1]


@register_shape("doniach_gaussian", "standard deviation of the Gaussian (instrument); extras "
                "gamma (Lorentzian HWHM) and alpha (Doniach-Sunjic asymmetry)",
                _ds_area, _ds_fwhm, extra=("gamma", "alpha"))
@njit(cache=True)
def doniach_gaussian(x, h, center, width, extra, out):
    """Doniach-Sunjic line (HWHM gamma, asymmetry alpha) convolved with a Gaussian of sd width;
    unit height at center (the line position E0, not the maximum for alpha != 0)."""
    out[:] = 0.0
    broadened.add_broadened(x, h, center, width, extra[0], extra[1], 1.0, out)
    return 0, x.shape[0]


@register_shape("doublet_voigt", "standard deviation of each line's Gaussian",
                _doublet_area(_voigt_area), _doublet_fwhm(_voigt_fwhm),
                extra=("gamma", "splitting", "ratio"))
@njit(cache=True)
def doublet_voigt(x, h, center, width, extra, out):
    """Two Voigt lines (shared sd and gamma) at center and center + splitting."""
    out[:] = 0.0
    broadened.add_broadened(x, h, center, width, extra[0], 0.0, 1.0, out)
    broadened.add_broadened(x, h, center + extra[1], width, extra[0], 0.0, extra[2], out)
    return 0, x.shape[0]


@register_shape("doublet_doniach_gaussian", "standard deviation of each line's Gaussian",
                _doublet_area(_ds_area), _doublet_fwhm(_ds_fwhm),
                extra=("gamma", "alpha", "splitting", "ratio"))
@njit(cache=True)
def doublet_doniach_gaussian(x, h, center, width, extra, out):
    """Two Gaussian-broadened DS lines (shared sd, gamma, alpha) at center, center + splitting."""
    out[:] = 0.0
    broadened.add_broadened(x, h, center, width, extra[0], extra[1], 1.0, out)
    broadened.add_broadened(x, h, center + extra[2], width, extra[0], extra[1], extra[3], out)
    return 0, x.shape[0]


@register_shape("gl_sum", "half width at half maximum F/2 (CasaXPS SGL(p), eta = p / 100)",
                _pv_area, lambda w, e: 2 * w, extra=("eta",))
@njit(cache=True)
def gl_sum(x, h, center, width, extra, out):
    """CasaXPS SGL: (1 - eta) G + eta L of equal HWHM (the pseudo-Voigt)."""
    return pseudo_voigt(x, h, center, width, extra, out)


@register_shape("gl_product", "F/2, half the FWHM of its Gaussian and Lorentzian factors "
                "(CasaXPS GL(p), eta = p / 100)",
                lambda a, w, e: a * w * gl.gl_product_unit(e[..., 0])[0],
                lambda w, e: w * gl.gl_product_unit(e[..., 0])[1], extra=("eta",))
@njit(cache=True)
def gl_product(x, h, center, width, extra, out):
    """CasaXPS GL: exp(-ln2 (1 - eta) u^2) / (1 + eta u^2), u = (x - center) / width."""
    out[:] = 0.0
    gl.gl_product_line(x, center, width, extra[0], 1.0, out)
    return 0, x.shape[0]


@register_shape("split_pseudo_voigt", "mean HWHM of the two sides (FWHM = 2 width)",
                _pv_area, lambda w, e: 2 * w, extra=("eta", "width_ratio"))
@njit(cache=True)
def split_pseudo_voigt(x, h, center, width, extra, out):
    """Pseudo-Voigt with HWHM 2w/(1+r) below and 2wr/(1+r) above the center (r = width_ratio)."""
    out[:] = 0.0
    diffraction.split_pv_line(x, center, width, extra[0], extra[1], 1.0, out)
    return 0, x.shape[0]


@register_shape("kalpha_pseudo_voigt", "HWHM of each line (degrees 2-theta)",
                lambda a, w, e: _pv_area(a, w, e) * (1.0 + e[..., 1]), lambda w, e: 2 * w,
                extra=("eta", "ka2_ratio", "lambda_ratio"))
@njit(cache=True)
def kalpha_pseudo_voigt(x, h, center, width, extra, out):
    """K-alpha1 pseudo-Voigt at center (2-theta, degrees) + ka2_ratio * K-alpha2 by Bragg's law."""
    diffraction.kalpha_pair(x, center, width, extra[0], extra[1], extra[2], out)
    return 0, x.shape[0]


@register_shape("edge_arctan", "HWHM of the Lorentzian whose integral the step is",
                lambda a, w, e: np.full(np.shape(a), np.nan), lambda w, e: 2 * w)
@njit(cache=True)
def edge_arctan(x, h, center, width, extra, out):
    """Arctangent edge step: 1/2 + arctan((x - center) / width) / pi (amplitude: the jump)."""
    return edges.arctan_step(x, center, width, out)


@register_shape("edge_erf", "standard deviation of the Gaussian whose integral the step is",
                lambda a, w, e: np.full(np.shape(a), np.nan),
                lambda w, e: 2 * math.sqrt(2 * math.log(2)) * w)
@njit(cache=True)
def edge_erf(x, h, center, width, extra, out):
    """Error-function edge step: (1 + erf((x - center) / (width sqrt 2))) / 2."""
    return edges.erf_step(x, h, center, width, out)


@register_shape("mossbauer_doublet", "HWHM of each Lorentzian line (mm/s)",
                lambda a, w, e: 2.0 * np.pi * a * w, lambda w, e: 2 * w,
                extra=("quad_splitting",))
@njit(cache=True)
def mossbauer_doublet(x, h, center, width, extra, out):
    """57Fe quadrupole doublet (a dip): lines at center -+ quad_splitting / 2, equal depths."""
    mossbauer.quadrupole_doublet(x, center, width, extra[0], out)
    return 0, x.shape[0]


@register_shape("mossbauer_sextet", "HWHM of each Lorentzian line (mm/s)",
                lambda a, w, e: np.pi * a * w * mossbauer.sextet_relative_area(e[..., 2]),
                lambda w, e: 2 * w, extra=("quad_shift", "field", "ratio_25"))
@njit(cache=True)
def mossbauer_sextet(x, h, center, width, extra, out):
    """57Fe magnetic sextet (a dip): isomer shift center, quad_shift, field B (T), 3:x:1:1:x:3."""
    mossbauer.magnetic_sextet(x, center, width, extra[0], extra[1], extra[2], out)
    return 0, x.shape[0]


@register_background("polynomial", lambda d: (1 if d is None else int(d) + 1),
                     lambda m: [f"c{j}" for j in range(m)])
@njit(cache=True)
def polynomial(x, coefs, out):
    """sum_j coefs[j] x^j (constant term first); also serves none/constant/linear."""
    m = coefs.shape[0]
    for i in range(x.shape[0]):
        acc = 0.0
        for j in range(m - 1, -1, -1):
            acc = acc * x[i] + coefs[j]
        out[i] = acc


_POLY = BACKGROUNDS["polynomial"].code
BACKGROUNDS["none"] = Background("none", _POLY, polynomial, lambda d: 0, lambda m: [])
BACKGROUNDS["constant"] = Background("constant", _POLY, polynomial, lambda d: 1, lambda m: ["c0"])
BACKGROUNDS["linear"] = Background("linear", _POLY, polynomial, lambda d: 2,
                                   lambda m: ["c0", "c1"])


@register_background("exponential", lambda d: 2, lambda m: ["c1", "c2"])
@njit(cache=True)
def exponential(x, coefs, out):
    """coefs[0] * exp(-coefs[1] x): an exponential decay (c1, c2)."""
    for i in range(x.shape[0]):
        out[i] = coefs[0] * math.exp(-coefs[1] * x[i])


@register_background("legendre", lambda d: int(d) + 1, lambda m: [f"c{j}" for j in range(m)])
@njit(cache=True)
def legendre(x, coefs, out):
    """sum_j coefs[j] P_j(t), Legendre polynomials of the axis mapped onto t in [-1, 1]
    (t = (2 x - x_first - x_last) / (x_last - x_first)): well conditioned however far the
    axis lies from zero (XAS at 7 keV, XPS at 370 eV); c0 is the mean level over the window,
    c1 half the change from one end to the other, c2 the curvature."""
    n = x.shape[0]
    m = coefs.shape[0]
    span = x[n - 1] - x[0]
    mid = x[n - 1] + x[0]
    for i in range(n):
        t = (2.0 * x[i] - mid) / span if span != 0.0 else 0.0
        p0, p1 = 1.0, t
        acc = coefs[0]
        if m > 1:
            acc += coefs[1] * t
        for j in range(2, m):  # Bonnet: j P_j = (2j - 1) t P_{j-1} - (j - 1) P_{j-2}
            p0, p1 = p1, ((2 * j - 1) * t * p1 - (j - 1) * p0) / j
            acc += coefs[j] * p1
        out[i] = acc


TOUGAARD_COEFS = ["c0", "tougaard_B", "tougaard_C"]
tougaard = register_background("tougaard", lambda d: 3, lambda m: list(TOUGAARD_COEFS),
                               uses_data=True, positive=(1, 2))(_tougaard.tougaard)
# c0 + B sum_j K(T_ij) y_j |dE_j| from the measured data y (models/tougaard.py); B, C > 0


# Kernel-side dispatch. Numba cannot cache a kernel that takes functions as arguments (the
# cache key holds their addresses, so every process would recompile for ~8 s), hence one
# branch per registered function here; the asserts keep these in step with the registry.
@njit(cache=True)
def profile_any(code, x, h, center, width, extra, out):
    """Dispatch to the registered profile with ``code`` (see Shape.code)."""
    if code == 0:
        return gaussian(x, h, center, width, extra, out)
    if code == 1:
        return gaussian_nagata(x, h, center, width, extra, out)
    if code == 2:
        return lorentzian(x, h, center, width, extra, out)
    if code == 3:
        return pseudo_voigt(x, h, center, width, extra, out)
    if code == 4:
        return asym_pseudo_voigt(x, h, center, width, extra, out)
    if code == 5:
        return doublet_gaussian(x, h, center, width, extra, out)
    if code == 6:
        return doublet_pseudo_voigt(x, h, center, width, extra, out)
    if code == 7:
        return doublet_asym_pseudo_voigt(x, h, center, width, extra, out)
    if code == 8:
        return voigt(x, h, center, width, extra, out)
    if code == 9:
        return doniach_gaussian(x, h, center, width, extra, out)
    if code == 10:
        return doublet_voigt(x, h, center, width, extra, out)
    if code == 11:
        return doublet_doniach_gaussian(x, h, center, width, extra, out)
    if code == 12:
        return gl_sum(x, h, center, width, extra, out)
    if code == 13:
        return gl_product(x, h, center, width, extra, out)
    if code == 14:
        return split_pseudo_voigt(x, h, center, width, extra, out)
    if code == 15:
        return kalpha_pseudo_voigt(x, h, center, width, extra, out)
    if code == 16:
        return edge_arctan(x, h, center, width, extra, out)
    if code == 17:
        return edge_erf(x, h, center, width, extra, out)
    if code == 18:
        return mossbauer_doublet(x, h, center, width, extra, out)
    return mossbauer_sextet(x, h, center, width, extra, out)


# Inlined into the kernels (Numba IR): a separate function would take its reference to every
# array argument on each call, and ydata, read by tougaard only, made every other
# background's move pay for one more (1-4 % of a background-only model's sweep).
@njit(cache=True, inline="always")
def background_any(code, x, ydata, coefs, out):
    """Dispatch to the registered background with ``code`` (see Background.code); ``ydata``
    (n,) is the measured data, read only by the backgrounds computed from it (tougaard)."""
    if code == 0:
        polynomial(x, coefs, out)
    elif code == 1:
        exponential(x, coefs, out)
    elif code == 2:
        legendre(x, coefs, out)
    else:
        tougaard(x, ydata, coefs, out)


assert [s.profile for s in sorted(SHAPES.values(), key=lambda s: s.code)] == [
    gaussian, gaussian_nagata, lorentzian, pseudo_voigt, asym_pseudo_voigt, doublet_gaussian,
    doublet_pseudo_voigt, doublet_asym_pseudo_voigt, voigt, doniach_gaussian, doublet_voigt,
    doublet_doniach_gaussian, gl_sum, gl_product, split_pseudo_voigt, kalpha_pseudo_voigt,
    edge_arctan, edge_erf, mossbauer_doublet, mossbauer_sextet], "update profile_any"
assert _BG_FUNCS == [polynomial, exponential, legendre, tougaard], "update background_any"


def uniform_step(x: np.ndarray) -> float:
    """The step h if ``x`` is uniform to 1e-9 h (enables the Gaussian recurrence), else 0."""
    n = x.shape[0]
    if n < 3:
        return 0.0
    h = (x[-1] - x[0]) / (n - 1)
    if h <= 0:
        return 0.0
    dev = np.max(np.abs(x - (x[0] + h * np.arange(n))))
    return float(h) if dev <= 1e-9 * h else 0.0
