"""Peak shapes and backgrounds: one small Numba function each, plus a registration.

A peak profile function has the signature ``profile(x, h, center, width, extra, out) -> (lo, hi)``:
it writes the unit-height profile into ``out[lo:hi]`` and promises the profile is zero (below
1e-16 of its height) outside ``[lo, hi)``. ``x`` (n,) is the axis; ``h`` > 0 means the axis is
uniform with step h (x[i] == x[0] + i h to 1e-9 h), which lets a Gaussian be evaluated with
four exp() calls and a multiplicative recurrence instead of n exp() calls (pip's llvmlite has no
vectorised exp, so exp dominates an O(n) move otherwise). ``extra`` holds shape parameters
beyond (amplitude, center, width), e.g. the pseudo-Voigt mixing fraction.

A background function has the signature ``background(x, coefs, out)`` and writes the full (n,)
curve. ``amplitude`` is always the peak height, so the amplitude move never needs exp().
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

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
class Background:
    """A registered background."""

    name: str
    code: int  # index used by background_any inside the kernel
    evaluate: Callable  # numba dispatcher background(x, coefs, out)
    ncoef: Callable[[int | None], int]  # degree -> number of coefficients
    coef_names: Callable[[int], list[str]]


SHAPES: dict[str, Shape] = {}
BACKGROUNDS: dict[str, Background] = {}
_BG_FUNCS: list = []


def register_shape(name: str, width_meaning: str, area, fwhm, extra: tuple[str, ...] = ()):
    """Decorator: register a Numba peak-profile function under ``name``."""

    def deco(fn):
        SHAPES[name] = Shape(name, len(SHAPES), fn, width_meaning, tuple(extra), area, fwhm)
        return fn

    return deco


def register_background(name: str, ncoef, coef_names):
    """Decorator: register a Numba background function under ``name``."""

    def deco(fn):
        BACKGROUNDS[name] = Background(name, len(_BG_FUNCS), fn, ncoef, coef_names)
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
    return doublet_asym_pseudo_voigt(x, h, center, width, extra, out)


@njit(cache=True)
def background_any(code, x, coefs, out):
    """Dispatch to the registered background with ``code`` (see Background.code)."""
    if code == 0:
        polynomial(x, coefs, out)
    else:
        exponential(x, coefs, out)


assert [s.profile for s in sorted(SHAPES.values(), key=lambda s: s.code)] == [
    gaussian, gaussian_nagata, lorentzian, pseudo_voigt, asym_pseudo_voigt, doublet_gaussian,
    doublet_pseudo_voigt, doublet_asym_pseudo_voigt], "update profile_any"
assert _BG_FUNCS == [polynomial, exponential], "update background_any"


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
