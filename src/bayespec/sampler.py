"""Runs the Numba kernel for many (model, chain) tasks on a thread pool (the kernel drops the GIL).

Seeding: task (K, chain) draws its PRNG state and its initial replicas from
SeedSequence(seed, spawn_key=(K, chain)), so a K's numbers do not depend on which other K values
are fitted, on the thread count or on scheduling order.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .kernel import run_chain
from .errors import ConfigError
from .likelihood import CODES, valid_mean
from .model import Problem
from .priors import pack
from .rng import seed_state

LOG_STEP0, LOG_STEP_MAX = 0.3, 3.0  # proposal sd in log units for positive parameters


@dataclass
class ChainOutput:
    """Raw output of one chain: ne (L, S), theta (L, D, P), acc (L, P), swap (L-1,), steps (L, P)."""

    ne: np.ndarray
    theta: np.ndarray
    acc: np.ndarray
    swap: np.ndarray
    steps: np.ndarray
    seconds: float


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


def run_one(problem: Problem, betas: np.ndarray, burn_in: int, sweeps: int, thin: int,
            seed: int, chain: int) -> ChainOutput:
    """One chain of exchange MC for ``problem`` on the ladder ``betas``."""
    seq = np.random.SeedSequence(seed, spawn_key=(problem.K, chain))
    init_seq, kern_seq = seq.spawn(2)
    L = betas.shape[0]
    codes, params, logsp, u0, step, step_max = initial_state(problem, L, np.random.default_rng(init_seq))
    state = seed_state(kern_seq)
    P = u0.shape[1]
    ne = np.zeros((L, sweeps))
    theta = np.zeros((L, sweeps // thin, P))
    acc = np.zeros((L, P), dtype=np.int64)
    swap = np.zeros(max(L - 1, 0), dtype=np.int64)
    t0 = time.perf_counter()
    run_chain(problem.shape.code, problem.background.code, problem.x, problem.h,
              problem.y_fit, problem.w, problem.K, problem.stride, problem.nb, codes, params, logsp,
              betas, u0, step, step_max, burn_in, sweeps, thin, state, ne, theta, acc, swap,
              CODES[problem.likelihood], problem.y)
    return ChainOutput(ne, theta, acc, swap, step, time.perf_counter() - t0)


def run_many(jobs: list[tuple[Problem, np.ndarray]], burn_in: int, sweeps: int, thin: int,
             chains: int, seed: int, threads: int | None = None) -> list[list[ChainOutput]]:
    """Run ``chains`` chains for every (problem, betas) job; returns outputs[job][chain].

    All job x chain tasks share one pool so that several K values load both cores evenly.
    """
    threads = threads or os.cpu_count() or 1
    tasks = [(j, c) for j in range(len(jobs)) for c in range(chains)]
    # longest first (more peaks, more work) for better packing
    tasks.sort(key=lambda t: -len(jobs[t[0]][0].priors))

    def work(t):
        prob, betas = jobs[t[0]]
        return t, run_one(prob, betas, burn_in, sweeps, thin, seed, t[1])

    out: list[list[ChainOutput | None]] = [[None] * chains for _ in jobs]
    if threads == 1:
        results = map(work, tasks)
    else:
        pool = ThreadPoolExecutor(max_workers=threads)
        results = pool.map(work, tasks)
    for (j, c), res in results:
        out[j][c] = res
    if threads != 1:
        pool.shutdown()
    return out  # type: ignore[return-value]
