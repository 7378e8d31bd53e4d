"""Adapting the replica-exchange ladder during burn-in from measured swap rejection rates, after
Syed, Bouchard-Cote, Deligiannidis & Doucet (2021, JRSS B) as in Pigeons.jl.

The communication barrier Lambda(beta) is the integral of the local rejection rate; its value at
rung l is estimated by the sum of the measured rejections r_j = 1 - acceptance of the pairs below.
New rungs are placed at equal shares of Lambda, and their number follows from Lambda
(:func:`rungs_for`). A rejection is at most 1, so a pair that (almost) never swaps hides how
large its barrier is: the measured Lambda is then a lower bound, and the adaptation should be
repeated on the new ladder until the rejections are even (freeze the ladder before sampling).

Coordinate. Ladders span many decades (0, 1e-8 .. 1), so Lambda is interpolated not in beta but in
u = log(1 + beta / c) with c = beta_1 (the first positive rung) when beta_0 = 0, else u = log
beta: about log beta above beta_1 (relative resolution over all decades; the local barrier of a
likelihood-dominated posterior is about proportional to 1 / beta, Lambda linear in log beta)
and about linear in beta below it (near the prior the local barrier is nearly constant). The
coordinate is smooth, so the interpolant is not bent by changes of the ladder ratio. Lambda(u)
is the monotone cubic (Fritsch-Butland PCHIP) through the rungs: non-decreasing, exactly flat
on pairs with zero rejection, strictly increasing elsewhere, and exact at the rungs (so a ladder
with equal increments is returned unchanged). Rung positions between rungs ("fractional rung
index") are linear in u.
"""

from __future__ import annotations

import math

import numpy as np

TARGET_REJECTION = 0.3  # mean swap acceptance 0.7 per pair: see rungs_for
_BISECT = 64  # bisection steps when inverting the cubic on one segment (2^-64 of one segment)


def _check(betas: np.ndarray, rejection: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(betas, dtype=float)
    r = np.asarray(rejection, dtype=float)
    if b.ndim != 1 or b.size < 2 or r.shape != (b.size - 1,):
        raise ValueError(f"ladder: betas (L,) with L >= 2 and rejection (L-1,) needed, got "
                         f"{b.shape} and {r.shape}")
    if not (np.all(np.isfinite(b)) and b[0] >= 0 and np.all(np.diff(b) > 0)):
        raise ValueError("ladder: betas must be finite, >= 0 and strictly increasing")
    if not np.all(np.isfinite(r)):
        raise ValueError("ladder: rejection rates must be finite")
    return b, np.clip(r, 0.0, 1.0)


def barrier(betas: np.ndarray, rejection: np.ndarray) -> np.ndarray:
    """Cumulative communication barrier at each rung, (L,): Lambda_0 = 0 and
    Lambda_{l+1} = Lambda_l + r_l, with r_l (L-1,) the swap rejection rate of the pair
    (l, l + 1) (clipped to [0, 1]). betas (L,) increasing, betas[0] >= 0. The total barrier is
    the last value."""
    _, r = _check(betas, rejection)
    return np.concatenate([[0.0], np.cumsum(r)])


def _coord(b: np.ndarray) -> tuple[np.ndarray, float]:
    """The ladder coordinate u (L,) of the rungs b (L,) and its offset c (module doc)."""
    c = float(b[1]) if b[0] == 0 else 0.0
    return _u(b, c), c


def _u(beta, c: float) -> np.ndarray:
    beta = np.asarray(beta, dtype=float)
    return np.log1p(beta / c) if c > 0 else np.log(beta)


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """PCHIP derivatives dy/dx (L,) at the knots x (L,) increasing, y (L,) non-decreasing."""
    h = np.diff(x)
    d = np.diff(y) / h
    if d.size == 1:
        return np.full_like(y, d[0])
    m = np.zeros_like(y)
    both = (d[:-1] > 0) & (d[1:] > 0)
    w1, w2 = (2 * h[1:] + h[:-1])[both], (h[1:] + 2 * h[:-1])[both]
    m[1:-1][both] = (w1 + w2) / (w1 / d[:-1][both] + w2 / d[1:][both])  # weighted harmonic
    for end, d0, d1, h0, h1 in ((0, d[0], d[1], h[0], h[1]), (-1, d[-1], d[-2], h[-1], h[-2])):
        e = ((2 * h0 + h1) * d0 - h0 * d1) / (h0 + h1)  # three-point ends, limited
        m[end] = 0.0 if e <= 0 or d0 <= 0 else min(e, 3.0 * d0)
    return m


def _hermite(y0, y1, m0, m1, h, s):
    """Cubic Hermite on one segment of width h at s in [0, 1] (m: derivatives per unit x)."""
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * y0 + (s3 - 2 * s2 + s) * h * m0 + (-2 * s3 + 3 * s2) * y1
            + (s3 - s2) * h * m1)


