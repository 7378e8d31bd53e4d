"""The Numba exchange Monte Carlo kernel: one chain of L replicas, all rungs, one thread.

Parameter layout (P values per replica): for each peak k, ``stride = 3 + n_extra`` values
(amplitude, center, width, extra...), then the background coefficients. Positive parameters
(prior support in [0, inf)) are sampled as u = log(theta), with the Jacobian added to the prior.

Cost model: the residual r = y - f is kept per replica and updated incrementally. A proposal
for one peak touches only that peak's window (Gaussians are cut where they fall below 2e-16 of
their height), an amplitude move needs no exp() at all (unit-height profiles are cached), and a
Gaussian profile on a uniform axis costs four exp() calls plus a multiplicative recurrence.
Swaps exchange slot indices, never arrays.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..models.priors import FIXED, GAMMA, LOGNORMAL, NORMAL, UNIFORM
from ..models.shapes import background_any, profile_any
from .rng import fill_normal, uniform

ADAPT_WINDOW = 20  # sweeps between step-size updates during burn-in. Short: the top rungs need
# steps ~100x below the start (0.1 prior sd), at most x0.41 per update; with 100-sweep windows
# a 250-sweep burn-in left them unadapted and a 3-peak free energy 13 nats off (bench notes)
RECOMPUTE_EVERY = 500  # sweeps between full residual recomputations (bounds round-off drift)
TARGET_ACCEPT = 0.44  # optimal for one-dimensional random-walk Metropolis


@njit(cache=True, inline="always")
def log_prior(code, p, theta):
    """Log density of prior ``code`` with params p (5,) at natural-space value theta."""
    if code == GAMMA:
        if theta <= 0.0:
            return -np.inf
        return (p[0] - 1.0) * math.log(theta) - p[1] * theta + p[4]
    if code == NORMAL:
        z = (theta - p[0]) / p[1]
        return -0.5 * z * z + p[4]
    if code == UNIFORM:
        if theta < p[0] or theta > p[1]:
            return -np.inf
        return p[4]
    if code == LOGNORMAL:
        if theta <= 0.0:
            return -np.inf
        lt = math.log(theta)
        z = (lt - p[0]) / p[1]
        return -0.5 * z * z - lt + p[4]
    if code == FIXED:
        return p[4]  # a point mass; the kernel never proposes a move for it
    # truncated normal
    if theta < p[2] or theta > p[3]:
        return -np.inf
    z = (theta - p[0]) / p[1]
    return -0.5 * z * z + p[4]


@njit(cache=True, inline="always")
def _lp_sampled(code, p, u, logsp):
    """Log prior density of the sampled coordinate u (Jacobian included for log space)."""
    if logsp:
        return log_prior(code, p, math.exp(u)) + u
    return log_prior(code, p, u)


@njit(cache=True, inline="always")
def swap_neighbours(betas, ss, who, state, out_swap, sampling):
    """Neighbour swaps of one sweep, pairs (l, l + 1) in order, exchanging slot indices in
    ``who`` (slot at each rung). ss: (L,) sum w r^2 per slot (2 n E); out_swap (L-1,) counts
    accepted swaps while ``sampling``. Shared by every exchange MC kernel."""
    for l in range(betas.shape[0] - 1):
        s1 = who[l]
        s2 = who[l + 1]
        log_ratio = 0.5 * (betas[l + 1] - betas[l]) * (ss[s2] - ss[s1])
        if log_ratio >= 0.0 or uniform(state) < math.exp(log_ratio):
            who[l] = s2
            who[l + 1] = s1
            if sampling:
                out_swap[l] += 1


@njit(cache=True, inline="always")
def adapt_steps(step, acc_win, step_max):
    """End of a burn-in adaptation window: scale each rung's and parameter's proposal sd
    (L, P) towards TARGET_ACCEPT from its window acceptance acc_win (L, P), within
    [1e-12, 1] x step_max (P,); reset the window counts."""
    L, P = step.shape
    for l in range(L):
        for p in range(P):
            rate = acc_win[l, p] / ADAPT_WINDOW
            st = step[l, p] * math.exp(2.0 * (rate - TARGET_ACCEPT))
            if st > step_max[p]:
                st = step_max[p]
            if st < 1e-12 * step_max[p]:
                st = 1e-12 * step_max[p]
            step[l, p] = st
            acc_win[l, p] = 0


@njit(cache=True, inline="always")
def record_sweep(t, thin, ss, who, th, out_ne, out_theta):
    """Store sampling sweep t: n E = ss / 2 at every rung, and every thin-th sweep the
    natural-space parameters th (slots, P) in rung order."""
    L = who.shape[0]
    for l in range(L):
        out_ne[l, t] = 0.5 * ss[who[l]]
    if t % thin == thin - 1:
        d = t // thin
        for l in range(L):
            s = who[l]
            for p in range(th.shape[1]):
                out_theta[l, d, p] = th[s, p]


# Hot loops: reassociation lets LLVM vectorise the reductions; no nnan/ninf, since -inf prior
# densities are compared explicitly in the kernel.
_FM = {"reassoc", "nsz", "arcp", "contract"}


@njit(cache=True, fastmath=_FM, inline="always")
def _amp_sums(w, r, g, lo, hi):
    sgr = 0.0
    sgg = 0.0
    for i in range(lo, hi):
        gw = w[i] * g[i]
        sgr += gw * r[i]
        sgg += gw * g[i]
    return sgr, sgg


@njit(cache=True, fastmath=_FM, inline="always")
def _dss_swap(w, r, old, new, scale, lo, hi):
    """Change of sum w r^2 when scale * old is replaced by scale * new on [lo, hi)."""
    dss = 0.0
    for i in range(lo, hi):
        dr = scale * (old[i] - new[i])
        dss += w[i] * dr * (2.0 * r[i] + dr)
    return dss


@njit(cache=True, fastmath=_FM, inline="always")
def _apply_swap(r, old, new, scale, lo, hi):
    for i in range(lo, hi):
        r[i] += scale * (old[i] - new[i])
        old[i] = new[i]


# Poisson likelihood. The kernel keeps r = y' - f' with y' the data minus any fixed offset and
# f' the sampled part of the mean, so the Poisson mean is f = counts - r. The energy is the
# deviance form E = sum_i [f_i - c_i - c_i log(f_i / c_i)] (>= 0, c log c = 0 at c = 0), i.e.
# minus the log likelihood up to the constant sum_i [c_i log c_i - c_i - log c_i!] added in
# inference/fit.py; ``ss`` then holds 2 E so that the Gaussian bookkeeping (ne = ss / 2) is shared.
# A mean f_i <= 0 where c_i > 0 (or < 0 anywhere) has zero likelihood: energy +inf, rejected.
GAUSSIAN_LIK, POISSON_LIK = 0, 1


@njit(cache=True, inline="always")
def _pois_term(f, c):
    if c > 0.0:
        if f <= 0.0:
            return np.inf
        return f - c - c * math.log(f / c)
    if f < 0.0:
        return np.inf
    return f


@njit(cache=True)
def _pois_ss(counts, r):
    """2 E for the Poisson mean counts - r (+inf where the mean is invalid)."""
    e = 0.0
    for i in range(r.shape[0]):
        e += _pois_term(counts[i] - r[i], counts[i])
    return 2.0 * e


@njit(cache=True, inline="always")
def _pois_dss_swap(counts, r, old, new, scale, lo, hi):
    """2 dE when scale * old is replaced by scale * new on [lo, hi) (r += scale (old - new))."""
    de = 0.0
    for i in range(lo, hi):
        dr = scale * (old[i] - new[i])
        if dr == 0.0:
            continue
        f = counts[i] - r[i]
        fn = f - dr
        if counts[i] > 0.0:
            if fn <= 0.0:
                return np.inf
            de -= dr + counts[i] * math.log1p(-dr / f)
        else:
            if fn < 0.0:
                return np.inf
            de -= dr
    return 2.0 * de


@njit(cache=True, inline="always")
def _pois_dss_amp(counts, r, g, d, lo, hi):
    """2 dE when d * g is added to the mean on [lo, hi)."""
    de = 0.0
    for i in range(lo, hi):
        df = d * g[i]
        if df == 0.0:
            continue
        f = counts[i] - r[i]
        if counts[i] > 0.0:
            if f + df <= 0.0:
                return np.inf
            de += df - counts[i] * math.log1p(df / f)
        else:
            if f + df < 0.0:
                return np.inf
            de += df
    return 2.0 * de


@njit(cache=True)
def _full_state(shape_code, bg_code, x, h, y, w, K, stride, nb, th, prof, lo, hi, bg, r, coefs,
                ydata):
    """Recompute one replica's profiles, background and residual from th; return sum w r^2.
    ydata: the measured data, which a background computed from it (tougaard) reads."""
    n = x.shape[0]
    for i in range(n):
        r[i] = y[i]
    for k in range(K):
        o = k * stride
        for i in range(n):
            prof[k, i] = 0.0
        a, b = profile_any(shape_code, x, h, th[o + 1], th[o + 2], th[o + 3:o + stride], prof[k])
        lo[k] = a
        hi[k] = b
        amp = th[o]
        for i in range(a, b):
            r[i] -= amp * prof[k, i]
    if nb > 0:
        for j in range(nb):
            coefs[j] = th[K * stride + j]
        background_any(bg_code, x, ydata, coefs, bg)
        for i in range(n):
            r[i] -= bg[i]
    else:
        for i in range(n):
            bg[i] = 0.0
    ss = 0.0
    for i in range(n):
        ss += w[i] * r[i] * r[i]
    return ss


@njit(cache=True, nogil=True)
def run_chain(shape_code, bg_code, x, h, y, w, K, stride, nb, codes, pp, logsp, betas, u, step,
              step_max, n_burn, n_sweeps, thin, state, start, stop, who, acc_win, pause,
              out_ne, out_theta, out_acc, out_swap, likelihood, counts):
    """Run sweeps [start, stop) of one exchange Monte Carlo chain; return the next sweep index.

    x, y, w: (n,) axis, data and weights (1/sd_i^2 relative weights; ones for homoscedastic).
    h: uniform axis step or 0. betas: (L,) increasing, betas[0] = 0.
    Sweeps are numbered 0 .. n_burn + n_sweeps - 1 (burn-in first).
    The chain's full state, advanced in place (everything needed to continue it):
      u: (L, P) sampled coordinates per replica slot (slot s starts at rung s);
      step: (L, P) proposal sd per rung and parameter, adapted during burn-in only, then frozen;
      state: uint64[4] PRNG state; who: int64 (L,) slot at each rung (arange(L) at start 0);
      acc_win: int64 (L, P) accepted moves in the current adaptation window (zeros at start 0).
    step_max: (P,). pause: int64 (1,); when non-zero (set from another thread) the chain
    returns early at the next multiple of RECOMPUTE_EVERY.
    Resuming is exact: the residuals are rebuilt from u on entry, which the uninterrupted run
    also does at every multiple of RECOMPUTE_EVERY, so a run split at such multiples gives
    bit-for-bit the numbers of an unsplit one (``stop`` must be one, or the last sweep).
    Outputs (accumulated in place): out_ne (L, n_sweeps) n*E = sum w r^2 / 2 at each rung after
    each sampling sweep; out_theta (L, n_sweeps // thin, P) natural-space draws; out_acc (L, P)
    accepted Metropolis moves during sampling; out_swap (L-1,) accepted swaps l <-> l+1.
    likelihood: GAUSSIAN_LIK or POISSON_LIK; counts (n,): the measured data (sampler.advance
    passes Problem.y: the raw counts of a Poisson fit, y then being counts minus a fixed
    offset); the Poisson energy and a background computed from the data (tougaard) read it.
    With Poisson, ne is the deviance energy E (see above).
    Parameters with step 0 (fixed priors) are never proposed.
    """
    poisson = likelihood == POISSON_LIK
    n = x.shape[0]
    L, P = u.shape
    npk = K * stride
    th = np.empty((L, P))
    lp = np.empty((L, P))
    for s in range(L):
        for p in range(P):
            th[s, p] = math.exp(u[s, p]) if logsp[p] else u[s, p]
            lp[s, p] = _lp_sampled(codes[p], pp[p], u[s, p], logsp[p])
    prof = np.zeros((L, max(K, 1), n))
    lo = np.zeros((L, max(K, 1)), dtype=np.int64)
    hi = np.zeros((L, max(K, 1)), dtype=np.int64)
    bg = np.zeros((L, n))
    r = np.empty((L, n))
    ss = np.empty(L)
    coefs = np.empty(max(nb, 1))
    g2 = np.empty(n)
    z = np.empty(P)
    bg2 = np.empty(n)
    extra = np.empty(max(stride - 3, 1))
    for s in range(L):
        ss[s] = _full_state(shape_code, bg_code, x, h, y, w, K, stride, nb, th[s], prof[s], lo[s],
                            hi[s], bg[s], r[s], coefs, counts)
        if poisson:
            ss[s] = _pois_ss(counts, r[s])
    ulo = uhi = a1 = b1 = 0
    for sweep in range(start, stop):
        sampling = sweep >= n_burn
        for l in range(L):
            s = who[l]
            beta = betas[l]
            fill_normal(state, z, P)
            for p in range(P):
                if step[l, p] == 0.0:
                    continue
                unew = u[s, p] + step[l, p] * z[p]
                lpn = _lp_sampled(codes[p], pp[p], unew, logsp[p])
                if lpn == -np.inf:
                    continue
                tn = math.exp(unew) if logsp[p] else unew
                dss = 0.0
                if p < npk:
                    k = p // stride
                    j = p - k * stride
                    o = k * stride
                    a0 = lo[s, k]
                    b0 = hi[s, k]
                    if j == 0:
                        # amplitude: the cached unit profile makes this exp-free
                        d = tn - th[s, p]
                        if poisson:
                            dss = _pois_dss_amp(counts, r[s], prof[s, k], d, a0, b0)
                        else:
                            sgr, sgg = _amp_sums(w, r[s], prof[s, k], a0, b0)
                            dss = -2.0 * d * sgr + d * d * sgg
                    else:
                        for e in range(stride - 3):
                            extra[e] = th[s, o + 3 + e]
                        c = th[s, o + 1]
                        wd = th[s, o + 2]
                        if j == 1:
                            c = tn
                        elif j == 2:
                            wd = tn
                        else:
                            extra[j - 3] = tn
                        a1, b1 = profile_any(shape_code, x, h, c, wd, extra[:stride - 3], g2)
                        if a0 >= b0:
                            ulo, uhi = a1, b1
                        elif a1 >= b1:
                            ulo, uhi = a0, b0
                        else:
                            ulo = min(a0, a1)
                            uhi = max(b0, b1)
                        # zero g2 on the union outside the new window; prof[s, k] is zero
                        # outside the old window by invariant, so the loops are branch-free
                        for i in range(ulo, min(a1, uhi)):
                            g2[i] = 0.0
                        for i in range(max(b1, ulo), uhi):
                            g2[i] = 0.0
                        if poisson:
                            dss = _pois_dss_swap(counts, r[s], prof[s, k], g2, th[s, o], ulo,
                                                 uhi)
                        else:
                            dss = _dss_swap(w, r[s], prof[s, k], g2, th[s, o], ulo, uhi)
                else:
                    jb = p - npk
                    for e in range(nb):
                        coefs[e] = th[s, npk + e]
                    coefs[jb] = tn
                    background_any(bg_code, x, counts, coefs[:nb], bg2)
                    if poisson:
                        dss = _pois_dss_swap(counts, r[s], bg[s], bg2, 1.0, 0, n)
                    else:
                        dss = _dss_swap(w, r[s], bg[s], bg2, 1.0, 0, n)
                if dss == np.inf:
                    continue  # zero likelihood (Poisson mean <= 0): rejected at every rung
                log_ratio = -0.5 * beta * dss + (lpn - lp[s, p])
                if log_ratio >= 0.0 or uniform(state) < math.exp(log_ratio):
                    # accept: apply the same update the energy difference assumed
                    if p < npk:
                        k = p // stride
                        j = p - k * stride
                        if j == 0:
                            d = tn - th[s, p]
                            for i in range(lo[s, k], hi[s, k]):
                                r[s, i] -= d * prof[s, k, i]
                        else:
                            _apply_swap(r[s], prof[s, k], g2, th[s, k * stride], ulo, uhi)
                            lo[s, k] = a1
                            hi[s, k] = b1
                    else:
                        _apply_swap(r[s], bg[s], bg2, 1.0, 0, n)
                    u[s, p] = unew
                    th[s, p] = tn
                    lp[s, p] = lpn
                    ss[s] += dss
                    acc_win[l, p] += 1
                    if sampling:
                        out_acc[l, p] += 1
        swap_neighbours(betas, ss, who, state, out_swap, sampling)
        if (sweep + 1) % RECOMPUTE_EVERY == 0:
            for s in range(L):
                ss[s] = _full_state(shape_code, bg_code, x, h, y, w, K, stride, nb, th[s], prof[s],
                                    lo[s], hi[s], bg[s], r[s], coefs, counts)
                if poisson:
                    ss[s] = _pois_ss(counts, r[s])
        if not sampling:
            if (sweep + 1) % ADAPT_WINDOW == 0:
                adapt_steps(step, acc_win, step_max)
        else:
            record_sweep(sweep - n_burn, thin, ss, who, th, out_ne, out_theta)
        if (sweep + 1) % RECOMPUTE_EVERY == 0 and pause[0] != 0:
            return sweep + 1
    return stop
