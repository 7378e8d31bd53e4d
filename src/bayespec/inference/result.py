"""Plain containers for what a fit produces (no I/O here; see io/store.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Ladder:
    """Per-rung results of one exchange Monte Carlo run; every array has shape (L,).

    beta: inverse temperatures = noise precisions b_l (1/y-units^2; beta[0] = 0).
    mean_energy: <E>_l with E(w) = (1/2n) sum_i w_i (y_i - f(x_i; w))^2.
    log_z, log_z_se: log of the tempered normaliser z(beta_l) and its standard error.
    free_energy, free_energy_se: F(b_l) = -(n/2) log(b_l/2pi) - log z(b_l) (+ weight term);
        NaN at beta = 0.
    swap_acceptance: acceptance of swaps between rung l and l+1 (NaN for the last rung).
    """

    beta: np.ndarray
    mean_energy: np.ndarray
    log_z: np.ndarray
    log_z_se: np.ndarray
    free_energy: np.ndarray
    free_energy_se: np.ndarray
    swap_acceptance: np.ndarray


@dataclass
class KFit:
    """The fit of one K-peak model to one spectrum.

    posterior: name -> array. Peak variables ``amplitude``, ``center``, ``width`` (and extra shape
        parameters such as ``eta``) have shape (chain, draw, peak), relabelled per draw in order
        of center; ``background`` has shape (chain, draw, coef).
    sample_stats: name -> (chain, draw) array: ``energy`` (E at the posterior rung),
        ``lp`` (log prior + log likelihood, unnormalised) and ``rung`` (index of that rung).
    acceptance: (L, P) Metropolis acceptance per rung and parameter (P = packed parameters).
    """

    K: int
    shape: str
    background: str
    coef_names: list[str]
    x: np.ndarray
    y: np.ndarray
    sd: np.ndarray | None
    posterior: dict[str, np.ndarray]
    sample_stats: dict[str, np.ndarray]
    ladder: Ladder
    acceptance: np.ndarray
    param_names: list[str]
    free_energy: float
    free_energy_se: float
    noise_sd: float
    noise_estimated: bool
    target_rung: int
    seed: int
    config: dict[str, Any]
    versions: dict[str, str] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    predictive: dict[str, np.ndarray] = field(default_factory=dict)  # summary.predictive_band
    likelihood: str = "gaussian"  # gaussian | poisson (then noise_sd is NaN: no noise parameter)
    warnings: list[str] = field(default_factory=list)  # diagnostics a user must see
    #: composite models: component name -> {"shape": name, "K": count}, in model order; the
    #: posterior then holds ``{component}_{kind}`` (chain, draw, K_c) arrays (composite.py)
    components: dict[str, dict] = field(default_factory=dict)
    #: block moves (sampler.moves: block): acceptance (L, B) per rung and block while sampling,
    #: and the blocks' names (sampling.joint.block_labels); None / empty without them
    block_acceptance: np.ndarray | None = None
    block_names: list[str] = field(default_factory=list)
    #: convergence and goodness of fit (inference/checks.py; thresholds in diagnostics.py and
    #: gof.py): ``converged`` (bool) with ``convergence_reasons`` (list of str, empty when
    #: converged), ``sweeps`` (sampling sweeps run per chain), ``rhat_max``, ``ess_min``
    #: (over sampled parameters), ``F_chain_spread``
    #: (sd of the chains' F / sqrt(C), nats), ``F_chain_statistic``, ``F_chain_p`` (the
    #: chains' agreement test), ``rhat_limit``, ``ess_limit``; ``chi2_n`` (chi2/n, or the
    #: Poisson deviance/n), ``gof_statistic``, ``gof_reference`` and ``gof_noise_sd`` (the
    #: noise chi2 is taken against), ``ppc_p``, ``ppc_discrepancy``, ``ppc_draws``,
    #: ``adequate`` (bool) with ``adequacy_warning``; ``per_param`` {param: names, rhat,
    #: ess_bulk: (P,)} and ``per_chain`` {free_energy, free_energy_se: (C,)}. Empty for a fit
    #: made without them.
    diagnostics: dict[str, Any] = field(default_factory=dict)
    #: WBIC (Watanabe 2013) at the reported noise and its SE, read from the same ladder
    #: (freeenergy.wbic): a cross-check of free_energy; NaN where the ladder cannot give it
    wbic: float = float("nan")
    wbic_se: float = float("nan")
    #: the store whose posterior draws the chains started from (warm start), or ""
    warm_start: str = ""

    @property
    def label(self) -> str:
        """The candidate's name in file names: K, or a composite's counts joined by '-'."""
        if self.components:
            return "-".join(str(c["K"]) for c in self.components.values())
        return str(self.K)