def _beta_at(b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """beta at fractional rung index t (linear in the coordinate u between rungs)."""
    u, c = _coord(b)
    ut = np.interp(t, np.arange(b.size), u)
    return c * np.expm1(ut) if c > 0 else np.exp(ut)


def _index_at(b: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_beta_at`: fractional rung index t of each beta (clipped to the ladder)."""
    u, c = _coord(b)
    beta = np.clip(np.asarray(beta, dtype=float), b[0], b[-1])
    return np.interp(_u(beta, c), u, np.arange(b.size))


def place(betas: np.ndarray, rejection: np.ndarray, n: int) -> np.ndarray:
    """n new betas (n,) at equal increments of the interpolated barrier Lambda(beta).

    betas (L,) strictly increasing (betas[0] may be 0), rejection (L-1,) per neighbour pair.
    The ends are kept exactly and the output is strictly increasing. Pairs with zero rejection
    get no new rung inside them; with no rejection at all the rungs are spread evenly in the
    rung index (the old ladder resampled, e.g. the same ladder for n = L)."""
    b, _ = _check(betas, rejection)
    if n < 2:
        raise ValueError(f"ladder: n >= 2 rungs needed, got {n}")
    y = barrier(b, rejection)
    total = y[-1]
    if total <= 0:
        t = np.linspace(0.0, b.size - 1, n)
    else:
        u, _ = _coord(b)
        m = _slopes(u, y)
        v = total * np.arange(1, n - 1) / (n - 1)
        k = np.clip(np.searchsorted(y, v, side="right") - 1, 0, b.size - 2)
        lo, hi = np.zeros_like(v), np.ones_like(v)
        for _ in range(_BISECT):
            mid = 0.5 * (lo + hi)
            below = _hermite(y[k], y[k + 1], m[k], m[k + 1], u[k + 1] - u[k], mid) < v
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        t = np.concatenate([[0.0], k + 0.5 * (lo + hi), [b.size - 1.0]])
    new = _beta_at(b, t)
    new[0], new[-1] = b[0], b[-1]
    if not np.all(np.diff(new) > 0):  # only from round-off between nearly equal rungs
        raise ValueError("ladder: the placed rungs are not strictly increasing (n too large "
                         "for the resolution of the ladder?)")
    return new


def rungs_for(total_barrier: float, min_rungs: int = 4, max_rungs: int = 256,
              target_rejection: float = TARGET_REJECTION) -> int:
    """Number of rungs L for a total barrier Lambda: the smallest L with a per-pair rejection
    Lambda / (L - 1) <= target_rejection, clipped to [min_rungs, max_rungs].

    Why: kernel.swap_neighbours tries every pair (0, 1), (1, 2), ... in this order each sweep, a
    deterministic, non-reversible scheme (a replica can climb many rungs in one sweep and then
    descends persistently), not a random (reversible, diffusive) choice of pairs. In Syed et
    al.'s idealised model its round-trip rate per sweep saturates near 1 / (1 + Lambda) as L
    grows, like DEO with both phases per sweep. The kernel is serial (cost per sweep ~ L), so
    round trips per unit cost peak at L - 1 ~ 2 Lambda (acceptance 0.5, the 2 Lambda rule) on a
    flat ridge: by simulation of that model 80-90 % of the peak at acceptance 0.7 (about 75 %
    at 0.75), but zero at L - 1 <= Lambda. The default acceptance 0.7 trades that for margin:
    Lambda from a short burn-in is noisy and a lower bound (rejections saturate at 1), real
    local moves are correlated, and stepping stone wants overlap between neighbours."""
    lam = float(total_barrier)
    if not (math.isfinite(lam) and lam >= 0) or not 0 < target_rejection <= 1:
        raise ValueError(f"ladder: total barrier >= 0 and target rejection in (0, 1] needed, "
                         f"got {total_barrier} and {target_rejection}")
    if not 2 <= min_rungs <= max_rungs:
        raise ValueError(f"ladder: 2 <= min_rungs <= max_rungs needed, got {min_rungs}, "
                         f"{max_rungs}")
    need = int(math.ceil(lam / target_rejection - 1e-9)) + 1
    return int(min(max(need, min_rungs), max_rungs))


def remap(state_u: np.ndarray, state_step: np.ndarray, who: np.ndarray, old_betas: np.ndarray,
          new_betas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A chain state on ``new_betas`` (M,) from one on ``old_betas`` (L,).

    state_u (L, P) per replica slot, state_step (L, P) per rung, who (L,) slot at each rung.
    Returns u (M, P) per slot, step (M, P) per rung and who = arange(M): slot s starts at new
    rung s with the configuration of the replica at the old rung nearest to it in the ladder
    coordinate u of the module doc (about log beta above the first positive rung, about beta
    below it). Steps are interpolated per parameter, log step linear in u (a
    parameter with a zero step at any old rung, e.g. a fixed one, takes the nearest rung's).
    The caller resets the adaptation window and swap counts."""
    ob = np.asarray(old_betas, dtype=float)
    u, step, w = np.asarray(state_u), np.asarray(state_step, dtype=float), np.asarray(who)
    _check(ob, np.zeros(ob.size - 1))
    if u.shape[0] != ob.size or step.shape != u.shape or w.shape != (ob.size,):
        raise ValueError(f"ladder: u, step (L, P) and who (L,) needed for L = {ob.size}, got "
                         f"{u.shape}, {step.shape}, {w.shape}")
    t = _index_at(ob, new_betas)
    k = np.minimum(np.floor(t).astype(int), ob.size - 2)
    s = (t - k)[:, None]
    near = np.where(s[:, 0] < 0.5, k, k + 1)
    new_u = u[w[near]].copy()
    new_step = step[near].copy()
    ok = np.all(step > 0, axis=0)
    if np.any(ok):
        ls = np.log(step[:, ok])
        new_step[:, ok] = np.exp((1 - s) * ls[k] + s * ls[k + 1])
    return new_u, new_step, np.arange(t.size, dtype=np.int64)
