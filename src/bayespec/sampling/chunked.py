"""The one driver of every fit's chains: a thread pool over (job, chain) tasks, each advanced by
a ChainBackend (sampler.NUMBA, joint.JOINT), in resumable pieces when asked for:
checkpoints, SIGTERM, ``target_se`` (:func:`run_many` is the plain case: every chain to the
end). With a plan that asks for them:

* every ``checkpoint_every`` seconds the chains are paused at their next multiple of
  RECOMPUTE_EVERY sweeps (where a continued chain is bit-for-bit the unsplit one), every
  state is written to the checkpoint file, and the chains go on;
* on SIGTERM (a batch system's wall-time warning) the same happens, then FitInterrupted is
  raised: rerunning the same command resumes from the file;
* with ``target_se`` each job's chains stop together at the first multiple of
  RECOMPUTE_EVERY (at least MIN_TARGET_SWEEPS sampling sweeps in) where the stepping-stone
  standard error of the reported F is <= target_se and the caller's ``may_stop`` raises no
  objection (inference/checks.stop_refusal: the SE comes from enough batches, the chains' F
  agree, and the posterior draws' R-hat and bulk ESS pass the convergence check, so that a
  stop never makes a fit "not converged"); ``sweeps`` is the maximum. The check points are
  fixed sweep counts and the checks deterministic, so where a job stops depends only on the
  seed.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..errors import FitInterrupted
from ..models.model import Problem
from . import checkpoint as ckpt
from .kernel import RECOMPUTE_EVERY
from .sampler import NUMBA, ChainBackend, ChainOutput, advance_reporting, chain_output

log = logging.getLogger("bayespec")
MIN_TARGET_SWEEPS = RECOMPUTE_EVERY  # sampling sweeps before the first target_se check
POLL_SECONDS = 0.2  # how often the main thread looks at the clock and the SIGTERM flag


@dataclass(frozen=True)
class Plan:
    """How to run: the sampler numbers plus checkpoint and stopping rules."""

    burn_in: int
    sweeps: int
    thin: int
    chains: int
    seed: int
    threads: int
    target_se: float | None = None
    checkpoint: Path | None = None
    checkpoint_every: float = 0.0  # seconds; 0 = only on SIGTERM and at the end
    restart_on_mismatch: bool = False


@contextmanager
def sigterm_flag() -> Iterator[threading.Event]:
    """An Event set by SIGTERM while the block runs (main thread only; elsewhere never set)."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_points(burn_in: int, sweeps: int, target_se: float | None) -> list[int]:
    """Sweep counts (burn-in included) at which target_se is checked, ending at the total:
    multiples of RECOMPUTE_EVERY at least MIN_TARGET_SWEEPS sampling sweeps in (every
    backend's chains continue there bit for bit)."""
    total = burn_in + sweeps
    if target_se is None:
        return [total]
    first = burn_in + MIN_TARGET_SWEEPS
    first = -(-first // RECOMPUTE_EVERY) * RECOMPUTE_EVERY
    return list(range(first, total, RECOMPUTE_EVERY)) + [total]


# may_stop(job, ne, theta): None when the job may stop, else why not; ne: (C, L, sampled)
# energies; theta(): the thinned draws so far, (C, L, D, P) (a call: the batched path copies
# them off the device only when the SE is already small enough)
MayStop = Callable[[int, np.ndarray, Callable[[], np.ndarray]], str | None]


def target_reached(job: int, ne: np.ndarray, sampled: int, target_se: float,
                   se_of: Callable[[int, np.ndarray], float], may_stop: MayStop | None,
                   theta: Callable[[], np.ndarray]) -> tuple[float, bool]:
    """(SE, stop?) of a job at a check point: its SE from ne (C, L, sampled) is <= target_se
    and ``may_stop`` (None: the SE alone decides) raises no objection. Logged."""
    se = float(se_of(job, ne))
    why = None
    if se <= target_se and may_stop is not None:
        why = may_stop(job, ne, theta)
        if why is not None:
            log.info("job %d: SE %.4g <= target_se %.4g after %d sampling sweeps, not "
                     "stopping: %s", job, se, target_se, sampled, why)
    stop = se <= target_se and why is None
    if stop:
        log.info("job %d: target_se %.4g reached (SE %.4g) after %d sampling sweeps", job,
                 target_se, se, sampled)
    return se, stop


def run_chunked(jobs: list[tuple[Problem, np.ndarray]], plan: Plan,
                se_of: Callable[[int, np.ndarray], float] | None,
                fingerprint: dict | None,
                progress: Callable[[int, int, int, int], None] | None = None,
                backend: ChainBackend = NUMBA,
                may_stop: MayStop | None = None,
                ) -> tuple[list[list[ChainOutput]], list[int], list[float | None]]:
    """Run every job's chains per ``plan``; returns outputs[job][chain], the sampling sweeps
    run per job, and the SE at the stop (None without target_se).

    jobs: (model, betas) per job, the model being what ``backend`` samples (sampler.NUMBA: a
    model.Problem; joint.JOINT: a joint.JointModel): the driver knows nothing else of it.

    se_of(job, ne) is the SE of the reported F from ne (C, L, S) of that job (needed with
    target_se); fingerprint: what decides the numbers (checkpoint.fingerprint; needed with a
    checkpoint).
    progress(job, chain, sweeps done, total) is called as in run_many (from the
    worker threads, every RECOMPUTE_EVERY sweeps; the pieces end where an unsplit run
    recomputes anyway, so the numbers are unchanged); when target_se stops a job early its
    chains are reported once more with total = the sweeps run.
    may_stop(job, ne, theta), with target_se: None when the job may stop at a check point
    whose SE is small enough, else why not (logged; the chains go on); theta() gives the
    job's thinned draws so far (C, L, D, P). None: the SE alone decides.
    """
    C, total = plan.chains, plan.burn_in + plan.sweeps
    bounds = check_points(plan.burn_in, plan.sweeps, plan.target_se)
    saved = None
    if plan.checkpoint is not None:
        saved = ckpt.load(plan.checkpoint, fingerprint, restart=plan.restart_on_mismatch)
    if saved is not None:
        states, limits, ses = saved.states, saved.limits, saved.se
        done_at = {t: cs.sweep for t, cs in states.items()}
        log.info("%s: resuming from the checkpoint (sweeps done per chain: %s)",
                 plan.checkpoint, sorted(set(done_at.values())))
    else:
        states = {(j, c): backend.start(p, b, plan.sweeps, plan.thin, plan.seed, c)
                  for j, (p, b) in enumerate(jobs) for c in range(C)}
        limits, ses = [total] * len(jobs), [None] * len(jobs)

    def stop_of(t: tuple[int, int]) -> int:
        sweep = states[t].sweep
        return min(next(b for b in bounds if b > sweep) if sweep < total else total,
                   limits[t[0]])

    pause = np.zeros(1, dtype=np.int64)

    def work(t: tuple[int, int], stop: int) -> tuple[int, int]:
        prob, betas = jobs[t[0]]
        if progress is None:
            backend.advance(prob, betas, plan.burn_in, plan.thin, states[t], stop, pause)
        else:
            advance_reporting(prob, betas, plan.burn_in, plan.thin, states[t], stop,
                              lambda done: progress(t[0], t[1], done, total), pause,
                              backend.advance)
        return t

    checked: set[tuple[int, int]] = set()

    def check(j: int) -> None:
        """All chains of job j are at the same check point: stop there if the SE is reached."""
        sweep = states[(j, 0)].sweep
        if plan.target_se is None or sweep >= limits[j] or (j, sweep) in checked:
            return
        checked.add((j, sweep))
        sampled = sweep - plan.burn_in
        ne = np.stack([states[(j, c)].ne[:, :sampled] for c in range(C)])

        def theta() -> np.ndarray:
            return np.stack([states[(j, c)].theta[:, :sampled // plan.thin] for c in range(C)])

        ses[j], stop = target_reached(j, ne, sampled, plan.target_se, se_of, may_stop, theta)
        if stop:
            limits[j] = sweep
            if progress is not None:
                for c in range(C):
                    progress(j, c, sweep, sweep)

    def write() -> None:
        ckpt.save(plan.checkpoint, fingerprint, ckpt.Saved(states, limits, ses), plan.burn_in,
                  plan.thin)

    # tasks sort longest first (more parameters, more work) for better packing, as run_many
    order = sorted(states, key=lambda t: -len(jobs[t[0]][0].priors))
    pool = ThreadPoolExecutor(max_workers=max(1, plan.threads))
    running: dict[Future, tuple[int, int]] = {}
    last_write = time.monotonic()

    def ready() -> list[tuple[int, int]]:
        """Tasks that can run now: not finished, not running, not waiting for their job's
        other chains at a target_se check point."""
        busy = set(running.values())
        out = []
        for t in order:
            if t in busy or states[t].sweep >= limits[t[0]]:
                continue
            if states[t].sweep in bounds and plan.target_se is not None:
                same = [states[(t[0], c)].sweep for c in range(C)]
                if any((t[0], c) in busy for c in range(C)) or len(set(same)) > 1:
                    continue  # the job's other chains are still on their way here
                check(t[0])
                if states[t].sweep >= limits[t[0]]:
                    continue
            out.append(t)
        return out

    def collect(futures) -> None:
        for f in futures:
            running.pop(f)
            f.result()  # re-raise a kernel error here

    try:
        # without a checkpoint SIGTERM keeps its usual meaning (terminate now)
        with sigterm_flag() if plan.checkpoint is not None else nullcontext(threading.Event()) \
                as term:
            while True:
                for t in ready():
                    running[pool.submit(work, t, stop_of(t))] = t
                if not running:
                    break
                due = plan.checkpoint is not None and plan.checkpoint_every > 0 and \
                    time.monotonic() - last_write >= plan.checkpoint_every
                if plan.checkpoint is not None and (due or term.is_set()):
                    pause[0] = 1
                    collect(wait(list(running)).done)
                    pause[0] = 0
                    write()
                    last_write = time.monotonic()
                    if term.is_set():
                        done = sorted({cs.sweep for cs in states.values()})
                        raise FitInterrupted(
                            f"SIGTERM: sampler state saved to {plan.checkpoint} (sweeps done per "
                            f"chain: {done} of {total}); rerun the same command to resume")
                    continue
                timeout = POLL_SECONDS
                if plan.checkpoint is not None and plan.checkpoint_every > 0:
                    timeout = max(0.0, min(timeout, plan.checkpoint_every
                                           - (time.monotonic() - last_write)))
                collect(wait(list(running), timeout=timeout, return_when=FIRST_COMPLETED).done)
    finally:
        pause[0] = 1  # on an error, stop the other chains soon
        pool.shutdown(wait=True)
    stuck = [t for t, cs in states.items() if cs.sweep < limits[t[0]]]
    if stuck:  # cannot happen: every chain of a job reaches each check point before it
        raise RuntimeError(f"chunked: chains {stuck} stopped before their last sweep")
    if plan.checkpoint is not None:
        write()  # all sampling done: a crash while writing the stores loses nothing
    outs = [[chain_output(states[(j, c)], limits[j] - plan.burn_in, plan.thin) for c in range(C)]
            for j in range(len(jobs))]
    return outs, [lim - plan.burn_in for lim in limits], ses


def run_many(jobs: list[tuple[Problem, np.ndarray]], burn_in: int, sweeps: int, thin: int,
             chains: int, seed: int, threads: int | None = None,
             progress: Callable[[int, int, int, int], None] | None = None,
             backend: ChainBackend = NUMBA) -> list[list[ChainOutput]]:
    """Run ``chains`` chains of every (model, betas) job to the end, no checkpoint and no
    target error: :func:`run_chunked` with a plain plan (the one driver of every fit).
    Returns outputs[job][chain]. All job x chain tasks share one pool, longest first, so that
    several K values load every core; ``progress`` as in run_chunked."""
    plan = Plan(burn_in=burn_in, sweeps=sweeps, thin=thin, chains=chains, seed=seed,
                threads=threads or os.cpu_count() or 1)
    return run_chunked(jobs, plan, None, None, progress, backend)[0]

