"""Bayesian free energy from an exchange Monte Carlo ladder (pure NumPy functions).

Notation: n*E = sum_i w_i r_i^2 / 2 is what the kernel records ("ne"), so the tempered
posterior at rung l is proportional to exp(-beta_l * ne) phi(w). With z(0) = 1 for a normalised
prior, stepping stone gives

    log z(beta_{l+1}) - log z(beta_l) = log < exp(-(beta_{l+1} - beta_l) ne) >_{p_l},

and the free energy at noise precision b is F(b) = -(n/2) log(b / 2 pi) - (1/2) sum log w_i
- log z(b). Standard errors come from batch means over independent chains.
"""

from __future__ import annotations

import numpy as np

DEFAULT_BATCHES = 5  # per chain: 4 chains give 20 batch estimates for the standard error


def logsumexp(a: np.ndarray, axis: int | tuple[int, ...] | None = None) -> np.ndarray:
    """log(sum(exp(a))) along ``axis`` without overflow; -inf where every term is -inf.

    Plain NumPy rather than scipy.special.logsumexp: same numbers for real inputs, but scipy's
    array-API dispatch costs ~0.2 ms per call, and the MBAR refinement of every fit calls it
    ~90 times (a campaign fits thousands)."""
    a = np.asarray(a, dtype=float)
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


def log_mean_exp(a: np.ndarray, axis: int | tuple[int, ...] = -1) -> np.ndarray:
    """log(mean(exp(a))) along ``axis``, computed without overflow."""
    a = np.asarray(a, dtype=float)
    count = np.prod([a.shape[ax] for ax in np.atleast_1d(axis)])
    return logsumexp(a, axis=axis) - np.log(count)


