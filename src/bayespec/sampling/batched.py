"""Batched exchange Monte Carlo written against the array API (NumPy here, CuPy on GPUs).

The same algorithm as the Numba kernel (kernel.py): Metropolis updates of every parameter of
every replica, cached unit-height profiles and residuals so an amplitude move needs no exp(),
neighbour swaps every sweep, step sizes adapted per rung and parameter during burn-in only.
What differs is the shape of the work: every update is one vectorised operation over all
spectra x chains x replicas ("rows"), and profiles are evaluated over the whole axis (a GPU
prefers uniform work to windows).

Swaps exchange temperatures, not states: ``who[g, l]`` is the row at rung l of group g
(a group is one chain of one spectrum), ``rung[g, slot]`` its inverse.

Random numbers come from a counter-based generator (splitmix64 of a per-(spectrum, chain, slot)
key and a counter), evaluated with array operations: a spectrum's numbers depend only on its
own seed, never on its batch-mates or the backend's generator, so NumPy and CuPy give the same
draws and a batch can be split or regrouped freely.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from array_api_compat import array_namespace

from ..errors import ConfigError
from ..models.model import Problem
from ..models.priors import FIXED, GAMMA, LOGNORMAL, NORMAL, UNIFORM, pack
from .chunked import MayStop, check_points, target_reached
from .kernel import ADAPT_WINDOW, RECOMPUTE_EVERY, TARGET_ACCEPT
from .sampler import ChainOutput, initial_state
from .seeds import chain_seqs

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
#: the shapes with an array-API profile below (the measured line shapes of models.lines run on
#: the Numba backend only: their quadratures and series have no vectorised form here yet)
SHAPES = ("gaussian", "gaussian_nagata", "lorentzian", "pseudo_voigt", "asym_pseudo_voigt",
          "doublet_gaussian", "doublet_pseudo_voigt", "doublet_asym_pseudo_voigt")
#: the backgrounds with an array-API form below (tougaard, computed from the measured data by
#: an O(n^2) sum per evaluation, runs on the Numba backend only)
BACKGROUNDS = ("none", "constant", "linear", "polynomial", "exponential", "legendre")
_SD_PER_HWHM = 1.0 / math.sqrt(2.0 * math.log(2.0))


def _mix(xp, z):
    """splitmix64 finaliser on a uint64 array (wrapping arithmetic)."""
    u = xp.uint64
    z = (z ^ (z >> xp.asarray(30, dtype=u))) * xp.asarray(_M1, dtype=u)
    z = (z ^ (z >> xp.asarray(27, dtype=u))) * xp.asarray(_M2, dtype=u)
    return z ^ (z >> xp.asarray(31, dtype=u))


def uniforms(xp, keys, counter: int, count: int):
    """(len(keys), count) doubles in [0, 1): stream ``keys`` at positions counter*count + j."""
    u = xp.uint64
    j = xp.arange(count, dtype=u) + xp.asarray(counter * count % 2 ** 64, dtype=u)
    x = keys[:, None] + j[None, :] * xp.asarray(_GOLDEN, dtype=u)
    z = _mix(xp, x) >> xp.asarray(11, dtype=u)
    return xp.astype(z, xp.float64) * (1.0 / 9007199254740992.0)


def normals(xp, keys, counter: int, count: int):
    """(len(keys), count) standard normals by Box-Muller on counter-based uniforms."""
    half = (count + 1) // 2
    uu = uniforms(xp, keys, counter, 2 * half)
    rad = xp.sqrt(-2.0 * xp.log(1.0 - uu[:, :half]))
    ang = 2.0 * math.pi * uu[:, half:]
    return xp.concat([rad * xp.cos(ang), rad * xp.sin(ang)], axis=1)[:, :count]


def log_prior(xp, code: int, p, theta):
    """Log prior density of natural-space values ``theta`` (array) for prior (code, p)."""
    p0, p1, p2, p3, ln = (float(v) for v in p)
    ninf = -math.inf
    if code == GAMMA:
        safe = xp.where(theta > 0, theta, 1.0)
        return xp.where(theta > 0, (p0 - 1.0) * xp.log(safe) - p1 * theta + ln, ninf)
    if code == NORMAL:
        return -0.5 * ((theta - p0) / p1) ** 2 + ln
    if code == UNIFORM:
        return xp.where((theta >= p0) & (theta <= p1), ln + 0.0 * theta, ninf)
    if code == LOGNORMAL:
        lt = xp.log(xp.where(theta > 0, theta, 1.0))
        return xp.where(theta > 0, -0.5 * ((lt - p0) / p1) ** 2 - lt + ln, ninf)
    if code == FIXED:  # never moved (step 0): a point mass contributes nothing
        return 0.0 * theta
    return xp.where((theta >= p2) & (theta <= p3), -0.5 * ((theta - p0) / p1) ** 2 + ln, ninf)


def profile(xp, shape: str, x, center, width, extra):
    """Unit-height profiles (M, n) for rows of (center, width, extra (M, e)) on axis x (n,)."""
    d = x[None, :] - center[:, None]
    if shape == "gaussian":
        return xp.exp(-0.5 * (d / width[:, None]) ** 2)
    if shape == "gaussian_nagata":
        return xp.exp(-0.5 * width[:, None] * d * d)
    if shape == "lorentzian":
        return 1.0 / (1.0 + (d / width[:, None]) ** 2)
    if shape == "pseudo_voigt":
        eta = extra[:, 0:1]
        sd = width[:, None] * _SD_PER_HWHM
        return eta / (1.0 + (d / width[:, None]) ** 2) + (1.0 - eta) * xp.exp(-0.5 * (d / sd) ** 2)
    if shape == "asym_pseudo_voigt":  # see shapes.asym_pseudo_voigt
        eta, w = extra[:, 0:1], width[:, None]
        wx = 2.0 * w / (1.0 + xp.exp(xp.minimum(extra[:, 1:2] * d / w, 700.0)))
        pos = wx > 0
        u = xp.where(pos, d / xp.where(pos, wx, 1.0), math.inf)
        return xp.where(pos, eta / (1.0 + u * u)
                        + (1.0 - eta) * xp.exp(-0.5 * (u / _SD_PER_HWHM) ** 2), 0.0)
    if shape.startswith("doublet_"):  # main line + ratio * partner at center + splitting
        base = shape[len("doublet_"):]
        inner = extra[:, :-2]
        return (profile(xp, base, x, center, width, inner)
                + extra[:, -1:] * profile(xp, base, x, center + extra[:, -2], width, inner))
    raise ValueError(f"shape {shape!r} has no batched profile; add it to batched.profile")


def background(xp, kind: str, x, coefs):
    """Background curves (M, n) for coefficient rows coefs (M, m), of the kinds in
    BACKGROUNDS."""
    if kind not in BACKGROUNDS:
        raise ValueError(f"background {kind!r} has no batched form; add it to "
                         f"batched.background")
    M, m = coefs.shape
    if kind == "exponential":
        return coefs[:, 0:1] * xp.exp(-coefs[:, 1:2] * x[None, :])
    if kind == "legendre":  # see shapes.legendre
        n = x.shape[0]
        t = (2.0 * x - (x[0] + x[n - 1])) / (x[n - 1] - x[0])
        p_prev, p_cur = xp.ones_like(t), t
        out = coefs[:, 0:1] * p_prev[None, :]
        if m > 1:
            out = out + coefs[:, 1:2] * t[None, :]
        for j in range(2, m):
            p_prev, p_cur = p_cur, ((2 * j - 1) * t * p_cur - (j - 1) * p_prev) / j
            out = out + coefs[:, j:j + 1] * p_cur[None, :]
        return out
    out = xp.zeros((M, x.shape[0]), dtype=xp.float64)
    for j in range(m - 1, -1, -1):  # Horner, constant term first
        out = out * x[None, :] + coefs[:, j:j + 1]
    return out


def stream_keys(seq_keys: np.ndarray, L: int) -> np.ndarray:
    """Per-row uint64 keys (G * L,) from per-group keys (G,): one stream per replica slot."""
    g = np.repeat(seq_keys.astype(np.uint64), L)
    slot = np.tile(np.arange(L, dtype=np.uint64), len(seq_keys))
    with np.errstate(over="ignore"):
        mixed = g ^ (slot * np.uint64(0xD1B54A32D192ED03) + np.uint64(1))
        # one splitmix round so neighbouring slots are unrelated
        z = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(_M1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
    return z ^ (z >> np.uint64(31))


@dataclass
class Batch:
    """The constant part of a vectorised batch (S spectra x C chains x L rungs = M rows):
    the data broadcast to rows, the stream keys, the ladder and the priors. Built once by
    :func:`batch_start`; :func:`batch_advance` reads it."""

    xp: Any
    shape: str
    bg_name: str
    K: int
    st: int
    nb: int
    P: int
    S: int
    C: int
    L: int
    burn_in: int
    sweeps: int
    thin: int
    codes: np.ndarray
    pp: np.ndarray
    logsp: np.ndarray
    poisson: bool
    x: Any
    Y: Any  # (M, n) data to fit
    W: Any  # (M, n) weights
    Yc: Any  # (M, n) counts (Poisson)
    row_keys: Any  # (M,) uint64
    group_keys: Any  # (G,) uint64
    beta_g: Any  # (G, L)
    smax: Any  # (P,)
    gbase: Any  # (G, 1)

    @property
    def G(self) -> int:
        return self.S * self.C

    @property
    def npk(self) -> int:
        return self.K * self.st


@dataclass
class BatchState:
    """Everything that changes while a batch runs (the array-backend analogue of
    sampler.ChainState). ``sweep`` is the next sweep (0 .. burn_in + sweeps); u, th, lp: (M, P)
    coordinates, values and log prior terms; steps (G, L, P) by rung; who / rung (G, L) the row
    slot at each rung and its inverse; acc, acc_win (G, L, P); swaps (G, max(L-1, 1));
    out_ne (G, L, sweeps); out_theta (G, L, sweeps // thin, P); seconds: wall time so far."""

    u: Any
    th: Any
    lp: Any
    steps: Any
    who: Any
    rung: Any
    acc: Any
    acc_win: Any
    swaps: Any
    out_ne: Any
    out_theta: Any
    sweep: int = 0
    seconds: float = 0.0


def _check_batch(problems: list[Problem]) -> None:
    """Refuse what the array backends cannot run, and batches that do not share a model."""
    p0 = problems[0]
    if any(q.shirley_dir for q in problems):
        raise ConfigError("sampler.backend: an active Shirley background runs on the numba "
                          "backend only; set sampler.backend: numba")
    if p0.background.name not in BACKGROUNDS:
        raise ConfigError(f"sampler.backend: background {p0.background.name} runs on the numba "
                          f"backend only (the array backends have {', '.join(BACKGROUNDS)}); "
                          f"set sampler.backend: numba")
    if p0.shape.name not in SHAPES:
        raise ConfigError(f"sampler.backend: shape {p0.shape.name} runs on the numba backend "
                          f"only (the array backends have {', '.join(SHAPES)}); set "
                          f"sampler.backend: numba")
    for q in problems[1:]:
        if (q.K, q.shape.name, q.background.name, q.nb) != (p0.K, p0.shape.name,
                                                           p0.background.name, p0.nb) \
                or not np.array_equal(q.x, p0.x):
            raise ValueError("a batch needs one axis, K, shape and background for all spectra")
        if [pr.params for pr in q.priors] != [pr.params for pr in p0.priors]:
            raise ValueError("a batch needs the same priors for all spectra")
        if q.likelihood != p0.likelihood:
            raise ValueError("a batch needs one likelihood for all spectra")


def batch_start(problems: list[Problem], betas: np.ndarray, burn_in: int, sweeps: int,
                thin: int, chains: int, seed: int, xp=None) -> tuple[Batch, BatchState]:
    """The batch of ``problems`` x ``chains`` before its first sweep (initial states from the
    same SeedSequence(seed, spawn_key=(K, chain)) as the Numba path). betas: (S, L) or (L,)."""
    xp = xp or array_namespace(np.zeros(1))
    t0 = time.perf_counter()
    _check_batch(problems)
    p0 = problems[0]
    S, C = len(problems), chains
    betas = np.broadcast_to(np.asarray(betas, dtype=float), (S, np.shape(betas)[-1]))
    L = betas.shape[1]
    G, M = S * C, S * C * L
    P = len(p0.priors)
    codes, pp, logsp = pack(list(p0.priors))
    u0 = np.empty((G, L, P))
    step0 = np.empty((G, L, P))
    keys = np.empty(G, dtype=np.uint64)
    step_max = None
    for s_i, prob in enumerate(problems):
        for c in range(C):
            init_seq, kern_seq = chain_seqs(seed, prob.K, c)
            _, _, _, u, stp, smax = initial_state(prob, L, np.random.default_rng(init_seq))
            u0[s_i * C + c], step0[s_i * C + c], step_max = u, stp, smax
            keys[s_i * C + c] = kern_seq.generate_state(1, np.uint64)[0]
    f64 = xp.float64
    A = lambda a, dt=f64: xp.asarray(np.ascontiguousarray(a), dtype=dt)  # noqa: E731
    rows = lambda f: A(np.repeat(np.stack([f(q) for q in problems]), C * L, axis=0))  # noqa: E731
    b = Batch(
        xp=xp, shape=p0.shape.name, bg_name=p0.background.name, K=p0.K, st=p0.stride,
        nb=p0.nb, P=P, S=S, C=C, L=L, burn_in=burn_in, sweeps=sweeps, thin=thin, codes=codes,
        pp=pp, logsp=logsp, poisson=p0.likelihood == "poisson", x=A(p0.x),
        Y=rows(lambda q: q.y_fit), W=rows(lambda q: q.w), Yc=rows(lambda q: q.y),
        row_keys=A(stream_keys(keys, L), xp.uint64),
        group_keys=A(stream_keys(keys, 1) ^ np.uint64(0x5851F42D4C957F2D), xp.uint64),
        beta_g=A(np.repeat(betas, C, axis=0)), smax=A(step_max),
        gbase=xp.reshape(xp.arange(G, dtype=xp.int64) * L, (G, 1)))
    u = A(u0.reshape(M, P))
    th = xp.stack([xp.exp(u[:, p]) if logsp[p] else u[:, p] for p in range(P)], axis=1)
    lp = xp.stack([log_prior(xp, int(codes[p]), pp[p], th[:, p])
                   + (u[:, p] if logsp[p] else 0.0) for p in range(P)], axis=1)
    slots = xp.reshape(xp.arange(G * L, dtype=xp.int64), (G, L)) % L
    state = BatchState(
        u=u, th=th, lp=lp, steps=A(step0), who=slots, rung=xp.asarray(slots, copy=True),
        acc=xp.zeros((G, L, P), dtype=f64), acc_win=xp.zeros((G, L, P), dtype=f64),
        swaps=xp.zeros((G, max(L - 1, 1)), dtype=f64),
        out_ne=xp.zeros((G, L, sweeps), dtype=f64),
        out_theta=xp.zeros((G, L, sweeps // thin, P), dtype=f64))
    state.seconds = time.perf_counter() - t0
    return b, state


def _energy2(b: Batch, r):
    """(M,) sum w r^2, or 2 E of the Poisson mean Yc - r (kernel.py)."""
    xp = b.xp
    if not b.poisson:
        return xp.sum(b.W * r * r, axis=1)
    f = b.Yc - r
    ok = xp.all(xp.where(b.Yc > 0, f > 0, f >= 0), axis=1)
    lf = xp.log(xp.where(f > 0, f, 1.0))
    lc = xp.log(xp.where(b.Yc > 0, b.Yc, 1.0))
    e = xp.sum(f - b.Yc - b.Yc * (lf - lc), axis=1)
    return xp.where(ok, 2.0 * e, math.inf)


def _denergy2(b: Batch, r, dr):
    """Change of the Poisson energy2 when r -> r + dr."""
    xp = b.xp
    f = b.Yc - r
    fn = f - dr
    ok = xp.all(xp.where(b.Yc > 0, fn > 0, fn >= 0), axis=1)
    lr = xp.log(xp.where(fn > 0, fn, 1.0)) - xp.log(xp.where(f > 0, f, 1.0))
    de = xp.sum(-dr - b.Yc * lr, axis=1)
    return xp.where(ok, 2.0 * de, math.inf)


def _full_state(b: Batch, th):
    """Unit-height profiles (K x (M, n)), background (M, n) and residuals (M, n) from th."""
    xp, K, st, npk = b.xp, b.K, b.st, b.npk
    prof = [profile(xp, b.shape, b.x, th[:, k * st + 1], th[:, k * st + 2],
                    th[:, k * st + 3:k * st + st]) for k in range(K)]
    bg = background(xp, b.bg_name, b.x, th[:, npk:]) if b.nb else xp.zeros_like(b.Y)
    f = bg + sum((th[:, k * st:k * st + 1] * prof[k] for k in range(K)),
                 start=xp.zeros_like(b.Y))
    return prof, bg, b.Y - f


def batch_advance(b: Batch, s: BatchState, stop: int) -> BatchState:
    """Run sweeps [s.sweep, stop) of every row in place. ``stop`` must be a multiple of
    RECOMPUTE_EVERY or the last sweep: the cached profiles and residuals are rebuilt from the
    parameters at each call's start exactly as the loop rebuilds them at those multiples, and
    the streams are counter-based, so a batch run in pieces is bit for bit the unsplit run."""
    xp, P, L, G, st, npk = b.xp, b.P, b.L, b.G, b.st, b.npk
    codes, pp, logsp, poisson, W, gbase, beta_g = (b.codes, b.pp, b.logsp, b.poisson, b.W,
                                                    b.gbase, b.beta_g)
    f64 = xp.float64
    t0 = time.perf_counter()
    u, th, lp, steps, who, rung = s.u, s.th, s.lp, s.steps, s.who, s.rung
    acc, acc_win, swaps, out_ne, out_theta = s.acc, s.acc_win, s.swaps, s.out_ne, s.out_theta
    prof, bg, r = _full_state(b, th)
    ss = _energy2(b, r)

    def by_rung(v):  # (M,) per-row values -> (G, L) ordered by rung
        return xp.reshape(xp.take(v, xp.reshape(gbase + who, (-1,)), axis=0), (G, L))

    def by_row(v):  # (G, L) per-rung values -> (M,) per row
        return xp.take(xp.reshape(v, (-1,)), xp.reshape(gbase + rung, (-1,)), axis=0)

    for sweep in range(s.sweep, stop):
        sampling = sweep >= b.burn_in
        z = normals(xp, b.row_keys, 2 * sweep, P)
        uacc = uniforms(xp, b.row_keys, 2 * sweep + 1, P)
        beta_row = by_row(beta_g)
        for p in range(P):
            step_row = by_row(steps[:, :, p])
            unew = u[:, p] + step_row * z[:, p]
            tn = xp.exp(unew) if logsp[p] else unew
            lpn = log_prior(xp, int(codes[p]), pp[p], tn) + (unew if logsp[p] else 0.0)
            if p < npk:
                k, j = divmod(p, st)
                o = k * st
                if j == 0:
                    d = tn - th[:, p]
                    if poisson:
                        dss = _denergy2(b, r, -d[:, None] * prof[k])
                    else:
                        gw = W * prof[k]
                        dss = (-2.0 * d * xp.sum(gw * r, axis=1)
                               + d * d * xp.sum(gw * prof[k], axis=1))
                    new = None
                else:
                    c_ = tn if j == 1 else th[:, o + 1]
                    w_ = tn if j == 2 else th[:, o + 2]
                    ex = th[:, o + 3:o + st]
                    if j >= 3:
                        ex = xp.concat([ex[:, :j - 3], tn[:, None], ex[:, j - 2:]], axis=1)
                    new = profile(xp, b.shape, b.x, c_, w_, ex)
                    dr = th[:, o:o + 1] * (prof[k] - new)
                    dss = _denergy2(b, r, dr) if poisson else \
                        xp.sum(W * dr * (2.0 * r + dr), axis=1)
            else:
                coefs = xp.concat([th[:, npk:p], tn[:, None], th[:, p + 1:]], axis=1)
                new = background(xp, b.bg_name, b.x, coefs)
                dr = bg - new
                dss = _denergy2(b, r, dr) if poisson else xp.sum(W * dr * (2.0 * r + dr), axis=1)
            ok = xp.isfinite(lpn) & xp.isfinite(dss)  # Poisson: invalid means are rejected
            logr = xp.where(ok, -0.5 * beta_row * xp.where(ok, dss, 0.0) + lpn - lp[:, p], -math.inf)
            a = ok & (xp.log(1.0 - uacc[:, p]) < logr)
            a2 = a[:, None]
            if p < npk and j == 0:
                r = xp.where(a2, r - d[:, None] * prof[k], r)
            elif p < npk:
                r = xp.where(a2, r + dr, r)
                prof[k] = xp.where(a2, new, prof[k])
            else:
                r = xp.where(a2, r + dr, r)
                bg = xp.where(a2, new, bg)
            u[:, p] = xp.where(a, unew, u[:, p])
            th[:, p] = xp.where(a, tn, th[:, p])
            lp[:, p] = xp.where(a, lpn, lp[:, p])
            ss = xp.where(a, ss + dss, ss)
            a_r = by_rung(xp.astype(a, f64))
            acc_win[:, :, p] += a_r
            if sampling:
                acc[:, :, p] += a_r
        if L > 1:  # neighbour swaps, pairs in order as in the Numba kernel
            us = uniforms(xp, b.group_keys, sweep, L - 1)
            for l in range(L - 1):
                # copies: the column views would change under the first assignment below
                s1 = xp.asarray(who[:, l], copy=True)
                s2 = xp.asarray(who[:, l + 1], copy=True)
                e1 = xp.take(ss, gbase[:, 0] + s1, axis=0)
                e2 = xp.take(ss, gbase[:, 0] + s2, axis=0)
                logr = 0.5 * (beta_g[:, l + 1] - beta_g[:, l]) * (e2 - e1)
                sw = xp.log(1.0 - us[:, l]) < logr
                who[:, l] = xp.where(sw, s2, s1)
                who[:, l + 1] = xp.where(sw, s1, s2)
                if sampling:
                    swaps[:, l] += xp.astype(sw, f64)
            rung = xp.argsort(who, axis=1)
        if (sweep + 1) % RECOMPUTE_EVERY == 0:
            prof, bg, r = _full_state(b, th)
            ss = _energy2(b, r)
        if not sampling:
            if (sweep + 1) % ADAPT_WINDOW == 0:
                rate = acc_win / ADAPT_WINDOW
                steps = xp.minimum(steps * xp.exp(2.0 * (rate - TARGET_ACCEPT)), b.smax)
                steps = xp.maximum(steps, 1e-12 * b.smax)
                acc_win = xp.zeros_like(acc_win)
        else:
            t = sweep - b.burn_in
            out_ne[:, :, t] = 0.5 * by_rung(ss)
            if t % b.thin == b.thin - 1:
                for p in range(P):
                    out_theta[:, :, t // b.thin, p] = by_rung(th[:, p])
    s.steps, s.who, s.rung, s.acc_win = steps, who, rung, acc_win
    s.sweep = max(s.sweep, stop)
    s.seconds += time.perf_counter() - t0
    return s


def to_host(a) -> np.ndarray:
    """A NumPy copy of an array of any namespace (CuPy: .get()); a copy, never a view, since
    the batch may go on updating its arrays in place."""
    return np.array(a.get() if hasattr(a, "get") else a, copy=True)


def batch_ne(b: Batch, s: BatchState, spectrum: int) -> np.ndarray:
    """Energies (C, L, sampled) of one spectrum's chains so far, on the host."""
    done = max(0, s.sweep - b.burn_in)
    g = spectrum * b.C
    return to_host(s.out_ne[g:g + b.C, :, :done])


def batch_theta(b: Batch, s: BatchState, spectrum: int) -> np.ndarray:
    """Thinned draws (C, L, D, P) of one spectrum's chains so far, on the host."""
    done = max(0, s.sweep - b.burn_in)
    g = spectrum * b.C
    return to_host(s.out_theta[g:g + b.C, :, :done // b.thin])


def spectrum_outputs(b: Batch, s: BatchState, spectrum: int) -> list[ChainOutput]:
    """The ChainOutput of each chain of one spectrum, from every sampling sweep run so far.
    Rows never interact, so a spectrum taken out here (its target_se reached) has the numbers
    of a run stopped here, whatever its batch-mates do next."""
    done = max(0, s.sweep - b.burn_in)
    g, C, L = spectrum * b.C, b.C, b.L
    ne, th, acc, sw, st = (to_host(a[g:g + C, ...]) for a in (s.out_ne, s.out_theta, s.acc,
                                                              s.swaps, s.steps))
    secs = s.seconds / b.G
    return [ChainOutput(ne[c][:, :done], th[c][:, :done // b.thin], acc[c], sw[c][:L - 1],
                        st[c], secs) for c in range(C)]


def run_batched(problems: list[Problem], betas: np.ndarray, burn_in: int, sweeps: int,
                thin: int, chains: int, seed: int, xp=None) -> list[list[ChainOutput]]:
    """Exchange MC for several spectra at once, every chain to the end; returns
    outputs[spectrum][chain].

    All problems must share the axis, K, shape, background, priors and number of rungs; betas
    is (S, L) or (L,). ``xp`` is an array namespace (numpy, cupy, array_api_strict); default
    numpy. Initial states use the same SeedSequence(seed, spawn_key=(K, chain)) as the Numba
    path."""
    b, s = batch_start(problems, betas, burn_in, sweeps, thin, chains, seed, xp)
    batch_advance(b, s, burn_in + sweeps)
    return [spectrum_outputs(b, s, i) for i in range(b.S)]


def batch_key(problem: Problem, betas: np.ndarray) -> tuple:
    """What spectra must share to run in one vectorised batch: axis, model, priors, rung count."""
    return (problem.K, problem.shape.name, problem.background.name, problem.nb,
            problem.x.tobytes(), tuple((p.code, tuple(p.params)) for p in problem.priors),
            len(betas))


def run_grouped(jobs: list[tuple[Problem, np.ndarray]], burn_in: int, sweeps: int, thin: int,
                chains: int, seed: int, xp=None, target_se: float | None = None,
                se_of: Callable[[int, np.ndarray], float] | None = None,
                may_stop: MayStop | None = None,
                ) -> list[list[ChainOutput]]:
    """Run many (problem, betas) jobs, vectorising every group that shares an axis, model, priors
    and rung count (:func:`batch_key`) into one batch; outputs[job][chain].

    With ``target_se`` every job is checked at the chunked driver's check points
    (chunked.check_points, chunked.target_reached with ``se_of`` / ``may_stop`` as there) and
    taken out of its batch at the first one where its SE is reached (``sweeps`` is then the
    maximum); the batch runs on while any of its jobs goes on. Each spectrum's numbers are
    those of a run alone (counter-based streams keyed per spectrum, rows that never
    interact), so neither the grouping nor a batch-mate's stop changes them."""
    groups: dict[tuple, list[int]] = {}
    for j, (prob, betas) in enumerate(jobs):
        groups.setdefault(batch_key(prob, betas), []).append(j)
    out: list[list[ChainOutput] | None] = [None] * len(jobs)
    bounds = check_points(burn_in, sweeps, target_se)
    for idx in groups.values():
        b, s = batch_start([jobs[j][0] for j in idx], np.stack([jobs[j][1] for j in idx]),
                           burn_in, sweeps, thin, chains, seed, xp)
        active = list(range(len(idx)))
        for stop in bounds:
            batch_advance(b, s, stop)
            if stop == bounds[-1]:
                break
            for i in list(active):
                if target_reached(idx[i], batch_ne(b, s, i), stop - burn_in, target_se,
                                  se_of, may_stop, lambda i=i: batch_theta(b, s, i))[1]:
                    out[idx[i]] = spectrum_outputs(b, s, i)
                    active.remove(i)
            if not active:
                break
        for i in active:
            out[idx[i]] = spectrum_outputs(b, s, i)
    return out  # type: ignore[return-value]


def namespace(backend: str):
    """The array namespace for ``sampler.backend`` numpy | cupy | array_api_strict.

    Raises BackendError with the fix when the package or a GPU is missing (never falls back
    silently)."""
    from ..errors import ConfigError

    if backend == "numpy":
        import array_api_compat.numpy as xp
        return xp
    if backend == "array_api_strict":
        import array_api_strict as xp
        return xp
    if backend == "cupy":
        try:
            import array_api_compat.cupy as xp
            import cupy
            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device visible")
        except Exception as e:  # ImportError, CUDA driver errors
            raise ConfigError(f"sampler.backend: cupy requested but unusable ({e}); install "
                              f"bayespec[gpu] on a machine with a GPU, or use backend numba") from e
        return xp
    raise ConfigError(f"sampler.backend: unknown backend {backend!r}; "
                      f"choose numba, numpy, cupy or auto")


def gpu_available() -> bool:
    """True when CuPy imports and sees a CUDA device (used by backend auto)."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False
