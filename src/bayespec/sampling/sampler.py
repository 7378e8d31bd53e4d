"""Runs the Numba kernel for many (model, chain) tasks on a thread pool (the kernel drops the GIL).

Seeding: task (K, chain) draws its PRNG state and its initial replicas from
SeedSequence(seed, spawn_key=(K, chain)), so a K's numbers do not depend on which other K values
are fitted, on the thread count or on scheduling order (every stream: :mod:`.seeds`).

The chain interface is :class:`ChainBackend` (start, advance): :data:`NUMBA` here, the joint
kernel's ``sampling.joint.JOINT``; :mod:`.chunked` drives either in resumable pieces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from ..errors import ConfigError
from ..models.likelihood import CODES, valid_mean
from ..models.model import Problem
from ..models.priors import pack
from .joint_kernel import BLK_ACC
from .kernel import RECOMPUTE_EVERY, run_chain
from .rng import seed_state
from .seeds import chain_seqs

LOG_STEP0, LOG_STEP_MAX = 0.3, 3.0  # proposal sd in log units for positive parameters
# ladder sizing, shared by the single-spectrum (inference.fit) and joint (joint.py) ladders
PRIOR_DRAWS = 400  # prior draws used to size the bottom of the ladder
FIRST_STEP_OVERLAP = 2.0  # largest beta_2 * sd_prior(n E) accepted without extending


@dataclass
class ChainOutput:
    """Raw output of one chain: ne (L, S), theta (L, D, P), acc (L, P), swap (L-1,), steps (L, P);
    blocks (L, B): accepted block moves while sampling (joint kernel with block moves), else
    None."""

    ne: np.ndarray
    theta: np.ndarray
    acc: np.ndarray
    swap: np.ndarray
    steps: np.ndarray
    seconds: float
    blocks: np.ndarray | None = None


def geometric_ladder(top: float, replicas: int, ratio: float) -> np.ndarray:
    """beta_1 = 0 and beta_l = top * ratio^(l - L) for l = 2..L (Nagata et al. 2012)."""
    l = np.arange(2, replicas + 1)
    return np.concatenate([[0.0], top * ratio ** (l - replicas).astype(float)])


def initial_state(problem: Problem, L: int, rng: np.random.Generator):
    """Prior draws for every rung (sampled coordinates), initial and maximal proposal sd."""
    codes, params, logsp = pack(list(problem.priors))
    P = len(problem.priors)
    u0 = np.empty((L, P))
    step = np.empty((L, P))
    step_max = np.empty(P)
    draws = np.stack([prior.sample(rng, L) for prior in problem.priors], axis=-1) if P else \
        np.zeros((L, 0))
    if problem.start is not None:  # warm start: every replica from a draw of the given ones
        draws = np.array(problem.start[rng.integers(0, problem.start.shape[0], L)], dtype=float)
    if problem.likelihood == "poisson":
        draws = _valid_start(problem, draws, rng)
    for p, prior in enumerate(problem.priors):
        draw = draws[:, p]
        if prior.fixed:
            u0[:, p], step[:, p], step_max[p] = draw, 0.0, 0.0
            continue
        if logsp[p]:
            draw = np.log(np.maximum(draw, 1e-300))
            step[:, p], step_max[p] = LOG_STEP0, LOG_STEP_MAX
        else:
            sc = prior.scale()
            step[:, p], step_max[p] = 0.1 * sc, sc
        u0[:, p] = draw
    return codes, params, logsp, u0, step, step_max


VALID_START_TRIES = 1000


def _valid_start(problem: Problem, draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Redraw (from the prior) every replica whose Poisson mean is invalid: the sampler starts
    in, and stays in, the prior restricted to valid means (see likelihood.py)."""
    for _ in range(VALID_START_TRIES):
        bad = np.flatnonzero(~valid_mean(problem.curve(draws), problem.y))
        if not bad.size:
            return draws
        draws[bad] = np.stack([p.sample(rng, bad.size) for p in problem.priors], axis=-1)
    raise ConfigError(f"priors: no prior draw with a positive Poisson mean in "
                      f"{VALID_START_TRIES} tries (K={problem.K}); give the background a prior "
                      f"with positive support")


@dataclass
class ChainState:
    """Everything needed to continue one chain, plus its outputs so far (kernel.run_chain's
    in-place arguments). ``sweep`` is the next sweep to run (0 .. burn_in + sweeps).

    u, step: (L, P); rng: uint64 (4,); who: int64 (L,); acc_win, acc: int64 (L, P);
    ne: (L, sweeps); theta: (L, sweeps // thin, P); swap: int64 (L-1,); seconds: kernel time;
    blk: (L, B, W) the block moves' state of the joint kernel (joint_kernel.py; B = 0: none).
    """

    u: np.ndarray
    step: np.ndarray
    rng: np.ndarray
    who: np.ndarray
    acc_win: np.ndarray
    ne: np.ndarray
    theta: np.ndarray
    acc: np.ndarray
    swap: np.ndarray
    sweep: int = 0
    seconds: float = 0.0
    blk: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))


STATE_ARRAYS = ("u", "step", "rng", "who", "acc_win", "ne", "theta", "acc", "swap", "blk")


