"""Fit the candidates of a composite model (composite.py) to one spectrum.

Each candidate is a joint model of one data set (joint.build_joint with the model's own ties
and offsets), sampled by the joint Numba kernel through the chunked driver (chunked.py: the
same chain state, checkpoints, SIGTERM, target_se and progress as single fits) on the noise
ladder of fit.ladder_for, and summarised by fit.summarise_chains, so F(b), the noise estimate,
Poisson counts and the store are those of the one-shape engine.

Seeds: chain c of candidate (K_1, ..., K_C) draws from SeedSequence(seed, spawn_key=(2**20,
K_1, ..., K_C, c)) (joint.start_joint_chain); a candidate's numbers do not depend on which
other candidates are fitted or on the thread count.
"""

from __future__ import annotations

import os
import time
from types import SimpleNamespace
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError
from ..models.composite import CompositeProblem
from ..models.priors import Prior
from ..models.ties import Tie
from ..sampling import checkpoint as checkpoint_mod
from ..sampling.chunked import run_chunked
from ..sampling.joint import (JOINT, JointModel, build_joint, prior_energy_sd, valid_fraction,
                              with_block_moves)
from .checks import stop_refusal
from .fit import (FitSettings, chunked_plan, ladder_for, numbers_of, package_versions,
                  posterior_params_of, reported_se, resolve_backend, summarise_chains)
from .result import KFit


class Candidate:
    """A composite candidate as fit.summarise_chains reads a model.Problem: the data, the
    free parameters (ties resolved) and their priors, and the relabelling of draws."""

    def __init__(self, problem: CompositeProblem, model: JointModel):
        self.problem, self.model = problem, model
        self.priors = model.priors
        self.param_names = model.free_names
        self.shape = SimpleNamespace(name="+".join(f"{c.name}:{c.shape.name}"
                                                   for c in problem.components))
        self.component_info = {c.name: {"shape": c.shape.name, "K": c.K}
                               for c in problem.components}

    def __getattr__(self, name: str):
        """The data and layout (x, y, w, n, K, Ks, label, nb, background, likelihood,
        sum_log_w, offset) are the candidate problem's."""
        if name in ("problem", "model"):  # not set yet (e.g. while unpickling)
            raise AttributeError(name)
        return getattr(self.problem, name)

    def relabel(self, draws: np.ndarray) -> dict[str, np.ndarray]:
        """Free draws (C, D, P) -> named local arrays; the kernel keeps every component's
        centers increasing, so peaks are already in order of position within a component."""
        return self.problem.named(self.model.locals(draws))

    def valid_fraction(self, seed: int) -> tuple[float, float]:
        return valid_fraction(self.model, seed)

    def curve(self, theta: np.ndarray) -> np.ndarray:
        return self.problem.curve(theta)

    def components(self, theta: np.ndarray) -> np.ndarray:
        return self.problem.components_curves(theta)

    def pack_posterior(self, posterior: dict[str, np.ndarray]) -> np.ndarray:
        return self.problem.pack(posterior)


def _present(p: CompositeProblem, ref) -> bool:
    """Whether a tie's reference exists in candidate ``p`` (a component may have 0 peaks)."""
    counts = {c.name: c.K for c in p.components}
    return ref.kind == "background" or ref.index < counts.get(ref.dataset, ref.index + 1)


def candidates(problems: list[CompositeProblem], ties: list[Tie], offsets: dict[str, Prior],
               where: str) -> list[Candidate]:
    """Resolve the model's ties for every candidate (errors name ``where`` and the tie).

    A tie whose tied (left) parameter does not exist in a candidate (its component has fewer
    peaks there, e.g. 0) does not apply to it; one whose right side is missing where its left
    side exists is an error (a tie that applies to no candidate of the model is refused when
    the FIT.yaml is read). An offset used by no applied tie is not a parameter of that
    candidate."""
    unused = [o for o in offsets if not any(t.offset == o for t in ties)]
    if unused:
        raise ConfigError(f"{where}: offsets: {', '.join(unused)} declared but used by no tie; "
                          f"remove it or use it in a tie")
    out = []
    for p in problems:
        mine = [t for t in ties if _present(p, t.left)]
        offs = {o: pr for o, pr in offsets.items() if any(t.offset == o for t in mine)}
        out.append(Candidate(p, build_joint([""], [p], [1.0], mine, offs, where)))
    return out


def fit_composite(cands: list[Candidate], s: FitSettings,
                  config: dict[str, Any] | None = None,
                  checkpoint: str | os.PathLike | None = None,
                  progress: Callable[[int, int, int, int], None] | None = None,
                  restart_on_mismatch: bool = False) -> list[KFit]:
    """Sample every candidate (see :func:`candidates`) and return one KFit per candidate.

    Only the numba backend runs composite models (the array backends sample one shape);
    another backend is refused with the fix. checkpoint/progress as fit.fit_problems."""
    backend = resolve_backend(s.backend)
    if backend != "numba":
        raise ConfigError(f"sampler.backend: {backend!r} cannot run the joint kernel, which "
                          f"samples composite models (model.components), active Shirley "
                          f"backgrounds and block moves (sampler.moves: block); only numba "
                          f"is implemented for it (set sampler.backend: numba)")
    if s.moves == "block":
        cands = [Candidate(c.problem, with_block_moves(c.model)) for c in cands]
    ladders = [ladder_for(c, s, lambda _, seed, m=c.model: prior_energy_sd(m, seed),
                          pilot=(c.model, JOINT))
               for c in cands]
    jobs = [(c.model, betas) for c, (betas, _) in zip(cands, ladders)]
    versions = package_versions()
    plan = chunked_plan(s, checkpoint, restart_on_mismatch)
    fp = None if checkpoint is None else checkpoint_mod.fingerprint(
        [c.model for c in cands], [b for b, _ in ladders], numbers_of(s), versions)

    def se_of(j: int, ne: np.ndarray) -> float:
        return reported_se(cands[j], ladders[j][0], ladders[j][1], ne)

    def may_stop(j: int, ne: np.ndarray, theta: Callable[[], np.ndarray]) -> str | None:
        return stop_refusal(cands[j], ladders[j][0], ladders[j][1], ne,
                            params=posterior_params_of(cands[j], theta))

    t0 = time.perf_counter()
    outs, _, _ = run_chunked(jobs, plan, se_of, fp, progress, backend=JOINT, may_stop=may_stop)
    wall = time.perf_counter() - t0
    versions["backend"] = backend
    return [summarise_chains(c, betas, est, chains, s, config or {}, versions, wall)
            for c, (betas, est), chains in zip(cands, ladders, outs)]