def stepping_stone(ne: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """log z(beta_l) for every rung.

    ne: (..., L, S) samples of n*E at each rung (leading dims, e.g. chains, are pooled).
    betas: (L,) with betas[0] = 0. Returns (L,), log z[0] = 0.
    """
    L, S = ne.shape[-2:]
    x = np.moveaxis(ne, -2, 0).reshape(L, -1)
    d = np.diff(betas)
    steps = log_mean_exp(-d[:, None] * x[:-1], axis=1)
    return np.concatenate([[0.0], np.cumsum(steps)])


def stepping_stone_se(ne: np.ndarray, betas: np.ndarray,
                      batches: int = DEFAULT_BATCHES) -> tuple[np.ndarray, np.ndarray]:
    """Stepping-stone log z (L,) from all samples, and its standard error (L,) by batch means.

    ne: (C, L, S). Each chain is cut into ``batches`` contiguous blocks; the estimator is
    evaluated per block and SE = sd(block estimates) / sqrt(number of blocks).
    """
    C, L, S = ne.shape
    b = max(1, min(batches, S // 20))
    m = S // b
    blocks = ne[:, :, : b * m].reshape(C, L, b, m).transpose(0, 2, 1, 3).reshape(C * b, L, m)
    per = np.array([stepping_stone(blk, betas) for blk in blocks])
    se = per.std(axis=0, ddof=1) / np.sqrt(per.shape[0]) if per.shape[0] > 1 else np.full(L, np.nan)
    return stepping_stone(ne, betas), se


def free_energy(betas: np.ndarray, log_z: np.ndarray, n: int, sum_log_w: float = 0.0) -> np.ndarray:
    """F(b) = -(n/2) log(b/2pi) - (1/2) sum log w - log z(b) at each rung; NaN where b = 0."""
    betas = np.asarray(betas, dtype=float)
    with np.errstate(divide="ignore"):
        f = -0.5 * n * np.log(betas / (2 * np.pi)) - 0.5 * sum_log_w - log_z
    return np.where(betas > 0, f, np.nan)


def mbar_log_z(ne_by_rung: list[np.ndarray], betas: np.ndarray, log_z0: np.ndarray,
               iters: int = 200, tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multiple-histogram (WHAM / MBAR) reweighting over a set of rungs.

    ne_by_rung: samples of n*E at each of the M rungs ``betas`` (M,). log_z0: (M,) start values
    (stepping stone). Returns (log_z (M,), pooled samples (N,), log_den (N,)) with
    log_den_j = log sum_m N_m exp(-beta_m ne_j - log z_m), so that for any b
    log z(b) = logsumexp(-b ne - log_den). The gauge is fixed to log_z0[0].
    """
    counts = np.array([len(e) for e in ne_by_rung], dtype=float)
    pooled = np.concatenate(ne_by_rung)
    lz = np.array(log_z0, dtype=float)
    a = -np.outer(betas, pooled)  # (M, N)
    logc = np.log(counts)[:, None]
    for _ in range(iters):
        log_den = logsumexp(logc + a - lz[:, None], axis=0)
        new = logsumexp(a - log_den[None, :], axis=1)
        new += lz[0] - new[0]
        if np.max(np.abs(new - lz)) < tol:
            lz = new
            break
        lz = new
    log_den = logsumexp(logc + a - lz[:, None], axis=0)
    return lz, pooled, log_den


def refine_minimum(ne: np.ndarray, betas: np.ndarray, log_z: np.ndarray, n: int,
                   sum_log_w: float = 0.0, halfwidth: int = 2) -> tuple[float, float, int]:
    """Noise precision b-hat minimising F(b), refined between rungs by reweighting.

    ne: (C, L, S). Returns (b_hat, F(b_hat), l_star), l_star the rung with the smallest F.
    The reweighting uses the rungs l_star - halfwidth .. l_star + halfwidth (beta > 0 only).
    """
    f = free_energy(betas, log_z, n, sum_log_w)
    l_star = int(np.nanargmin(f))
    lo = max(1, l_star - halfwidth)
    hi = min(len(betas), l_star + halfwidth + 1)
    rungs = list(range(lo, hi))
    samples = [ne[:, l, :].ravel() for l in rungs]
    lz, pooled, log_den = mbar_log_z(samples, betas[rungs], log_z[rungs])
    # anchor: the reweighted curve passes through the stepping-stone value at l_star
    offset = log_z[l_star] - lz[rungs.index(l_star)]

    def f_of(logb: float) -> float:
        b = np.exp(logb)
        lzb = logsumexp(-b * pooled - log_den) + offset
        return float(-0.5 * n * np.log(b / (2 * np.pi)) - 0.5 * sum_log_w - lzb)

    from scipy.optimize import minimize_scalar  # ~75 ms to import: only unknown-noise fits

    a = np.log(betas[max(1, l_star - 1)])
    c = np.log(betas[min(len(betas) - 1, l_star + 1)])
    res = minimize_scalar(f_of, bounds=(a, c), method="bounded", options={"xatol": 1e-6})
    b_hat, f_hat = float(np.exp(res.x)), float(res.fun)
    if f_hat > f[l_star]:  # never report worse than the best rung itself
        b_hat, f_hat = float(betas[l_star]), float(f[l_star])
    return b_hat, f_hat, l_star


def _reweighted_mean(ne: np.ndarray, d: float) -> np.ndarray:
    """<ne>_{beta + d} from samples ne (..., S) drawn at beta: sum ne e^(-d ne) / sum e^(-d ne)."""
    a = -d * ne
    w = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return np.sum(w * ne, axis=-1) / np.sum(w, axis=-1)


def wbic(ne: np.ndarray, betas: np.ndarray, n: int, b: float, const: float,
         batches: int = DEFAULT_BATCHES) -> tuple[float, float]:
    """WBIC (Watanabe 2013) and its SE, read from the ladder at no extra sampling cost.

    With -log p(D | w) = const + b ne(w) (Gaussian: b the noise precision of the reported F,
    const = -(n/2) log(b / 2 pi) - (1/2) sum log w_i; Poisson: b = 1, const = -C), WBIC is the
    mean of -log p(D | w) over p(D | w)^beta_W phi(w) with beta_W = 1 / log n, that is
    const + b <ne> at the ladder's beta = b / log n. <ne> there is reweighted from a rung that
    brackets it (single-histogram reweighting; of the two, the one whose weights have the
    larger Kish effective size). ne: (C, L, S). SE by batch means (as stepping_stone_se).
    NaN when b / log n lies above the ladder's top (n < 3) or below no rung.
    """
    C, L, S = ne.shape
    beta_w = b / np.log(n) if n > 1 else np.inf
    if not (0.0 <= beta_w <= betas[-1]):
        return float("nan"), float("nan")
    lo = int(np.searchsorted(betas, beta_w, side="right")) - 1
    best, best_ess = lo, -1.0
    for l in range(lo, min(lo + 2, L)):
        a = -(beta_w - betas[l]) * ne[:, l].ravel()
        w = np.exp(a - a.max())
        ess = w.sum() ** 2 / np.sum(w * w)
        if ess > best_ess:
            best, best_ess = l, ess
    x = ne[:, best]  # (C, S)
    d = beta_w - betas[best]
    mean = float(_reweighted_mean(x.ravel(), d))
    nb = max(1, min(batches, S // 20))
    m = S // nb
    per = _reweighted_mean(x[:, : nb * m].reshape(C * nb, m), d)
    se = float(per.std(ddof=1) / np.sqrt(per.size)) if per.size > 1 else float("nan")
    return float(const + b * mean), float(b * se)


def model_probabilities(free_energies: np.ndarray) -> np.ndarray:
    """p(K | D) under a uniform prior over the K values: softmax of -F."""
    f = np.asarray(free_energies, dtype=float)
    w = -f - np.max(-f)
    p = np.exp(w)
    return p / p.sum()
