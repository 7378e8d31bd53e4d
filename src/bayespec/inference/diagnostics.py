"""Convergence diagnostics of one fit's chains (pure NumPy/SciPy functions, no I/O).

A fit runs C independent chains; three checks say whether they sampled the same distribution.

1. **split R-hat** per parameter at the posterior rung (the noise chosen by F, beta = 1 for
   counts): rank-normalised and folded, the larger of the two (Vehtari, Gelman, Simpson,
   Carpenter & Buerkner 2021; arviz-stats' estimator, :func:`rhat_ess`). Limit
   :data:`RHAT_MAX` = 1.05, not the paper's 1.01: that value is meant for long runs. For draws that are already
   independent, R-hat - 1 has sd ~ sqrt(2/(M-1)) / (2 N) for M split chains of N effective
   draws. At the smallest ESS this module accepts (100 per chain, so N ~ 50 per split half,
   M = 8) that sd is ~0.005, and the largest of a dozen parameters passes 1.01 in a
   sizeable share of well-mixed fits. 1.05 is ~10 sd away, and still far below the R-hat of
   chains stuck in different modes (typically > 1.2).
2. **bulk ESS** per parameter (all chains together, rank-normalised, Geyer's initial monotone
   sequence): at least :data:`ESS_PER_CHAIN` = 100 per chain (Vehtari et al.
   2021: below that, R-hat and the Monte Carlo SEs are themselves unreliable).
3. **the chains' free energies agree**: each chain gives its own stepping-stone estimate F_c
   at the reported rung, with a batch-means SE se_c from its own ``b`` batches. If the chains
   agree, var(F_c) is estimated both between chains, s_B^2 = sum (F_c - mean)^2 / (C - 1),
   and within them, s_W^2 = mean(se_c^2) (C (b - 1) degrees of freedom). Their ratio
   T = s_B^2 / s_W^2 then follows F(C - 1, C (b - 1)) (one-way ANOVA on the batches). The
   chains **disagree** when p = P(F >= T) < :data:`CHAIN_P_MIN` = 1e-3 **and**
   max |F_c - mean| > :data:`F_SPREAD_FLOOR` = 0.05 nat. The floor is there because a
   difference that small changes p(K | D) by under 5 %, and it keeps long runs with tiny SEs
   from being flagged over differences that change no decision. The reported spread is
   sd(F_c) / sqrt(C). When the chains agree it estimates the same thing as the reported SE
   of F (pooled batch means).

Parameters whose draws are all equal (a ``fixed`` prior: never sampled) get NaN and are
left out of both the max R-hat and the min ESS.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .freeenergy import DEFAULT_BATCHES, stepping_stone_se

RHAT_MAX = 1.05  # split R-hat limit (see the module docstring for why not 1.01)
ESS_PER_CHAIN = 100  # bulk ESS needed per chain (Vehtari et al. 2021)
CHAIN_P_MIN = 1e-3  # the chains' F disagree below this p-value ...
F_SPREAD_FLOOR = 0.05  # ... and when some chain is further than this from their mean (nats)
#: target_se stops only on an SE from at least this many batch estimates (chains x batches):
#: an SE from B batches has a relative sd of ~1 / sqrt(2 (B - 1)), 16 % for B = 20
MIN_SE_BATCHES = 20


def posterior_params(posterior: Mapping[str, np.ndarray],
                     coef_names: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """Every scalar parameter of a relabelled posterior as (names, draws (P, chain, draw)).

    posterior: name -> (chain, draw, k) arrays (peak variables, ``background``). Names are
    ``center[1]`` (peak index from 0, in order of center) and ``background[<coef>]``."""
    names, cols = [], []
    for var, arr in posterior.items():
        a = np.asarray(arr, dtype=float)
        for k in range(a.shape[-1]):
            label = coef_names[k] if var == "background" and k < len(coef_names) else k
            names.append(f"{var}[{label}]")
            cols.append(a[..., k])
    if not cols:
        return [], np.zeros((0, 0, 0))
    return names, np.stack(cols)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of the flattened ``x``, ties given their average rank (as
    ``scipy.stats.rankdata(method="average")``: rejected proposals repeat a draw exactly)."""
    flat = x.ravel()
    order = np.argsort(flat, kind="mergesort")
    xs = flat[order]
    first = np.r_[True, xs[1:] != xs[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], xs.size]
    ranks = np.empty(xs.size)
    ranks[order] = ((starts + 1 + ends) / 2.0)[np.cumsum(first) - 1]
    return ranks.reshape(x.shape)


