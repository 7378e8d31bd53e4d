"""Fit one spectrum at every K: sample, compute free energies, choose the noise and K."""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from importlib import metadata
from typing import Any, Callable

import numpy as np

import logging

from .. import __version__
from ..config import DEFAULTS, FitConfig
from ..errors import ConfigError
from ..models.likelihood import poisson_constant, poisson_energy, prior_valid_fraction
from ..models.model import Problem, build_problem, noise_guess
from ..sampling import batched
from ..sampling import checkpoint as checkpoint_mod
from ..sampling import ladder as ladder_mod
from ..sampling.chunked import MayStop, Plan, run_chunked, run_many
from ..sampling.sampler import (FIRST_STEP_OVERLAP, NUMBA, PRIOR_DRAWS, ChainOutput,
                                geometric_ladder)
from ..sampling.seeds import ladder_pilot_seed, prior_curves_seq
from .checks import Params, fit_checks, nearest_rung, reported_rung, stop_refusal
from .diagnostics import posterior_params
from .freeenergy import free_energy, refine_minimum, stepping_stone_se, wbic
from .result import KFit, Ladder

log = logging.getLogger("bayespec")
_S = DEFAULTS["sampler"]
MIN_SWAP_ACCEPTANCE = 0.05  # below this a neighbour pair barely exchanges: warn
NOISE_TOP_FACTOR = 25.0  # estimate mode: ladder top at 25 / s0^2, i.e. noise down to s0 / 5


@dataclass(frozen=True)
class FitSettings:
    """The sampler and noise settings a fit needs (config.FitConfig maps onto this)."""

    replicas: int = _S["replicas"]
    ratio: float = _S["ratio"]
    burn_in: int = _S["burn_in"]
    sweeps: int = _S["sweeps"]
    chains: int = _S["chains"]
    seed: int = _S["seed"]
    thin: int = _S["thin"]
    threads: int | None = _S["threads"]
    extend: bool = _S["extend"]  # add rungs below the geometric ladder when priors are wide
    backend: str = _S["backend"]  # numba | numpy | cupy | auto (see batched.py)
    target_se: float | None = _S["target_se"]  # stop when the SE of F is <= this
    checkpoint_every: float = _S["checkpoint_every"]  # seconds between checkpoints (0 = none)
    ladder: str = _S["ladder"]  # geometric | adaptive (adapt_ladder)
    moves: str = _S["moves"]  # single | block (joint kernel: sampling.joint.with_block_moves)
    noise_sd: float | None = None  # known noise sd (y units); None: estimate
    max_precision: float | None = None  # estimate mode: top of the ladder (1/y-units^2)