def start_chain(problem: Problem, betas: np.ndarray, sweeps: int, thin: int, seed: int,
                chain: int) -> ChainState:
    """The state of chain ``chain`` before its first sweep (seeded as described above)."""
    if problem.shirley_dir:
        raise ConfigError("model.background.shirley: active runs on the joint kernel (the "
                          "composite-model path); fit it with bayespec fit / bayespec.fit, "
                          "which route it there, or use shirley: true (a fixed offset)")
    init_seq, kern_seq = chain_seqs(seed, problem.K, chain)
    L = betas.shape[0]
    _, _, _, u0, step, _ = initial_state(problem, L, np.random.default_rng(init_seq))
    P = u0.shape[1]
    return ChainState(
        u=u0, step=step, rng=seed_state(kern_seq), who=np.arange(L, dtype=np.int64),
        acc_win=np.zeros((L, P), dtype=np.int64), ne=np.zeros((L, sweeps)),
        theta=np.zeros((L, sweeps // thin, P)), acc=np.zeros((L, P), dtype=np.int64),
        swap=np.zeros(max(L - 1, 0), dtype=np.int64))


def advance(problem: Problem, betas: np.ndarray, burn_in: int, thin: int, cs: ChainState,
            stop: int, pause: np.ndarray | None = None) -> ChainState:
    """Run sweeps [cs.sweep, stop) in place; stop early at a RECOMPUTE_EVERY multiple when
    ``pause[0]`` becomes non-zero. ``stop`` must be such a multiple or the last sweep, so that a
    continued chain is bit-for-bit the unsplit one (see kernel.run_chain)."""
    codes, params, logsp = pack(list(problem.priors))
    step_max = np.array([0.0 if pr.fixed else LOG_STEP_MAX if logsp[p] else pr.scale()
                         for p, pr in enumerate(problem.priors)], dtype=float)
    if pause is None:
        pause = np.zeros(1, dtype=np.int64)
    t0 = time.perf_counter()
    cs.sweep = int(run_chain(
        problem.shape.code, problem.background.code, problem.x, problem.h, problem.y_fit, problem.w,
        problem.K, problem.stride, problem.nb, codes, params, logsp, betas, cs.u, cs.step,
        step_max, burn_in, cs.ne.shape[1], thin, cs.rng, cs.sweep, stop, cs.who, cs.acc_win,
        pause, cs.ne, cs.theta, cs.acc, cs.swap, CODES[problem.likelihood], problem.y))
    cs.seconds += time.perf_counter() - t0
    return cs


def chain_output(cs: ChainState, sampled: int, thin: int) -> ChainOutput:
    """The ChainOutput of the first ``sampled`` sampling sweeps of a chain."""
    blocks = cs.blk[..., BLK_ACC].copy() if cs.blk.size else None
    return ChainOutput(cs.ne[:, :sampled], cs.theta[:, :sampled // thin], cs.acc, cs.swap,
                       cs.step, cs.seconds, blocks)


def run_one(problem: Problem, betas: np.ndarray, burn_in: int, sweeps: int, thin: int,
            seed: int, chain: int) -> ChainOutput:
    """One chain of exchange MC for ``problem`` on the ladder ``betas``."""
    cs = start_chain(problem, betas, sweeps, thin, seed, chain)
    advance(problem, betas, burn_in, thin, cs, burn_in + sweeps)
    return chain_output(cs, sweeps, thin)


class ChainBackend(NamedTuple):
    """A chain backend's pair, the interface every driver uses (chunked.py):
    ``start(model, betas, sweeps, thin, seed, chain) -> ChainState`` (the chain before its
    first sweep) and ``advance(model, betas, burn_in, thin, state, stop, pause) -> state``
    (sweeps [state.sweep, stop) in place; a pause stops at a RECOMPUTE_EVERY multiple, and a
    chain continued there is bit for bit the unsplit one). ``model`` is what the backend's
    kernel samples: a model.Problem here, a joint.JointModel for joint.JOINT."""

    start: Callable[..., ChainState]
    advance: Callable[..., ChainState]


def advance_reporting(problem: Problem, betas: np.ndarray, burn_in: int, thin: int,
                      cs: ChainState, stop: int, report: Callable[[int], None],
                      pause: np.ndarray | None = None,
                      advance_fn: Callable[..., ChainState] = advance) -> ChainState:
    """``advance_fn`` (a ChainBackend's advance) to ``stop`` in pieces ending at multiples of
    RECOMPUTE_EVERY (so the numbers are bit-for-bit those of one call), calling
    ``report(cs.sweep)`` after each piece. Returns early, as advance, at the first multiple
    reached once ``pause[0]`` is set (every piece ends at one, so no further piece starts
    then)."""
    while cs.sweep < stop and (pause is None or pause[0] == 0):
        piece = min(stop, (cs.sweep // RECOMPUTE_EVERY + 1) * RECOMPUTE_EVERY)
        advance_fn(problem, betas, burn_in, thin, cs, piece, pause)
        report(cs.sweep)
    return cs


NUMBA = ChainBackend(start_chain, advance)  # the single-spectrum Numba kernel (kernel.py)