def _z_scale(x: np.ndarray) -> np.ndarray:
    """Rank-normalise all of ``x`` together (Blom's offset 3/8; Vehtari et al. 2021 eq. 14)."""
    from scipy.special import ndtri

    return ndtri((_average_ranks(x) - 0.375) / (x.size + 0.25))


def _split(x: np.ndarray) -> np.ndarray:
    """(chain, draw) -> (2 chain, draw // 2): each chain's first and last halves."""
    half = x.shape[1] // 2
    return np.vstack((x[:, :half], x[:, -half:]))


def _basic_rhat(x: np.ndarray) -> float:
    """Gelman-Rubin R-hat of (chain, draw) draws."""
    n = x.shape[1]
    between = n * np.var(x.mean(axis=1), ddof=1)
    within = np.mean(np.var(x, axis=1, ddof=1))
    return float(np.sqrt((between / within + n - 1) / n))


def rank_rhat(x: np.ndarray) -> float:
    """Rank-normalised split R-hat, the larger of bulk and folded (Vehtari et al. 2021).

    x: (chain, draw), at least 2 chains and 4 draws, no NaN (else NaN)."""
    if x.shape[0] < 2 or x.shape[1] < 4 or np.isnan(x).any():
        return float("nan")
    s = _split(x)
    return max(_basic_rhat(_z_scale(s)), _basic_rhat(_z_scale(np.abs(s - np.median(s)))))


def _ess(x: np.ndarray) -> float:
    """ESS of (chain, draw) draws from the multi-chain autocorrelation, truncated by Geyer's
    initial positive and made monotone (Vehtari et al. 2021, eqs. 10-13)."""
    m, n = x.shape
    d = x - x.mean(axis=1, keepdims=True)
    nfft = 1 << int(2 * n - 1).bit_length()  # zero padding >= 2n: no circular wrap-around
    f = np.fft.rfft(d, n=nfft, axis=1)
    acov = np.fft.irfft(f * np.conjugate(f), n=nfft, axis=1)[:, :n] / n
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n + (np.var(x.mean(axis=1), ddof=1) if m > 1 else 0.0)
    rho = np.zeros(n)
    rho[0] = even = 1.0
    rho[1] = odd = 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    t = 1
    while t < n - 3 and even + odd > 0.0:
        even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if even + odd >= 0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0:
        rho[max_t + 1] = even
    t = 1
    while t <= max_t - 2:  # initial monotone sequence
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    tau = -1.0 + 2.0 * np.sum(rho[:max_t + 1]) + np.sum(rho[max_t + 1:max_t + 2])
    total = m * n
    tau = max(tau, 1.0 / np.log10(total))
    return float("nan") if np.isnan(rho).any() else float(total / tau)


def bulk_ess(x: np.ndarray) -> float:
    """Bulk ESS: the ESS of the rank-normalised split chains (Vehtari et al. 2021).

    x: (chain, draw), at least 4 draws, no NaN (else NaN)."""
    if x.shape[1] < 4 or np.isnan(x).any():
        return float("nan")
    return _ess(_z_scale(_split(x)))


