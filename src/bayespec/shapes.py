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
    return pseudo_voigt(x, h, center, width, extra, out)


@njit(cache=True)
def background_any(code, x, coefs, out):
    """Dispatch to the registered background with ``code`` (see Background.code)."""
    if code == 0:
        polynomial(x, coefs, out)
    else:
        exponential(x, coefs, out)


assert [s.profile for s in sorted(SHAPES.values(), key=lambda s: s.code)] == [
    gaussian, gaussian_nagata, lorentzian, pseudo_voigt], "update profile_any"
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
