"""Gaussian-broadened Lorentzian and Doniach-Sunjic lines (the Voigt and the DS * G profile).

Both are evaluated from one time-domain integral. The Doniach-Sunjic line (Doniach & Sunjic
1970) of lifetime HWHM gamma and asymmetry alpha in [0, 1),

    DS(E) = Re[exp(i pi alpha / 2) Gamma(1 - alpha) (gamma - i E)^(alpha - 1)]
          = Gamma(1 - alpha) cos(pi alpha / 2 + (1 - alpha) arctan(E / gamma))
            / (E^2 + gamma^2)^((1 - alpha) / 2),

is the Fourier transform of t^-alpha exp(-gamma t) (t > 0); convolving with a unit-area
Gaussian of sd sigma multiplies that by exp(-sigma^2 t^2 / 2). With u = sigma t,
a = gamma / sigma, b = E / sigma:

    (DS * G)(E) = sigma^(alpha - 1) Re[exp(i pi alpha / 2) I(b)],
    I(b) = int_0^inf u^-alpha exp(-(a - i b) u - u^2 / 2) du

(alpha = 0: the Voigt profile times pi, since DS(alpha = 0) = pi * Lorentzian). I is computed
by Gauss-Legendre quadrature where |b| <= R and a <= R (the endpoint singularity u^-alpha
removed by u = u1 v^(1 / (1 - alpha)) on [0, u1]), and elsewhere (|a - i b| > R) by its
asymptotic series, the Gaussian's heat-kernel expansion of DS,

    I ~ Gamma(1 - alpha) sum_m (-1/2)^m / m! prod_{k=1}^{2m} (k - alpha) z^(alpha - 1 - 2m),
    z = a - i b,

summed to its smallest term (error below exp(-R^2 / 2) = 3e-18 of the peak for R = 9). On a
uniform axis the phases exp(i b u_k) advance by a constant factor from point to point, so the
quadrature costs one complex multiply-add per node and point. On a nearly uniform axis (a
measured axis printed to a few decimals: steps of 0.0409 and 0.0410 eV) the phases advance on
the nominal grid x0 + i h and the deviation e = (x_i - x0 - i h) / sigma enters through the
Taylor series of exp(i e u) to third order (error at most about e^4 / 8 of the peak, below
1e-10 for e <= EMAX = 0.005; 1e-14 to 1e-11 measured against the direct sums on the Au 4f
axis); where e is larger every point is evaluated directly (one cos and sin per node and point,
3-5x slower in the samplers). Accuracy (tests): Voigt against
scipy.special.voigt_profile to 1e-9 relative where the profile exceeds 1e-12 of its peak; DS *
G against a fine direct convolution to 1e-7 of the peak.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import roots_legendre

_R = 9.0  # |z| beyond which the asymptotic series is used (exp(-R^2/2) = 2.6e-18)
_UMAX = 9.0  # the quadrature's upper limit in u: exp(-u^2/2) < 3e-18 beyond it
_USPLIT = 0.3  # [0, u1] carries the endpoint singularity, [u1, UMAX] is analytic

_t0, _w0 = roots_legendre(48)
_U0 = 0.5 * _UMAX * (_t0 + 1.0)  # alpha = 0: one analytic piece on [0, UMAX]
_W0 = 0.5 * _UMAX * _w0
_t1, _w1 = roots_legendre(32)
_V1 = 0.5 * (_t1 + 1.0)  # v in [0, 1], u = u1 v^p
_W1 = 0.5 * _w1
_t2, _w2 = roots_legendre(48)
_U2 = _USPLIT + 0.5 * (_UMAX - _USPLIT) * (_t2 + 1.0)
_W2 = 0.5 * (_UMAX - _USPLIT) * _w2
NODES = 80  # the most nodes any call uses (size of the work arrays)
EMAX = 0.005  # largest deviation from the nominal grid, in sigma, for the Taylor-corrected phases


@njit(cache=True, inline="always")
def _nodes(a, alpha, uk, wk):
    """Fill nodes uk and weights wk (with exp(-a u - u^2/2) u^-alpha folded in); count."""
    if alpha == 0.0:
        for k in range(_U0.shape[0]):
            u = _U0[k]
            uk[k] = u
            wk[k] = _W0[k] * math.exp(-a * u - 0.5 * u * u)
        return _U0.shape[0]
    p = 1.0 / (1.0 - alpha)
    c1 = p * _USPLIT ** (1.0 - alpha)
    n1 = _V1.shape[0]
    for k in range(n1):
        u = _USPLIT * _V1[k] ** p
        uk[k] = u
        wk[k] = _W1[k] * c1 * math.exp(-a * u - 0.5 * u * u)
    for k in range(_U2.shape[0]):
        u = _U2[k]
        uk[n1 + k] = u
        wk[n1 + k] = _W2[k] * u ** (-alpha) * math.exp(-a * u - 0.5 * u * u)
    return n1 + _U2.shape[0]


@njit(cache=True)
def _asymptotic(a, b, alpha, g):
    """Re[exp(i pi alpha/2) I(b)] from the asymptotic series (|a - i b| > R); g = Gamma(1-alpha).

    Real arithmetic throughout (5x faster than complex log/exp and abs per term): the first
    term exp(i pi alpha/2) g z^(alpha-1) from |z| and arg z, then each term is the last times
    c_m / z^2, summed until a term falls below 1e-15 of the first or starts to grow."""
    r2 = a * a + b * b
    mag = g * math.exp(0.5 * (alpha - 1.0) * math.log(r2))
    ph = (alpha - 1.0) * math.atan2(-b, a) + 0.5 * math.pi * alpha
    tr = mag * math.cos(ph)
    ti = mag * math.sin(ph)
    zr = a / r2  # 1 / z = (a + i b) / |z|^2
    zi = b / r2
    wr = zr * zr - zi * zi  # 1 / z^2
    wi = 2.0 * zr * zi
    inv = 1.0 / r2
    sr = tr
    q = 1.0  # |term_m| / |term_0|
    for m in range(200):
        c = (-0.5 / (m + 1)) * (2 * m + 1 - alpha) * (2 * m + 2 - alpha)
        nq = q * abs(c) * inv
        if nq > q:  # past the smallest term of the asymptotic series
            break
        t_r = c * (tr * wr - ti * wi)
        ti = c * (tr * wi + ti * wr)
        tr = t_r
        sr += tr
        q = nq
        if q < 1e-15:
            break
    return sr


@njit(cache=True)
def _value(b, a, alpha, g, uk, wk, nq):
    """Re[exp(i pi alpha/2) I(b)] at one point (direct phases)."""
    if a > _R or abs(b) > _R:
        return _asymptotic(a, b, alpha, g)
    sr = 0.0
    si = 0.0
    for k in range(nq):
        ph = b * uk[k]
        sr += wk[k] * math.cos(ph)
        si += wk[k] * math.sin(ph)
    return math.cos(0.5 * math.pi * alpha) * sr - math.sin(0.5 * math.pi * alpha) * si


@njit(cache=True, inline="always")
def _band(x0, h, center, sigma, n):
    """The quadrature band [lo, hi) of the points x0 + i h within R sigma of center; (n, n)
    when it holds none."""
    lo = max(0, int(math.ceil((center - _R * sigma - x0) / h)))
    hi = min(n, int(math.floor((center + _R * sigma - x0) / h)) + 1)
    if lo >= hi:
        return n, n
    return lo, hi


@njit(cache=True, inline="always")
def _phases(b0, db, uk, nq):
    """The phases exp(i b0 u_k) (pr, pi) at the band's first point and the factors exp(i db u_k)
    (mr, mi) that advance them by one step, (nq,) each."""
    pr = np.empty(nq)
    pi = np.empty(nq)
    mr = np.empty(nq)
    mi = np.empty(nq)
    for k in range(nq):
        pr[k] = math.cos(b0 * uk[k])
        pi[k] = math.sin(b0 * uk[k])
        mr[k] = math.cos(db * uk[k])
        mi[k] = math.sin(db * uk[k])
    return pr, pi, mr, mi


@njit(cache=True)
def _near_band(x, center, sigma, gamma, alpha, g, uk, wk, nq, norm, sgn, out):
    """Add the band |x - center| <= R sigma of a nearly uniform axis (module docstring) to out
    and return it as (lo, hi); (n, n) where the axis is not close enough to uniform."""
    n = x.shape[0]
    h = (x[n - 1] - x[0]) / (n - 1)  # the nominal step
    if not h > 0.0:
        return n, n
    lo, hi = _band(x[0], h, center, sigma, n)
    if lo >= hi:
        return n, n
    inv = sgn / sigma
    for i in range(lo, hi):
        if not abs(x[i] - (x[0] + i * h)) * abs(inv) <= EMAX:
            return n, n
    a = gamma / sigma
    c0 = math.cos(0.5 * math.pi * alpha)
    s0 = math.sin(0.5 * math.pi * alpha)
    pr, pi, mr, mi = _phases((x[0] + lo * h - center) * inv, h * inv, uk, nq)
    w1 = np.empty(nq)
    w2 = np.empty(nq)
    w3 = np.empty(nq)
    for k in range(nq):
        w1[k] = wk[k] * uk[k]
        w2[k] = w1[k] * uk[k] * 0.5
        w3[k] = w2[k] * uk[k] / 3.0
    for i in range(lo, hi):
        # sums over the nodes of w u^j / j! exp(i b_grid u), j = 0..3
        r0 = 0.0
        i0 = 0.0
        r1 = 0.0
        i1 = 0.0
        r2 = 0.0
        i2 = 0.0
        r3 = 0.0
        i3 = 0.0
        for k in range(nq):
            r = pr[k]
            m = pi[k]
            r0 += wk[k] * r
            i0 += wk[k] * m
            r1 += w1[k] * r
            i1 += w1[k] * m
            r2 += w2[k] * r
            i2 += w2[k] * m
            r3 += w3[k] * r
            i3 += w3[k] * m
            pr[k] = r * mr[k] - m * mi[k]
            pi[k] = r * mi[k] + m * mr[k]
        b = (x[i] - center) * inv
        if abs(b) > _R:  # the band's rounded ends
            out[i] += norm * _asymptotic(a, b, alpha, g)
            continue
        e = (x[i] - (x[0] + i * h)) * inv
        # exp(i e u) = 1 + i e u - (e u)^2 / 2 - i (e u)^3 / 6 + O((e u)^4)
        sr = r0 - e * (i1 + e * (r2 - e * i3))
        si = i0 + e * (r1 - e * (i2 + e * r3))
        out[i] += norm * (c0 * sr - s0 * si)
    return lo, hi


@njit(cache=True)
def add_broadened(x, h, center, sigma, gamma, alpha, weight, out):
    """out += weight * L(x) / L(center): the Gaussian-broadened DS line, unit height at center.

    x (n,) axis; h > 0 its uniform step (0: non-uniform); sigma > 0 the Gaussian sd; gamma > 0
    the Lorentzian HWHM; alpha in (-1, 1) the DS asymmetry, > 0 with the tail toward lower x,
    < 0 mirrored (tail toward higher x), 0 the Voigt profile. Writes all n points.
    """
    sgn = 1.0
    if alpha < 0.0:
        sgn = -1.0
        alpha = -alpha
    a = gamma / sigma
    g = math.gamma(1.0 - alpha)
    uk = np.empty(NODES)
    wk = np.empty(NODES)
    nq = _nodes(a, alpha, uk, wk)
    norm = weight / _value(0.0, a, alpha, g, uk, wk, nq)
    n = x.shape[0]
    inv = sgn / sigma
    c0 = math.cos(0.5 * math.pi * alpha)
    s0 = math.sin(0.5 * math.pi * alpha)
    lo, hi = n, n  # the quadrature band [lo, hi) on a uniform axis
    if h > 0.0 and a <= _R:
        lo, hi = _band(x[0], h, center, sigma, n)
    elif h == 0.0 and a <= _R and n >= 3:
        lo, hi = _near_band(x, center, sigma, gamma, alpha, g, uk, wk, nq, norm, sgn, out)
    if hi > lo and h > 0.0:
        pr, pi, mr, mi = _phases((x[0] + lo * h - center) * inv, h * inv, uk, nq)
        for i in range(lo, hi):
            sr = 0.0
            si = 0.0
            for k in range(nq):
                r = pr[k]
                m = pi[k]
                sr += wk[k] * r
                si += wk[k] * m
                pr[k] = r * mr[k] - m * mi[k]
                pi[k] = r * mi[k] + m * mr[k]
            b = (x[0] + i * h - center) * inv
            if abs(b) > _R:  # the band's rounded ends
                out[i] += norm * _asymptotic(a, b, alpha, g)
            else:
                out[i] += norm * (c0 * sr - s0 * si)
    for i in range(n):
        if lo <= i < hi:
            continue
        out[i] += norm * _value((x[i] - center) * inv, a, alpha, g, uk, wk, nq)


@njit(cache=True)
def unit_grid_profile(u, gamma, alpha, out):
    """The unit-height DS * G profile of unit sigma at offsets u (uniform, for areas/FWHMs)."""
    out[:] = 0.0
    h = (u[-1] - u[0]) / (u.shape[0] - 1)
    add_broadened(u, h, 0.0, 1.0, gamma, alpha, 1.0, out)
