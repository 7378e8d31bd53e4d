"""Numba exchange Monte Carlo kernel for a joint model over several data sets (integration).

The data sets are concatenated: x, y, w (N,) with data set m on [seg[m], seg[m+1]); the kernel
takes x as row 0 of xy (2, N), whose row 1 is the measured data (read by a background computed
from the data, tougaard: one array argument fewer to pass to, and reference-count in, every
_unit_profile call than a separate data array). The joint
weights w already contain each data set's noise precision b_m (times its sd-column weights),
so the tempered target is exp(-beta * sum_i w_i r_i^2 / 2) phi(theta) with beta in [0, 1].

Two parameter vectors: the *free* parameters th (P,) that are sampled (each with a prior, log
space for positive supports), and the *local* parameters loc (Q,) that each data set's model
reads, in the kernel layout of model.Problem (per peak: amplitude, center, width, extras; then
the background coefficients), data set after data set. Each local slot q is an affine function
of the free ones: loc[q] = a[q] * th[src[q]] + c[q] + g[q] * th[off[q]] (off[q] = -1: none).

A *unit* is one peak or one background of one data set: its contribution is amp * prof (peaks,
unit-height profile cached per replica) or prof (background, amp = 1). A move of free
parameter p changes the units listed in dep_units[dep_ptr[p]:dep_ptr[p+1]] (possibly in
several data sets); only their windows of the residual are touched, and a move that changes
only amplitudes needs no profile evaluation. Centers of every data set are kept strictly
increasing (proposals breaking the order are rejected): peak indices in ties count peaks in
order of position.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..models.shapes import background_any, profile_any
from ..models.shirley import add_shirley
from .kernel import (ADAPT_WINDOW, RECOMPUTE_EVERY, _lp_sampled, _pois_term, adapt_steps,
                     record_sweep, swap_neighbours)
from .rng import fill_normal, uniform


@njit(cache=True)
def _locals(th, src, a, c, off, g, out):
    for q in range(src.shape[0]):
        v = a[q] * th[src[q]] + c[q]
        if off[q] >= 0:
            v += g[q] * th[off[q]]
        out[q] = v


@njit(cache=True)
def _unit_profile(u, loc, xy, hs, seg, unit_shape, ds_bg, unit_ds, unit_base, unit_npar,
                  unit_isbg, unit_shir, ds_shir, out):
    """Write unit u's unit-height profile (or background curve) into out[seg]; return the
    global window (lo, hi) outside which it is zero. A peak of a data set with an active
    Shirley background carries its share of the step: g + s Q(g) (models/shirley.py).
    xy (2, N): the axis x and the measured data (read by a background computed from it)."""
    m = unit_ds[u]
    s0, s1 = seg[m], seg[m + 1]
    b = unit_base[u]
    k = unit_npar[u]
    if unit_isbg[u]:
        background_any(ds_bg[m], xy[0, s0:s1], xy[1, s0:s1], loc[b:b + k], out[s0:s1])
        return s0, s1
    lo, hi = profile_any(unit_shape[u], xy[0, s0:s1], hs[m], loc[b + 1], loc[b + 2],
                         loc[b + 3:b + k], out[s0:s1])
    if unit_shir[u] >= 0:
        lo, hi = add_shirley(xy[0, s0:s1], out[s0:s1], lo, hi, ds_shir[m], loc[unit_shir[u]])
    return s0 + lo, s0 + hi


@njit(cache=True)
def _full_state(xy, hs, y, w, seg, unit_shape, ds_bg, unit_ds, unit_base, unit_npar, unit_isbg,
                unit_shir, ds_shir, pois, counts, loc, prof, lo, hi, r):
    """Recompute one replica's profiles and residual from loc; return 2 E: sum w r^2 over the
    Gaussian points plus twice the Poisson deviance of the mean counts - r over the points of
    Poisson data sets (+inf where that mean is invalid). xy (2, N): axis and measured data."""
    N = xy.shape[1]
    for i in range(N):
        r[i] = y[i]
    for u in range(unit_ds.shape[0]):
        for i in range(N):
            prof[u, i] = 0.0
        a0, b0 = _unit_profile(u, loc, xy, hs, seg, unit_shape, ds_bg, unit_ds, unit_base,
                               unit_npar, unit_isbg, unit_shir, ds_shir, prof[u])
        lo[u] = a0
        hi[u] = b0
        amp = 1.0 if unit_isbg[u] else loc[unit_base[u]]
        for i in range(a0, b0):
            r[i] -= amp * prof[u, i]
    ss = 0.0
    pe = 0.0
    for i in range(N):
        if pois[i]:
            pe += _pois_term(counts[i] - r[i], counts[i])
        else:
            ss += w[i] * r[i] * r[i]
    return ss + 2.0 * pe


@njit(cache=True)  # not inlined: keeps the all-Gaussian kernel body as small as before
def _dss_mixed(d0, d1, ulo, uhi, mark, stamp, pois, counts, w, d, r):
    """2 dE over the touched points (each once) when the mean changes by d: w d (d - 2 r) at
    Gaussian points, twice the Poisson deviance change of the mean counts - r -> + d at the
    points of Poisson data sets; +inf when a Poisson mean becomes invalid."""
    dss = 0.0
    for t in range(d0, d1):
        i = t - d0
        for k in range(ulo[i], uhi[i]):
            if mark[k] == stamp:
                continue
            mark[k] = stamp
            if not pois[k]:
                dss += w[k] * d[k] * (d[k] - 2.0 * r[k])
                continue
            dk = d[k]
            if dk == 0.0:
                continue
            f0 = counts[k] - r[k]
            if counts[k] > 0.0:
                if f0 + dk <= 0.0:
                    return np.inf
                dss += 2.0 * (dk - counts[k] * math.log1p(dk / f0))
            else:
                if f0 + dk < 0.0:
                    return np.inf
                dss += 2.0 * dk
    return dss


@njit(cache=True, inline="always")
def _ordered(lq, grp_ptr, grp_slot, g):
    """Whether the centers of order group g (local slots grp_slot[grp_ptr[g]:grp_ptr[g+1]])
    are strictly increasing."""
    for j in range(grp_ptr[g] + 1, grp_ptr[g + 1]):
        if not lq[grp_slot[j]] > lq[grp_slot[j - 1]]:
            return False
    return True


# Block moves (Haario et al. 2001, adaptive Metropolis, one covariance per rung and block).
# Every burn-in of at least 4 adaptation windows runs in quarters: the first only adapts the
# single-parameter steps; in the second each rung accumulates the mean and covariance of its
# blocks' coordinates; from the third on the block moves run, proposing
# u_B + scale * chol(cov) z, with the scale adapted towards BLOCK_ACCEPT; at the start of the
# fourth the covariance is re-estimated from the third quarter. Frozen while sampling, so the
# sampling sweeps are a fixed reversible kernel. State per rung and block, blk[l, b, :]:
# scale (0: off), count, window acceptances, sampling acceptances, mean (D), M2 (D * D),
# Cholesky factor (D * D).
BLOCK_ACCEPT = 0.234  # optimal for multivariate random-walk Metropolis (Roberts et al. 1997)
BLK_SCALE, BLK_N, BLK_WIN, BLK_ACC, BLK_HEAD = 0, 1, 2, 3, 4


def block_width(D: int) -> int:
    """Length of one rung's and block's state vector for blocks of at most D parameters."""
    return BLK_HEAD + D + 2 * D * D


@njit(cache=True)
def block_phases(n_burn):
    """(start of accumulation, start of block moves, re-estimation) sweeps for a burn-in of
    n_burn sweeps, at multiples of ADAPT_WINDOW; no block moves when on == acc0."""
    nw = n_burn // ADAPT_WINDOW
    return (nw // 4) * ADAPT_WINDOW, (nw // 2) * ADAPT_WINDOW, (3 * nw // 4) * ADAPT_WINDOW


@njit(cache=True)
def _block_accumulate(st, uval, dd, D, dl):
    """Welford update of one block's mean and M2 with the coordinates uval (dd,); dl: (dd,)
    scratch."""
    n = st[BLK_N] + 1.0
    st[BLK_N] = n
    m0 = BLK_HEAD
    m2 = BLK_HEAD + D
    for i in range(dd):
        dl[i] = uval[i] - st[m0 + i]
        st[m0 + i] += dl[i] / n
    for i in range(dd):
        for j in range(dd):
            st[m2 + i * D + j] += dl[i] * (uval[j] - st[m0 + j])


@njit(cache=True)
def _block_factor(st, dd, D, first):
    """Set one block's Cholesky factor from its accumulated covariance, shrunk towards its
    diagonal by dd / (n + dd) (few draws per dimension early in burn-in); the first time also
    the scale 2.38 / sqrt(dd). A block without enough draws or without a positive definite
    covariance stays (or goes) off. Resets the accumulators."""
    n = st[BLK_N]
    m0 = BLK_HEAD
    m2 = BLK_HEAD + D
    ch = BLK_HEAD + D + D * D
    ok = n >= 3.0
    if ok:
        lam = dd / (n + dd)
        cov = np.empty((dd, dd))
        for i in range(dd):
            for j in range(dd):
                v = st[m2 + i * D + j] / (n - 1.0)
                cov[i, j] = v if i == j else (1.0 - lam) * v
        for i in range(dd):
            if not cov[i, i] > 0.0:
                ok = False
        if ok:
            for i in range(dd):
                for j in range(i + 1):
                    v = cov[i, j]
                    for k in range(j):
                        v -= cov[i, k] * cov[j, k]
                    if i == j:
                        if not v > 1e-12 * cov[i, i]:
                            ok = False
                            v = 1.0
                        cov[i, i] = math.sqrt(v)
                    else:
                        cov[i, j] = v / cov[j, j]
        if ok:
            for i in range(dd):
                for j in range(dd):
                    st[ch + i * D + j] = cov[i, j] if j <= i else 0.0
            if first:
                st[BLK_SCALE] = 2.38 / math.sqrt(dd)
    if not ok and first:
        st[BLK_SCALE] = 0.0
    st[BLK_N] = 0.0
    for i in range(D + D * D):
        st[m0 + i] = 0.0


@njit(cache=True, nogil=True)
def run_joint_chain(xy, hs, y, w, seg, unit_shape, ds_bg, unit_ds, unit_base, unit_npar,
                    unit_isbg, src, a, c, off, g, dep_ptr, dep_units, unit_grp, grp_ptr,
                    grp_slot, pois, counts, unit_shir, ds_shir, shir_slots, blk_ptr, blk_par,
                    blk_uptr, blk_units, codes, pp, logsp, betas, u, step, step_max, n_burn,
                    n_sweeps, thin, state, start, stop, who, acc_win, blk, pause, out_ne,
                    out_theta, out_acc, out_swap):
    """Run sweeps [start, stop) of one exchange MC chain of the joint model (see the module
    docstring for the layout); return the next sweep index.

    unit_shape (U,): each peak unit's shape code (a data set's components may differ).
    unit_grp (U,): each peak unit's order group, whose centers (local slots
    grp_slot[grp_ptr[g]:grp_ptr[g+1]], in peak order) are kept strictly increasing: one group
    per data set, or per component of a composite model.
    xy (2, N): the concatenated axis x (row 0) and every data set's measured data (row 1: the
    raw counts of a Poisson data set), which a background computed from the data (tougaard)
    reads on its data set.
    pois: bool (N,) points of Poisson data sets, whose energy is the deviance of the mean
    counts - r (counts (N,): the raw counts there; y is counts minus any fixed offset), as in
    kernel.py; the other points' energy is w r^2 / 2.
    The chain's state (u, step (L, P), state uint64[4], who (L,), acc_win (L, P)), the
    pause flag, the resume rule (stop at a multiple of RECOMPUTE_EVERY or the last sweep) and
    the outputs are those of kernel.run_chain: out_ne (L, n_sweeps) energy n E at each rung;
    out_theta (L, n_sweeps // thin, P) natural-space free parameters; out_acc (L, P); out_swap
    (L-1,). Parameters with step 0 (fixed priors) are never proposed.
    unit_shir (U,): the local slot of the active Shirley scale of each peak unit's data set
    (-1: none); ds_shir (M,): each data set's Shirley direction (+1 / -1, 0: none); shir_slots:
    every Shirley slot (their free parameter changes all peak units of the data set).
    Block moves (see above): block b moves the free parameters blk_par[blk_ptr[b]:
    blk_ptr[b+1]] together and changes the units blk_units[blk_uptr[b]:blk_uptr[b+1]];
    blk (L, B, block_width(D)) is their state (B = 0: single-parameter moves only, and the
    numbers are those of a kernel without blocks). Each sweep runs, rung by rung, the
    single-parameter moves, then every block's move.
    """
    N = xy.shape[1]
    L, P = u.shape
    U = unit_ds.shape[0]
    Q = src.shape[0]
    B = blk.shape[1]
    D = 1
    for b in range(B):
        D = max(D, blk_ptr[b + 1] - blk_ptr[b])
    acc0, on, re = block_phases(n_burn)
    has_pois = False
    for i in range(N):
        if pois[i]:
            has_pois = True
    th = np.empty((L, P))
    lp = np.empty((L, P))
    loc = np.empty((L, Q))
    for s in range(L):
        for p in range(P):
            th[s, p] = math.exp(u[s, p]) if logsp[p] else u[s, p]
            lp[s, p] = _lp_sampled(codes[p], pp[p], u[s, p], logsp[p])
        _locals(th[s], src, a, c, off, g, loc[s])
    prof = np.zeros((L, max(U, 1), N))
    lo = np.zeros((L, max(U, 1)), dtype=np.int64)
    hi = np.zeros((L, max(U, 1)), dtype=np.int64)
    r = np.empty((L, N))
    ss = np.empty(L)
    maxdep = 1
    for p in range(P):
        maxdep = max(maxdep, dep_ptr[p + 1] - dep_ptr[p])
    for b in range(B):
        maxdep = max(maxdep, blk_uptr[b + 1] - blk_uptr[b])
    newp = np.zeros((maxdep, N))  # new profiles of the affected units
    nlo = np.zeros(maxdep, dtype=np.int64)
    nhi = np.zeros(maxdep, dtype=np.int64)
    ulo = np.zeros(maxdep, dtype=np.int64)  # union of old and new window per affected unit
    uhi = np.zeros(maxdep, dtype=np.int64)
    recomp = np.zeros(maxdep, dtype=np.bool_)
    d = np.zeros(N)  # change of the model curve f on the touched ranges
    mark = np.zeros(N, dtype=np.int64)  # points already summed for this proposal
    stamp = 0
    lq = np.empty(Q)
    thp = np.empty(P)
    z = np.empty(P)
    zb = np.empty(D)
    ub = np.empty(D)
    lpb = np.empty(D)

    for s in range(L):
        ss[s] = _full_state(xy, hs, y, w, seg, unit_shape, ds_bg, unit_ds, unit_base, unit_npar,
                            unit_isbg, unit_shir, ds_shir, pois, counts, loc[s], prof[s], lo[s],
                            hi[s], r[s])
    for sweep in range(start, stop):
        sampling = sweep >= n_burn
        for l in range(L):
            s = who[l]
            beta = betas[l]
            fill_normal(state, z, P)
            # moves m < P: parameter m alone; m = P + b: block b (once the blocks are on).
            # One loop, so that the proposal's evaluation below is written (and inlined) once.
            nmov = P + B if sweep >= on else P
            for m in range(nmov):
                if m < P:
                    p = m
                    if step[l, p] == 0.0:
                        continue  # fixed prior: never moves (an always-accepted null move before)
                    unew = u[s, p] + step[l, p] * z[p]
                    lpn = _lp_sampled(codes[p], pp[p], unew, logsp[p])
                    if lpn == -np.inf:
                        continue
                    tn = math.exp(unew) if logsp[p] else unew
                    units = dep_units
                    d0, d1 = dep_ptr[p], dep_ptr[p + 1]
                    dlp = lpn - lp[s, p]
                    if d1 > d0:
                        for q in range(P):
                            thp[q] = th[s, q]
                        thp[p] = tn
                else:
                    bk = m - P
                    st = blk[l, bk]
                    if not st[BLK_SCALE] > 0.0:
                        continue
                    p0 = blk_ptr[bk]
                    dd = blk_ptr[bk + 1] - p0
                    fill_normal(state, zb, dd)
                    ch = BLK_HEAD + D + D * D
                    for q in range(P):
                        thp[q] = th[s, q]
                    dlp = 0.0
                    for i in range(dd):
                        v = 0.0
                        for j in range(i + 1):
                            v += st[ch + i * D + j] * zb[j]
                        q = blk_par[p0 + i]
                        ub[i] = u[s, q] + st[BLK_SCALE] * v
                        lpb[i] = _lp_sampled(codes[q], pp[q], ub[i], logsp[q])
                        if lpb[i] == -np.inf:
                            dlp = -np.inf
                            break
                        dlp += lpb[i] - lp[s, q]
                        thp[q] = math.exp(ub[i]) if logsp[q] else ub[i]
                    if dlp == -np.inf:
                        continue
                    units = blk_units
                    d0, d1 = blk_uptr[bk], blk_uptr[bk + 1]
                dss = 0.0
                ok = True
                if d1 > d0:
                    for q in range(Q):
                        lq[q] = loc[s, q]
                    # new local values of the affected units
                    for t in range(d0, d1):
                        uu = units[t]
                        b = unit_base[uu]
                        for q in range(b, b + unit_npar[uu]):
                            v = a[q] * thp[src[q]] + c[q]
                            if off[q] >= 0:
                                v += g[q] * thp[off[q]]
                            lq[q] = v
                    for q in shir_slots:  # not a unit's own slot: updated here
                        v = a[q] * thp[src[q]] + c[q]
                        if off[q] >= 0:
                            v += g[q] * thp[off[q]]
                        lq[q] = v
                    for t in range(d0, d1):
                        uu = units[t]
                        if not unit_isbg[uu] and not _ordered(lq, grp_ptr, grp_slot,
                                                              unit_grp[uu]):
                            ok = False
                            break
                    if not ok:
                        continue
                    for t in range(d0, d1):
                        i = t - d0
                        uu = units[t]
                        b = unit_base[uu]
                        rc = bool(unit_isbg[uu])
                        if not rc:
                            for q in range(b + 1, b + unit_npar[uu]):
                                if lq[q] != loc[s, q]:
                                    rc = True
                            sq = unit_shir[uu]
                            if sq >= 0 and lq[sq] != loc[s, sq]:
                                rc = True
                        recomp[i] = rc
                        if rc:
                            a1, b1 = _unit_profile(uu, lq, xy, hs, seg, unit_shape, ds_bg,
                                                   unit_ds, unit_base, unit_npar, unit_isbg,
                                                   unit_shir, ds_shir, newp[i])
                            a0, b0 = lo[s, uu], hi[s, uu]
                            if a0 >= b0:
                                x0, x1 = a1, b1
                            elif a1 >= b1:
                                x0, x1 = a0, b0
                            else:
                                x0, x1 = min(a0, a1), max(b0, b1)
                            for k in range(x0, min(a1, x1)):
                                newp[i, k] = 0.0
                            for k in range(max(b1, x0), x1):
                                newp[i, k] = 0.0
                            nlo[i], nhi[i] = a1, b1
                            ulo[i], uhi[i] = x0, x1
                        else:
                            ulo[i], uhi[i] = lo[s, uu], hi[s, uu]
                    # d = f_new - f_old on the union ranges (zeroed first: units may overlap)
                    for t in range(d0, d1):
                        i = t - d0
                        for k in range(ulo[i], uhi[i]):
                            d[k] = 0.0
                    for t in range(d0, d1):
                        i = t - d0
                        uu = units[t]
                        if unit_isbg[uu]:
                            for k in range(ulo[i], uhi[i]):
                                d[k] += newp[i, k] - prof[s, uu, k]
                        else:
                            an = lq[unit_base[uu]]
                            ao = loc[s, unit_base[uu]]
                            if recomp[i]:
                                for k in range(ulo[i], uhi[i]):
                                    d[k] += an * newp[i, k] - ao * prof[s, uu, k]
                            else:
                                for k in range(ulo[i], uhi[i]):
                                    d[k] += (an - ao) * prof[s, uu, k]
                    # sum w (r - d)^2 - sum w r^2 over the touched points, each counted once
                    stamp += 1
                    if has_pois:
                        dss = _dss_mixed(d0, d1, ulo, uhi, mark, stamp, pois, counts, w, d,
                                         r[s])
                    else:  # all Gaussian: the plain loop (no per-point branch)
                        for t in range(d0, d1):
                            i = t - d0
                            for k in range(ulo[i], uhi[i]):
                                if mark[k] != stamp:
                                    mark[k] = stamp
                                    dss += w[k] * d[k] * (d[k] - 2.0 * r[s, k])
                if dss == np.inf:
                    continue  # zero likelihood (invalid Poisson mean): rejected at every rung
                log_ratio = -0.5 * beta * dss + dlp
                if log_ratio >= 0.0 or uniform(state) < math.exp(log_ratio):
                    if d1 > d0:
                        # apply d to r once per point (d is zeroed as it is used)
                        for t in range(d0, d1):
                            i = t - d0
                            for k in range(ulo[i], uhi[i]):
                                r[s, k] -= d[k]
                                d[k] = 0.0
                        for t in range(d0, d1):
                            i = t - d0
                            uu = units[t]
                            if recomp[i]:
                                for k in range(ulo[i], uhi[i]):
                                    prof[s, uu, k] = newp[i, k]
                                lo[s, uu] = nlo[i]
                                hi[s, uu] = nhi[i]
                            b = unit_base[uu]
                            for q in range(b, b + unit_npar[uu]):
                                loc[s, q] = lq[q]
                        for q in shir_slots:
                            loc[s, q] = lq[q]
                    ss[s] += dss
                    if m < P:
                        u[s, p] = unew
                        th[s, p] = tn
                        lp[s, p] = lpn
                        acc_win[l, p] += 1
                        if sampling:
                            out_acc[l, p] += 1
                    else:
                        for i in range(dd):
                            q = blk_par[p0 + i]
                            u[s, q] = ub[i]
                            th[s, q] = thp[q]
                            lp[s, q] = lpb[i]
                        st[BLK_WIN] += 1.0
                        if sampling:
                            st[BLK_ACC] += 1.0
            if B > 0 and acc0 <= sweep < re and on > acc0:
                for bk in range(B):  # burn-in: the rung's block coordinates for the covariance
                    p0 = blk_ptr[bk]
                    dd = blk_ptr[bk + 1] - p0
                    for i in range(dd):
                        ub[i] = u[s, blk_par[p0 + i]]
                    _block_accumulate(blk[l, bk], ub, dd, D, zb)
        swap_neighbours(betas, ss, who, state, out_swap, sampling)
        if B > 0 and on > acc0 and (sweep + 1 == on or sweep + 1 == re):
            for l in range(L):
                for b in range(B):
                    _block_factor(blk[l, b], blk_ptr[b + 1] - blk_ptr[b], D, sweep + 1 == on)
        if (sweep + 1) % RECOMPUTE_EVERY == 0:
            for s in range(L):
                _locals(th[s], src, a, c, off, g, loc[s])
                ss[s] = _full_state(xy, hs, y, w, seg, unit_shape, ds_bg, unit_ds, unit_base,
                                    unit_npar, unit_isbg, unit_shir, ds_shir, pois, counts,
                                    loc[s], prof[s], lo[s], hi[s], r[s])
        if not sampling:
            if (sweep + 1) % ADAPT_WINDOW == 0:
                adapt_steps(step, acc_win, step_max)
                if B > 0 and sweep >= on:
                    _adapt_blocks(blk)
        else:
            record_sweep(sweep - n_burn, thin, ss, who, th, out_ne, out_theta)
        if (sweep + 1) % RECOMPUTE_EVERY == 0 and pause[0] != 0:
            return sweep + 1
    return stop


@njit(cache=True)
def _adapt_blocks(blk):
    """End of an adaptation window with block moves: scale every active block's proposal
    towards BLOCK_ACCEPT (at most x e^(+-2) per window, within [1e-4, 10])."""
    L, B = blk.shape[0], blk.shape[1]
    for l in range(L):
        for b in range(B):
            st = blk[l, b]
            if st[BLK_SCALE] > 0.0:
                rate = st[BLK_WIN] / ADAPT_WINDOW
                sc = st[BLK_SCALE] * math.exp(2.0 * (rate - BLOCK_ACCEPT))
                st[BLK_SCALE] = min(10.0, max(1e-4, sc))
            st[BLK_WIN] = 0.0

