"""Convergence and goodness-of-fit checks of one fit: the glue between fit.summarise_chains
(the chains, the problem) and the pure functions of :mod:`.diagnostics` and :mod:`.gof`.

:func:`fit_checks` returns ``KFit.diagnostics`` (keys in inference/result.py);
:func:`stop_refusal` is the extra condition under which ``sampler.target_se`` may stop a fit
(chunked.run_chunked's ``may_stop``).
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from ..models.model import noise_guess
from ..sampling.seeds import ppc_seq
from . import diagnostics as dg
from . import gof
from .freeenergy import DEFAULT_BATCHES, free_energy, stepping_stone_se


def reported_rung(prob: Any, betas: np.ndarray, estimated: bool, log_z: np.ndarray) -> int:
    """The rung whose SE a fit reports: the top for a known noise or counts, else the rung of
    the smallest stepping-stone F (the noise estimate's neighbourhood)."""
    if not estimated:
        return len(betas) - 1
    return int(np.nanargmin(free_energy(betas, log_z, prob.n, prob.sum_log_w)))


def nearest_rung(betas: np.ndarray, b_hat: float) -> int:
    """The rung (beta > 0) nearest to the noise precision ``b_hat`` on a log scale: where an
    estimated-noise fit takes its posterior draws (summarise_chains)."""
    return int(np.argmin(np.abs(np.log(betas[1:]) - np.log(b_hat)))) + 1


def posterior_rung(prob: Any, betas: np.ndarray, estimated: bool, ne: np.ndarray,
                   log_z: np.ndarray) -> int:
    """The rung whose draws a fit reports as its posterior: the top for a known noise or
    counts, else :func:`nearest_rung` to the refined minimum of F(b) (freeenergy)."""
    if not estimated:
        return len(betas) - 1
    from .freeenergy import refine_minimum  # imports scipy.optimize: only for estimated noise

    b_hat = refine_minimum(ne, betas, log_z, prob.n, prob.sum_log_w)[0]
    return nearest_rung(betas, b_hat)


def candidate_label(prob: Any) -> str:
    """``K=3``, or ``K=1-2`` for a composite candidate (its counts per component)."""
    info = getattr(prob, "component_info", None)
    return "K=" + ("-".join(str(c["K"]) for c in info.values()) if info else str(prob.K))


# params(rung) -> (names, draws (P, C, D)): the draws the convergence check judges at a rung
# (a single fit's relabelled posterior, a joint fit's free parameters)
Params = Callable[[int], tuple[list[str], np.ndarray]]


def stop_refusal(prob: Any, betas: np.ndarray, estimated: bool, ne: np.ndarray,
                 rung: int | None = None, params: Params | None = None) -> str | None:
    """Why ``target_se`` must not stop now although the SE is small enough, or None.

    ne: (C, L, S) the energies so far; rung: the rung whose F is reported (None: the single
    fit's reported_rung; a joint fit passes its top rung, beta = 1). Refused while the SE
    comes from fewer than diagnostics.MIN_SE_BATCHES batch estimates, while the chains' F
    disagree (diagnostics.chain_agreement), and, with ``params``, while the draws of the
    posterior rung (:func:`posterior_rung`) fail the convergence check's R-hat or bulk ESS
    (diagnostics.convergence_reasons): an SE can be small long before the draws are enough
    for the posterior summaries (500 sweeps thinned by 5 are 100 draws a chain, rarely a bulk
    ESS of 100 per chain), and a fit stopped by the default target must not be "not
    converged" by construction."""
    C, _, S = ne.shape
    few = _too_few_batches(C, S)
    if few is not None:
        return few
    total = dg.se_batches(C, S)
    log_z, se = stepping_stone_se(ne, betas)
    if rung is None:
        rung = reported_rung(prob, betas, estimated, log_z)
    lz_c, se_c = dg.chain_log_z(ne, betas, rung)
    agreement = dg.chain_agreement(-lz_c, se_c, total // C)
    if not agreement.agree:
        return dg.disagreement_text(agreement, float(se[rung]))
    if params is None:
        return None
    names, draws = params(posterior_rung(prob, betas, estimated, ne, log_z))
    rhat, ess = dg.rhat_ess(draws)
    if _too_few_draws(draws, rhat):
        return f"too few draws per chain ({draws.shape[2]}) for R-hat and ESS"
    reasons = dg.convergence_reasons(names, rhat, ess, C, agreement, float(se[rung]))
    return "; ".join(reasons) or None


def _too_few_batches(chains: int, sweeps: int) -> str | None:
    """Why an SE from ``chains`` chains of ``sweeps`` sampling sweeps is too rough to stop on
    (fewer than diagnostics.MIN_SE_BATCHES batch estimates), or None."""
    total = dg.se_batches(chains, sweeps)
    if total >= dg.MIN_SE_BATCHES:
        return None
    need = math.ceil(dg.MIN_SE_BATCHES / DEFAULT_BATCHES)
    return (f"its SE comes from {total} batch estimates ({chains} chains x {total // chains}), "
            f"fewer than {dg.MIN_SE_BATCHES}; use sampler.chains >= {need}")


def _too_few_draws(draws: np.ndarray, rhat: np.ndarray) -> bool:
    """Whether draws (P, C, D) are too few for R-hat and ESS: fewer than 4 a chain (none at
    all with thin > sampled sweeps), or every R-hat NaN although a parameter moved (a fit with
    every prior fixed and enough draws has no R-hat to ask for)."""
    if draws.shape[0] == 0:
        return False
    if draws.shape[2] < 4:
        return True
    moved = np.any(np.ptp(draws.reshape(draws.shape[0], -1), axis=1) > 0)
    return bool(moved) and not np.isfinite(rhat).any()


def target_se_notes(ne: np.ndarray, f_se: float, target_se: float | None, max_sweeps: int,
                    label: str) -> list[str]:
    """Sampler warnings of a fit that ran all ``max_sweeps`` with ``target_se`` set (ne:
    (C, L, S) its energies): the target missed, or never applied (too few batch estimates,
    the first refusal of :func:`stop_refusal`). ``label`` names the fit. A missed target is a
    warning, not a convergence reason: the chains may have converged, and the SE reported is
    then honest, only larger than asked for (target_se is on by default, so every short run
    would otherwise read "not converged")."""
    C, _, S = ne.shape
    if target_se is None or S < max_sweeps:
        return []
    if f_se > target_se:
        return [f"{label}: the SE of F is {f_se:.3g} after all sampler.sweeps = {max_sweeps}, "
                f"above sampler.target_se = {target_se:g}; raise sampler.sweeps for that "
                f"precision"]
    few = _too_few_batches(C, S)
    return [] if few is None else [f"{label}: sampler.target_se was never applied: {few}"]


def _ppc_rng(prob: Any, seed: int) -> np.random.Generator:
    """The predictive check's stream (sampling.seeds.ppc_seq): spawn key (K, PPC), or
    (K_1, .., K_C, PPC) for a composite candidate."""
    info = getattr(prob, "component_info", None)
    key = tuple(c["K"] for c in info.values()) if info else (prob.K,)
    return np.random.default_rng(ppc_seq(seed, *key))


def goodness_of_fit(prob: Any, posterior: dict[str, np.ndarray], ne_draws: np.ndarray,
                    estimated: bool, b_selected: float, seed: int) -> dict[str, Any]:
    """chi2_n, ppc_p and adequacy of one fit (gof module docstring).

    ne_draws: (C, D) sampler energies of the posterior draws; b_selected: the noise precision
    F picked (1/y-units^2; NaN for counts)."""
    from .summary import pack_draws  # summary imports pandas; only needed here

    n, y, w = prob.n, np.asarray(prob.y, float), np.asarray(prob.w, float)
    poisson = prob.likelihood == "poisson"
    has_sd = not np.all(w == 1.0)
    if poisson:
        reference, precision, rep_precision, stat = "counts", float("nan"), float("nan"), \
            "deviance"
        chi2_n = gof.deviance_per_point(ne_draws, n)
    else:
        if has_sd:
            reference, precision = "sd column", 1.0
        elif not estimated:
            reference, precision = "given", float(b_selected)
        else:
            reference, precision = "second differences", 1.0 / noise_guess(y, w) ** 2
        known = has_sd or not estimated
        rep_precision, stat = (precision, "chi2") if known else (float(b_selected), "lag1")
        chi2_n = gof.chi2_per_point(ne_draws, precision, n)
    theta = pack_draws(prob, SimpleNamespace(posterior=posterior))
    rng = _ppc_rng(prob, seed)
    S = min(gof.PPC_DRAWS, theta.shape[0])
    if S:
        pick = np.sort(rng.choice(theta.shape[0], size=S, replace=False))
        ppc_p = gof.ppc_pvalue(y, prob.curve(theta[pick]), w, prob.likelihood, rep_precision,
                               stat, rng)
    else:
        ppc_p = float("nan")
    warning = gof.inadequacy(chi2_n, ppc_p, n, candidate_label(prob), prob.likelihood, S)
    return {"chi2_n": chi2_n, "gof_statistic": "deviance" if poisson else "chi2",
            "gof_reference": reference,
            "gof_noise_sd": float(1.0 / np.sqrt(precision)) if not poisson else float("nan"),
            "ppc_p": ppc_p, "ppc_discrepancy": stat, "ppc_draws": int(S),
            "adequate": warning is None, "adequacy_warning": warning or ""}


def convergence(prob: Any, betas: np.ndarray, ne: np.ndarray, log_z: np.ndarray, rung: int,
                posterior: dict[str, np.ndarray], coef_names: list[str], f_hat: float,
                f_se: float) -> tuple[dict[str, Any], list[str]]:
    """R-hat, ESS and the chains' agreement on F (diagnostics module docstring).

    ne: (C, L, S); log_z: (L,) pooled stepping stone; rung: the rung of the reported F and SE;
    f_hat, f_se: the reported F and SE (nats). Returns (diagnostics entries, reasons)."""
    names, draws = dg.posterior_params(posterior, coef_names)
    return convergence_of(names, draws, betas, ne, log_z, rung, f_hat, f_se)


def convergence_of(names: list[str], draws: np.ndarray, betas: np.ndarray, ne: np.ndarray,
                   log_z: np.ndarray, rung: int, f_hat: float,
                   f_se: float) -> tuple[dict[str, Any], list[str]]:
    """:func:`convergence` of named draws (P, chain, draw): a single fit's relabelled
    posterior, or a joint fit's free parameters at beta = 1."""
    C, _, S = ne.shape
    rhat, ess = dg.rhat_ess(draws)
    lz_c, se_c = dg.chain_log_z(ne, betas, rung)
    f_chain = f_hat + (log_z[rung] - lz_c)  # each chain's F, on the reported F's footing
    agreement = dg.chain_agreement(f_chain, se_c, dg.se_batches(C, S) // C)
    reasons = dg.convergence_reasons(names, rhat, ess, C, agreement, f_se)
    if _too_few_draws(draws, rhat):
        reasons.insert(0, f"too few draws per chain ({draws.shape[2]}) for R-hat and ESS")
    entries = {
        "sweeps": int(S),  # sampling sweeps run per chain (fewer than sampler.sweeps: target_se)
        "rhat_max": float(np.nanmax(rhat)) if np.isfinite(rhat).any() else float("nan"),
        "ess_min": float(np.nanmin(ess)) if np.isfinite(ess).any() else float("nan"),
        "F_chain_spread": agreement.spread, "F_chain_statistic": agreement.statistic,
        "F_chain_p": agreement.p_value,
        "rhat_limit": dg.RHAT_MAX, "ess_limit": float(dg.ESS_PER_CHAIN * C),
        "per_param": {"param": names, "rhat": rhat, "ess_bulk": ess},
        "per_chain": {"free_energy": agreement.f_chain, "free_energy_se": agreement.f_chain_se},
    }
    return entries, reasons


def fit_checks(prob: Any, betas: np.ndarray, estimated: bool, ne: np.ndarray,
               log_z: np.ndarray, rung: int, posterior: dict[str, np.ndarray],
               coef_names: list[str], ne_draws: np.ndarray, f_hat: float, f_se: float,
               b_selected: float, seed: int, target_se: float | None, max_sweeps: int,
               ) -> tuple[dict[str, Any], list[str]]:
    """``KFit.diagnostics`` of one fit, and sampler warnings (a target_se missed or never
    applied).

    ne: (C, L, S) every sampling sweep's energies; ne_draws: (C, D) those of the posterior
    draws; rung: the rung of the reported F; target_se/max_sweeps: the settings (a fit that
    ran all max_sweeps with target_se set says why it did not stop)."""
    entries, reasons = convergence(prob, betas, ne, log_z, rung, posterior, coef_names,
                                   f_hat, f_se)
    warnings = target_se_notes(ne, f_se, target_se, max_sweeps, candidate_label(prob))
    out = {"converged": not reasons, "convergence_reasons": reasons, **entries}
    out.update(goodness_of_fit(prob, posterior, ne_draws, estimated, b_selected, seed))
    return out, warnings