def package_versions() -> dict[str, str]:
    """Versions of everything that decides the numbers, for provenance."""
    out = {"python": platform.python_version(), "bayespec": __version__}
    for pkg in ("numpy", "numba", "llvmlite", "scipy", "xarray", "zarr", "arviz-base",
                "arviz-stats"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def prior_energy_sd(problem: Problem, seed: int, draws: int = PRIOR_DRAWS) -> float:
    """Standard deviation of n*E over prior draws (y-units^2): sets how low the ladder must go."""
    f = _prior_curves(problem, seed, draws)
    if problem.offset is not None:
        f = f + problem.offset
    if problem.likelihood == "poisson":
        ne = poisson_energy(f, problem.y)
        ne = ne[np.isfinite(ne)]  # the sampler's beta = 0 rung never visits invalid means
        return float(np.std(ne)) if ne.size > 1 else 0.0
    ne = 0.5 * np.sum(problem.w * (problem.y - f) ** 2, axis=-1)
    return float(np.std(ne))


_CURVE_CACHE: dict[tuple, np.ndarray] = {}
_CURVE_CACHE_MAX = 8  # entries; a batch job fits one K to many spectra with one layout


def _prior_curves(problem: Problem, seed: int, draws: int) -> np.ndarray:
    """Model curves (draws, n) of the prior draws, without the fixed offset. The draws depend
    only on the priors, K and the seed, so spectra of a batch sharing an axis share them:
    cached (the Python-level curve loop was ~12 ms of every fit); a background computed from
    the data (tougaard) keys them on the data too."""
    key = (problem.K, problem.shape.name, problem.background.name, problem.nb, problem.h,
           problem.x.tobytes(), repr(problem.priors), seed, draws,
           problem.y.tobytes() if problem.background.uses_data else None)
    hit = _CURVE_CACHE.get(key)
    if hit is not None:
        return hit
    rng = np.random.default_rng(prior_curves_seq(seed, problem.K))
    theta = np.stack([p.sample(rng, draws) for p in problem.priors], axis=-1)
    f = dataclasses.replace(problem, offset=None).curve(theta)
    f.setflags(write=False)
    if len(_CURVE_CACHE) >= _CURVE_CACHE_MAX:
        _CURVE_CACHE.pop(next(iter(_CURVE_CACHE)))
    _CURVE_CACHE[key] = f
    return f


#: the adaptive ladder's pilot rounds: sampling sweeps of each (after PILOT_BURN sweeps); the
#: rounds double, as in Syed et al. 2021, since the first round's barrier is a lower bound
PILOT_ROUNDS = (100, 200, 400)
PILOT_BURN = 100
MIN_RUNGS, MAX_RUNGS = 8, 128


def first_step_guard(betas: np.ndarray, spread: float, ratio: float) -> np.ndarray:
    """``betas`` (L,) with beta[0] = 0, with rungs inserted below beta[1] (geometric, ``ratio``)
    until beta[1] * spread <= FIRST_STEP_OVERLAP, spread = sd_prior(n E): the stepping-stone
    step from the prior is a mean of exp(-beta[1] n E) over prior draws, which has no overlap
    (and is biased high in F by many SE) beyond that, however evenly the swaps reject above
    (the rejection rates that place the adaptive rungs do not see it). Unchanged otherwise."""
    b = np.asarray(betas, dtype=float)
    if spread <= 0 or b[0] != 0 or b[1] * spread <= FIRST_STEP_OVERLAP:
        return b
    extra = int(np.ceil(np.log(b[1] * spread / FIRST_STEP_OVERLAP) / np.log(ratio)))
    return np.concatenate([[0.0], b[1] * ratio ** -np.arange(extra, 0, -1.0), b[1:]])


def adapt_ladder(model: Any, betas: np.ndarray, s: FitSettings, Ks: tuple[int, ...],
                 backend: Any = NUMBA, spread: float = 0.0) -> np.ndarray:
    """Rungs at equal swap rejection, their number from the communication barrier.

    Each round runs one pilot chain (seed ladder_pilot_seed(seed, Ks, round); its draws are
    discarded) on the current ladder, measures the rejection rate of every neighbour pair,
    and places rungs_for(Lambda) rungs at equal shares of the barrier Lambda(beta)
    (sampling.ladder). The ends stay: beta = 0 and the top (1, or the noise-precision ceiling).
    Deterministic for a seed; ``model`` is a Problem (``backend`` NUMBA) or a JointModel (JOINT).
    ``spread`` > 0 (sd_prior(n E), with ``s.extend``): every round's ladder keeps the first
    step's overlap (:func:`first_step_guard`).
    """
    for rnd, sweeps in enumerate(PILOT_ROUNDS):
        seed = ladder_pilot_seed(s.seed, Ks, rnd)
        out = run_many([(model, betas)], PILOT_BURN, sweeps, sweeps, 1, seed, 1,
                       backend=backend)[0][0]
        rejection = 1.0 - out.swap / sweeps
        total = float(ladder_mod.barrier(betas, rejection)[-1])
        n = ladder_mod.rungs_for(total, min_rungs=MIN_RUNGS, max_rungs=MAX_RUNGS)
        betas = first_step_guard(ladder_mod.place(betas, rejection, n), spread, s.ratio)
    return betas


def ladder_for(problem: Problem, s: FitSettings,
               energy_sd: Callable[[Any, int], float] = prior_energy_sd,
               pilot: tuple[Any, Any] | None = None) -> tuple[np.ndarray, bool]:
    """The inverse-temperature ladder and whether the noise is estimated along it.

    Geometric from the top (1/s^2 for known noise, else the noise-precision ceiling) down with
    ``s.replicas`` rungs plus beta = 0. With ``s.extend`` the ladder gets extra rungs at the
    bottom, same ratio, until the first non-zero rung satisfies beta_2 * sd_prior(n E) <= 2:
    otherwise the step from the prior has almost no overlap (wide priors), swaps there stall and
    stepping stone is biased by many SE. ``energy_sd(problem, seed)`` gives sd_prior(n E)
    (a composite model passes its joint model's). With ``s.ladder == "adaptive"`` that ladder
    starts :func:`adapt_ladder`; ``pilot`` = (model, backend) it runs on (default: problem
    on the single-spectrum kernel; a composite candidate passes its joint model and JOINT).
    """
    estimated = s.noise_sd is None and problem.likelihood == "gaussian"
    if problem.likelihood == "poisson":
        top = 1.0  # counts: the tempering runs from the prior (0) to the likelihood (1)
    elif estimated:
        top = s.max_precision or NOISE_TOP_FACTOR / noise_guess(problem.y, problem.w) ** 2
    else:
        top = 1.0 / s.noise_sd ** 2
    L = s.replicas
    spread = 0.0
    if s.extend:
        spread = energy_sd(problem, s.seed)
        if spread > 0:
            need = 2 + int(np.ceil(np.log(top * spread / FIRST_STEP_OVERLAP) / np.log(s.ratio)))
            L = max(L, need)
    betas = geometric_ladder(top, L, s.ratio)
    if s.ladder == "adaptive":
        model, backend = pilot or (problem, NUMBA)
        Ks = tuple(getattr(model, "Ks", (problem.K,)))
        betas = adapt_ladder(model, betas, s, Ks, backend, spread)
    return betas, estimated


def fit_problems(problems: list[Problem], s: FitSettings,
                 config: dict[str, Any] | None = None,
                 checkpoint: str | os.PathLike | None = None,
                 restart_on_mismatch: bool = False,
                 progress: Callable[[int, int, int, int], None] | None = None) -> list[KFit]:
    """Sample every problem (one per K) and turn the chains into KFit results.

    checkpoint: a file for the sampler state (see chunked.py): resumed from when it exists,
    written every ``s.checkpoint_every`` seconds and on SIGTERM (then FitInterrupted is
    raised), left in place at the end (delete it with checkpoint.remove once the results are
    stored). A checkpoint of another fit is a CheckpointMismatch error, or with
    ``restart_on_mismatch`` a logged fresh start.

    progress: called as progress(job, chain, sweeps done, total sweeps) from the worker
    threads every RECOMPUTE_EVERY sweeps of a chain (numba backend; see chunked.run_many);
    it changes no number. The array backends (numpy, cupy: batched.py) run every chain in
    one call and never call it.
    """
    if s.moves != "single":
        raise ConfigError(f"sampler.moves: {s.moves!r} runs on the joint kernel: fit through a "
                          f"config (bayespec fit / bayespec.fit route a one-shape model there) "
                          f"or a composite model; fit_problems samples one parameter at a time")
    ladders = [ladder_for(p, s) for p in problems]
    jobs = [(p, betas) for p, (betas, _) in zip(problems, ladders)]
    backend = resolve_backend(s.backend)
    versions = package_versions()
    t0 = time.perf_counter()
    if backend != "numba" and any(getattr(p, "start", None) is not None for p in problems):
        raise ConfigError(f"a warm start (series.warm_start) runs on the numba backend only "
                          f"(sampler.backend is {backend}); set backend: numba or start cold")
    if backend != "numba" and checkpoint is not None:
        raise ConfigError(f"checkpoints: only the numba backend writes them (sampler.backend "
                          f"is {backend}); set sampler.backend: numba or drop --checkpoint")
    if backend == "numba" and (checkpoint is not None or s.target_se is not None):
        outs = _run_chunked(jobs, ladders, s, checkpoint, restart_on_mismatch, versions,
                            progress)
    elif backend == "numba":
        outs = run_many(jobs, s.burn_in, s.sweeps, s.thin, s.chains, s.seed, s.threads,
                        progress)
    else:
        se_of, may_stop = _stop_rules(jobs, ladders)
        outs = batched.run_grouped(jobs, s.burn_in, s.sweeps, s.thin, s.chains, s.seed,
                                   batched.namespace(backend), s.target_se, se_of, may_stop)
    wall = time.perf_counter() - t0
    versions["backend"] = backend
    fits = []
    for (prob, (betas, estimated)), chains in zip(zip(problems, ladders), outs):
        fits.append(summarise_chains(prob, betas, estimated, chains, s, config or {}, versions,
                                     wall))
    return fits


def _run_chunked(jobs, ladders, s: FitSettings, checkpoint, restart_on_mismatch: bool,
                 versions: dict[str, str],
                 progress: Callable[[int, int, int, int], None] | None = None,
                 ) -> list[list[ChainOutput]]:
    """run_many's numbers, run in resumable pieces (chunked.py) for checkpoints/target_se."""
    plan = chunked_plan(s, checkpoint, restart_on_mismatch)
    fp = checkpoint_mod.fingerprint([p for p, _ in jobs], [b for _, b in jobs], numbers_of(s),
                                    versions)

    se_of, may_stop = _stop_rules(jobs, ladders)
    outs, _, _ = run_chunked(jobs, plan, se_of, fp, progress, may_stop=may_stop)
    return outs


def _stop_rules(jobs, ladders) -> tuple[Callable[[int, np.ndarray], float], MayStop]:
    """target_se's se_of(job, ne) and may_stop(job, ne, theta) for single fits on any
    backend: the SE of the F the fit reports, and checks.stop_refusal (enough batches, chains
    agree, R-hat and ESS of the relabelled posterior at the reported rung pass)."""
    def se_of(j: int, ne: np.ndarray) -> float:
        prob, (betas, estimated) = jobs[j][0], ladders[j]
        return reported_se(prob, betas, estimated, ne)

    def may_stop(j: int, ne: np.ndarray, theta: Callable[[], np.ndarray]) -> str | None:
        prob, (betas, estimated) = jobs[j][0], ladders[j]
        return stop_refusal(prob, betas, estimated, ne, params=posterior_params_of(prob, theta))

    return se_of, may_stop


def posterior_params_of(prob: Any, theta: Callable[[], np.ndarray]) -> Params:
    """checks.stop_refusal's ``params`` of a single or composite fit: the relabelled
    posterior at a rung, as the convergence check sees it (summarise_chains). theta() gives
    the draws (C, L, D, P)."""
    def params(rung: int) -> tuple[list[str], np.ndarray]:
        draws = theta()[:, rung]
        posterior = prob.relabel(draws) if hasattr(prob, "relabel") else \
            split_and_relabel(prob, draws)
        return posterior_params(posterior, prob.coef_names)

    return params


def chunked_plan(s: FitSettings, checkpoint: str | os.PathLike | None,
                 restart_on_mismatch: bool = False) -> Plan:
    """The chunked driver's plan of a fit with settings ``s``."""
    return Plan(burn_in=s.burn_in, sweeps=s.sweeps, thin=s.thin, chains=s.chains, seed=s.seed,
                threads=s.threads or os.cpu_count() or 1, target_se=s.target_se,
                checkpoint=None if checkpoint is None else Path(checkpoint),
                checkpoint_every=s.checkpoint_every, restart_on_mismatch=restart_on_mismatch)


# the sampler settings that decide a joint (integrated) fit's numbers; a single fit's add the
# noise refinement's (JOINT_NUMBERS + FIT_NUMBERS' last two)
JOINT_NUMBERS = ("replicas", "ratio", "burn_in", "sweeps", "chains", "seed", "thin", "extend",
                 "target_se")
FIT_NUMBERS = JOINT_NUMBERS + ("noise_sd", "max_precision")


def numbers_of(s: Any, keys: tuple[str, ...] = FIT_NUMBERS) -> dict[str, Any]:
    """The settings (FitSettings or SamplerConfig ``s``) that decide a fit's numbers (a
    checkpoint's fingerprint; not threads). ``moves`` only when not the default, so that
    checkpoints written before it existed still match."""
    out = {k: getattr(s, k) for k in keys}
    if s.moves != "single":
        out["moves"] = s.moves
    return out


def reported_se(prob: Problem, betas: np.ndarray, estimated: bool, ne: np.ndarray) -> float:
    """SE of the F a fit reports from energies ne (C, L, S): at the top rung for a known noise,
    else at the rung with the smallest F (as summarise_chains)."""
    log_z, log_z_se = stepping_stone_se(ne, betas)
    return float(log_z_se[reported_rung(prob, betas, estimated, log_z)])


def resolve_backend(name: str) -> str:
    """The backend to run: ``auto`` is cupy when a GPU is usable, else numba (logged)."""
    if name == "auto":
        chosen = "cupy" if batched.gpu_available() else "numba"
        log.info("sampler.backend auto: using %s", chosen)
        return chosen
    return name


def fit_spectrum(x: np.ndarray, y: np.ndarray, sd: np.ndarray | None, shape: str,
                 Ks: list[int] | tuple[int, ...], background: str, degree: int | None,
                 priors: dict, s: FitSettings, config: dict[str, Any] | None = None,
                 source: str = "", likelihood: str = "gaussian",
                 shirley: bool = False) -> list[KFit]:
    """Fit every K in ``Ks`` to one spectrum; returns one KFit per K (same order)."""
    problems = [build_problem(x, y, sd, shape, K, background, degree, priors, source,
                              likelihood=likelihood, shirley=shirley) for K in Ks]
    return fit_problems(problems, s, config)


def summarise_chains(prob: Problem, betas: np.ndarray, estimated: bool,
                     chains: list[ChainOutput], s: FitSettings, config: dict[str, Any],
                     versions: dict[str, str], wall: float) -> KFit:
    """Free energies, the noise choice and the relabelled posterior of one K, with its
    convergence and goodness-of-fit checks (checks.fit_checks -> KFit.diagnostics; they use
    their own random stream and change no number of the fit)."""
    ne = np.stack([c.ne for c in chains])  # (C, L, S)
    theta = np.stack([c.theta for c in chains])  # (C, L, D, P)
    n = prob.n
    log_z, log_z_se = stepping_stone_se(ne, betas)
    poisson = prob.likelihood == "poisson"
    if poisson:
        # F(beta) = -log int p(D | w)^beta phi(w) dw; see likelihood.py
        # a composite candidate's joint model knows its ties and order (composite.py)
        p_valid, p_valid_se = (prob.valid_fraction(s.seed) if hasattr(prob, "valid_fraction")
                               else prior_valid_fraction(prob, s.seed))
        const = poisson_constant(prob.y)
        f = np.where(betas > 0, -betas * const - log_z - np.log(p_valid), np.nan)
        log_z_se = np.where(betas > 0, np.hypot(log_z_se, p_valid_se), log_z_se)
    else:
        f = free_energy(betas, log_z, n, prob.sum_log_w)
    L = len(betas)
    l_star = L - 1  # the rung of the reported SE
    if poisson:
        b_hat, target = float("nan"), L - 1
        f_hat, f_se = float(f[-1]), float(log_z_se[-1])
    elif estimated:
        b_hat, f_hat, l_star = refine_minimum(ne, betas, log_z, n, prob.sum_log_w)
        target = nearest_rung(betas, b_hat)
        f_se = float(log_z_se[l_star])
    else:
        b_hat, target = float(betas[-1]), L - 1
        f_hat, f_se = float(f[-1]), float(log_z_se[-1])
    # WBIC at the reported noise: -log p(D | w) = c + b ne(w)
    if poisson:
        w_ic, w_ic_se = wbic(ne, betas, n, 1.0, -const)
    else:
        w_ic, w_ic_se = wbic(ne, betas, n, b_hat, -0.5 * n * np.log(b_hat / (2 * np.pi))
                             - 0.5 * prob.sum_log_w)
    sweeps = ne.shape[-1]  # sampling sweeps run: s.sweeps, or fewer once target_se is met
    swaps = np.stack([c.swap for c in chains]).sum(axis=0) / (len(chains) * sweeps)
    draws = theta[:, target]  # (C, D, P)
    ne_draws = ne[:, target, s.thin - 1::s.thin][:, : draws.shape[1]]
    posterior = prob.relabel(draws) if hasattr(prob, "relabel") else \
        split_and_relabel(prob, draws)
    b_t = betas[target]
    if poisson:
        loglik = const - ne_draws
    else:
        loglik = 0.5 * n * np.log(b_t / (2 * np.pi)) + 0.5 * prob.sum_log_w - b_t * ne_draws
    logprior = sum(p.logpdf(draws[..., i]) for i, p in enumerate(prob.priors))
    ladder = Ladder(
        beta=betas, mean_energy=ne.mean(axis=(0, 2)) / n, log_z=log_z, log_z_se=log_z_se,
        free_energy=f, free_energy_se=np.where(betas > 0, log_z_se, np.nan),
        swap_acceptance=np.concatenate([swaps, [np.nan]]),
    )
    acc = fixed_nan(np.stack([c.acc for c in chains]).sum(axis=0) / (len(chains) * sweeps),
                    prob.priors)
    warnings = []
    low = np.flatnonzero(swaps < MIN_SWAP_ACCEPTANCE)
    if low.size:
        warnings.append(f"K={prob.K}: swap acceptance below {MIN_SWAP_ACCEPTANCE} between rungs "
                        f"{', '.join(f'{l}-{l + 1}' for l in low[:5])}; the free energy may be "
                        f"biased: use more replicas or a smaller sampler.ratio")
    coef_names = prob.coef_names
    diagnostics, more = fit_checks(prob, betas, estimated, ne, log_z, l_star, posterior,
                                   coef_names, ne_draws, f_hat, f_se, b_hat, s.seed,
                                   s.target_se, s.sweeps)
    warnings += more
    return KFit(
        K=prob.K, shape=prob.shape.name, background=prob.background.name,
        coef_names=coef_names, x=prob.x, y=prob.y,
        sd=None if np.all(prob.w == 1.0) else 1.0 / np.sqrt(prob.w),
        posterior=posterior,
        sample_stats={"energy": ne_draws / n, "lp": loglik + logprior,
                      "log_likelihood": loglik},
        ladder=ladder, acceptance=acc, param_names=list(prob.param_names),
        free_energy=f_hat, free_energy_se=f_se, wbic=w_ic, wbic_se=w_ic_se,
        noise_sd=float("nan") if poisson else float(1.0 / np.sqrt(b_hat)),
        noise_estimated=estimated, target_rung=target, seed=s.seed, config=config,
        versions=versions,
        timing={"chain_seconds": float(sum(c.seconds for c in chains)), "wall_seconds": wall,
                "sweeps": sweeps},
        warnings=warnings, likelihood=prob.likelihood,
        components=dict(getattr(prob, "component_info", {})),
        diagnostics=diagnostics,
        **block_stats(getattr(prob, "model", None), chains, sweeps),
    )


def block_stats(model: Any, chains: list, sweeps: int) -> dict[str, Any]:
    """``block_acceptance`` (L, B) over the chains' sampling sweeps and ``block_names`` of a
    joint-kernel fit with block moves; {} otherwise."""
    if model is None or chains[0].blocks is None or chains[0].blocks.shape[1] == 0:
        return {}
    from ..sampling.joint import block_labels

    acc = np.stack([c.blocks for c in chains]).sum(axis=0) / (len(chains) * sweeps)
    return {"block_acceptance": acc, "block_names": block_labels(model)}


def fixed_nan(acc: np.ndarray, priors) -> np.ndarray:
    """Acceptance (L, P) with NaN for parameters of fixed prior: they are never proposed, on
    any backend (the Numba kernels skip them; the array backend's null move would read 1)."""
    fixed = np.array([p.fixed for p in priors], dtype=bool)
    if fixed.any():
        acc = np.array(acc, dtype=float)
        acc[:, fixed] = np.nan
    return acc


def split_and_relabel(prob: Problem, draws: np.ndarray) -> dict[str, np.ndarray]:
    """Packed draws (C, D, P) -> named arrays, peaks sorted by center in every draw.

    The posterior is symmetric under permuting peaks (no ordering constraint is imposed), so
    sorting each draw by center is a relabelling for summaries only; free energies use none.
    """
    C, D, _ = draws.shape
    K, st = prob.K, prob.stride
    peaks = draws[..., : K * st].reshape(C, D, K, st)
    order = np.argsort(peaks[..., 1], axis=-1, kind="stable")
    peaks = np.take_along_axis(peaks, order[..., None], axis=2)
    out = {name: np.ascontiguousarray(peaks[..., i]) for i, name in enumerate(prob.peak_vars)}
    out["background"] = np.ascontiguousarray(draws[..., K * st:])
    return out


def settings_from_config(cfg: FitConfig) -> FitSettings:
    """The FitSettings a validated FitConfig asks for."""
    sp = cfg.sampler
    return FitSettings(replicas=sp.replicas, ratio=sp.ratio, burn_in=sp.burn_in, sweeps=sp.sweeps,
                       chains=sp.chains, seed=sp.seed, thin=sp.thin, threads=sp.threads,
                       extend=sp.extend, backend=sp.backend, target_se=sp.target_se,
                       checkpoint_every=sp.checkpoint_every, ladder=sp.ladder, moves=sp.moves,
                       noise_sd=None if cfg.noise.estimate else cfg.noise.sd,
                       max_precision=cfg.noise.max_precision)