def rhat_ess(draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rank-normalised split R-hat and bulk ESS (all chains) per parameter.

    draws: (P, chain, draw). Returns two (P,) arrays; NaN for a parameter whose draws are all
    equal (not sampled) or with fewer than 4 draws per chain. The same estimators as
    arviz-stats' ``rhat(method="rank")`` and ``ess(method="bulk")`` (tests/test_diagnostics.py
    checks them against it), written here because importing arviz-stats costs ~0.4 s, a third
    of a one-spectrum CLI run's start-up (issue "Fast by default")."""
    P = draws.shape[0]
    rhat, ess = np.full(P, np.nan), np.full(P, np.nan)
    if P == 0 or draws.shape[2] < 4:
        return rhat, ess
    flat = draws.reshape(P, -1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for p in np.flatnonzero(np.ptp(flat, axis=1) > 0):
            x = np.asarray(draws[p], dtype=float)
            rhat[p], ess[p] = rank_rhat(x), bulk_ess(x)
    return rhat, ess


def se_batches(chains: int, sweeps: int, batches: int = DEFAULT_BATCHES) -> int:
    """How many batch estimates the stepping-stone SE of ``chains`` chains of ``sweeps``
    sampling sweeps comes from (freeenergy.stepping_stone_se: min(batches, sweeps // 20)
    batches per chain, at least 1)."""
    return chains * max(1, min(batches, sweeps // 20))


def chain_log_z(ne: np.ndarray, betas: np.ndarray, rung: int,
                batches: int = DEFAULT_BATCHES) -> tuple[np.ndarray, np.ndarray]:
    """Each chain's own stepping-stone log z at ``rung`` and its batch-means SE.

    ne: (C, L, S) n*E per chain, rung and sweep; betas (L,). Returns (C,), (C,) in nats (SE
    NaN when a chain has fewer than 40 sweeps: one batch)."""
    out = [stepping_stone_se(ne[c:c + 1], betas, batches) for c in range(ne.shape[0])]
    return (np.array([lz[rung] for lz, _ in out]), np.array([se[rung] for _, se in out]))


@dataclass(frozen=True)
class ChainAgreement:
    """Do the chains' free energies agree (module docstring, check 3)?

    f_chain, f_chain_se: (C,) per-chain F and SE (nats); spread: sd(f_chain) / sqrt(C);
    statistic: T = s_B^2 / s_W^2; p_value: P(F(dof) >= T), NaN when untestable; agree: the
    verdict (False when untestable)."""

    f_chain: np.ndarray
    f_chain_se: np.ndarray
    spread: float
    statistic: float
    p_value: float
    dof: tuple[int, int]
    agree: bool


def chain_agreement(f_chain: np.ndarray, f_chain_se: np.ndarray, batches: int) -> ChainAgreement:
    """The between/within-chain test of F (module docstring, check 3).

    f_chain, f_chain_se: (C,) each chain's F and its batch-means SE (nats); batches: batches
    per chain behind each SE (b; the within-chain variance has C (b - 1) dof)."""
    from scipy.special import fdtrc  # P(F >= t); scipy.stats would cost ~0.3 s to import

    f_chain, se = np.asarray(f_chain, float), np.asarray(f_chain_se, float)
    C = f_chain.size
    dof = (C - 1, C * (batches - 1))
    spread = float(np.std(f_chain, ddof=1) / np.sqrt(C)) if C > 1 else float("nan")
    if C < 2 or batches < 2 or not np.all(np.isfinite(se)) or not np.all(np.isfinite(f_chain)):
        return ChainAgreement(f_chain, se, spread, float("nan"), float("nan"), dof, False)
    s_b = float(np.var(f_chain, ddof=1))
    s_w = float(np.mean(se ** 2))
    if s_w > 0:
        t = s_b / s_w
        p = float(fdtrc(dof[0], dof[1], t))
    else:  # no within-chain variation at all: the chains agree only if they are equal
        t, p = (0.0, 1.0) if s_b == 0 else (float("inf"), 0.0)
    far = float(np.max(np.abs(f_chain - f_chain.mean())))
    return ChainAgreement(f_chain, se, spread, t, p, dof,
                          not (p < CHAIN_P_MIN and far > F_SPREAD_FLOOR))


def disagreement_text(a: ChainAgreement, se: float) -> str:
    """The reason text of chains that disagree, or cannot be compared; ``se``: the reported SE
    of F (nats)."""
    if not np.isfinite(a.p_value):
        return "too few sampling sweeps to compare the chains' F (needs >= 40 per chain)"
    return (f"chains' F disagree: spread {a.spread:.3g} nat vs SE {se:.3g} "
            f"(F_c - mean up to {np.max(np.abs(a.f_chain - a.f_chain.mean())):.3g} nat, "
            f"p = {a.p_value:.2g})")


def convergence_reasons(names: Sequence[str], rhat: np.ndarray, ess: np.ndarray, chains: int,
                        agreement: ChainAgreement, se: float) -> list[str]:
    """Why a fit has not converged (empty: converged), checks 1-3 of the module docstring.

    names, rhat, ess: per parameter (P,); chains: C; se: the reported SE of F (nats)."""
    reasons = []
    if np.isfinite(rhat).any():
        i = int(np.nanargmax(rhat))
        if rhat[i] >= RHAT_MAX:
            bad = int(np.sum(rhat >= RHAT_MAX))
            more = f" ({bad} parameters >= {RHAT_MAX})" if bad > 1 else ""
            reasons.append(f"R-hat {rhat[i]:.3g} for {names[i]}{more}")
    if np.isfinite(ess).any():
        i = int(np.nanargmin(ess))
        need = ESS_PER_CHAIN * chains
        if ess[i] < need:
            reasons.append(f"bulk ESS {ess[i]:.0f} for {names[i]} (< {need}: "
                           f"{ESS_PER_CHAIN} per chain)")
    if not agreement.agree:
        reasons.append(disagreement_text(agreement, se))
    return reasons
