"""Checkpoint files of a running fit: every chain's full sampler state in one ``.npz``.

One file per fit (all K values and chains of one :func:`bayespec.inference.fit.fit_problems`
call). It holds, for every (job, chain) task, the arrays of
:class:`bayespec.sampling.sampler.ChainState` (positions, step sizes, PRNG state, rung order,
adaptation counts and the energies and draws accumulated so far) under keys
``j{job}c{chain}_{field}``, and a JSON ``meta`` entry: the format version, the fingerprint of
what decides the numbers, each task's next sweep and seconds, and each job's sweep limit (set
when ``sampler.target_se`` is reached). No pickles: ``np.load`` with ``allow_pickle=False``
reads it.

Writes are atomic (temp sibling, fsync, rename), so a kill at any moment leaves the previous
checkpoint or the new one, never a torn file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..io.store import _sibling
from ..io.zarrio import fsync_path as _fsync_path
from .sampler import STATE_ARRAYS, ChainState

log = logging.getLogger("bayespec")
FORMAT = 1


class CheckpointMismatch(ConfigError):
    """A checkpoint exists but was written by a different fit (data, ladder, settings...)."""


@dataclass
class Saved:
    """What a checkpoint holds: states[(job, chain)] and limits[job] (last sweep to run)."""

    states: dict[tuple[int, int], ChainState]
    limits: list[int]
    se: list[float | None]


def _digest(*arrays: Any) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _shapes(p) -> str:
    """A data set's shape names: its shape, or a composite's component:shape*K list."""
    if hasattr(p, "bases"):  # composite.CompositeProblem
        return "+".join(f"{c.name}:{c.shape.name}*{c.K}" for c in p.components)
    return p.shape.name


def fingerprint(problems: list, ladders: list[np.ndarray], settings: dict[str, Any],
                versions: dict[str, str]) -> dict[str, Any]:
    """What decides a fit's numbers, item by item (so a mismatch can say what changed).

    problems: per job a bayespec.models.model.Problem, or a bayespec.sampling.joint.JointModel (a
    joint fit of a group); ladders: (L,) betas per job; settings: the sampler settings that change the
    numbers (not threads or checkpoint_every)."""
    from ..models.priors import pack

    data, model = [], []
    ladders = [np.asarray(b, dtype=float) for b in ladders]
    for p in problems:
        codes, params, logsp = pack(list(p.priors))
        if hasattr(p, "problems"):  # a JointModel: the data sets, their models and the ties
            data.append(_digest(p.x, p.y, p.w, p.pois))
            model.append(f"joint {','.join(p.names)} K={'-'.join(map(str, p.Ks))} "
                         f"{' '.join(_shapes(q) + '/' + q.likelihood for q in p.problems)} "
                         f"priors={_digest(codes, params, logsp)} "
                         f"ties={_digest(p.src, p.a, p.c, p.off, p.g)}")
            continue
        offset = () if p.offset is None else (p.offset,)
        data.append(_digest(p.x, p.y, p.w, *offset))
        model.append(f"K={p.K} {p.shape.name} {p.background.name} nb={p.nb} "
                     f"priors={_digest(codes, params, logsp)}"
                     + ("" if p.likelihood == "gaussian" else f" {p.likelihood}")
                     + ("" if getattr(p, "start", None) is None
                        else f" start={_digest(p.start)}"))
    return {"format": FORMAT, "data": data, "model": model,
            "ladder": [_digest(b) for b in ladders],
            "settings": {k: np.asarray(settings[k]).item() if settings[k] is not None else None
                         for k in sorted(settings)},
            "versions": {k: versions[k] for k in sorted(versions)}}


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        if isinstance(a.get(k), dict) and isinstance(b.get(k), dict):
            out += [f"{k}.{d}" for d in _differences(a[k], b[k])]
        elif a.get(k) != b.get(k):
            out.append(f"{k} ({b.get(k)!r} in the checkpoint, {a.get(k)!r} now)"
                       if not isinstance(a.get(k), list) else k)
    return out


_GROWING = ("ne", "theta")  # filled sweep by sweep along axis 1


def _filled(cs: ChainState, field: str, burn_in: int, thin: int) -> int:
    sampled = max(0, cs.sweep - burn_in)
    return sampled if field == "ne" else sampled // thin


def save(path: str | os.PathLike, fp: dict[str, Any], saved: Saved, burn_in: int,
         thin: int) -> Path:
    """Write the checkpoint atomically; return its path."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    tasks = []
    for (j, c), cs in sorted(saved.states.items()):
        for f in STATE_ARRAYS:
            a = getattr(cs, f)
            if f in _GROWING:  # only the part filled so far (the rest is still zeros)
                a = a[:, :_filled(cs, f, burn_in, thin)]
            arrays[f"j{j}c{c}_{f}"] = a
        tasks.append([j, c, int(cs.sweep), float(cs.seconds), list(cs.ne.shape),
                      list(cs.theta.shape)])
    meta = {"fingerprint": fp, "tasks": tasks, "limits": [int(v) for v in saved.limits],
            "se": saved.se}
    arrays["meta"] = np.array(json.dumps(meta))
    tmp = _sibling(dest, "tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        _fsync_path(dest.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def load(path: str | os.PathLike, fp: dict[str, Any], restart: bool = False) -> Saved | None:
    """The checkpoint at ``path``, or None when there is none.

    A checkpoint written for another fit raises CheckpointMismatch naming what differs, or, with
    ``restart``, is logged and ignored (the fit starts afresh and overwrites it)."""
    p = Path(path)
    if not p.exists():
        return None
    try:
        with np.load(p, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
        fp_saved = meta["fingerprint"]
    except Exception as e:  # unreadable: never produced by save(), but say so clearly
        msg = (f"{p}: cannot read the checkpoint ({type(e).__name__}: {e}); delete it to start "
               f"the fit afresh")
        if restart:
            log.warning("%s; starting afresh", msg)
            return None
        raise CheckpointMismatch(msg) from None
    diff = _differences(fp, fp_saved)
    if diff:
        msg = (f"{p}: checkpoint written for a different fit (differs in: {', '.join(diff)}); "
               f"rerun with the settings and data it was written for, or delete it to start "
               f"afresh")
        if restart:
            log.warning("%s; starting afresh", msg)
            return None
        raise CheckpointMismatch(msg)
    states = {}
    for j, c, sweep, seconds, ne_shape, theta_shape in meta["tasks"]:
        # a checkpoint of a kernel without block moves has no blk: none (the same state)
        a = {f: arrays.get(f"j{j}c{c}_{f}", np.zeros((0, 0, 0))) if f == "blk" else
             arrays[f"j{j}c{c}_{f}"] for f in STATE_ARRAYS}
        for f, shape in (("ne", ne_shape), ("theta", theta_shape)):
            full = np.zeros(shape, dtype=a[f].dtype)
            full[:, :a[f].shape[1]] = a[f]
            a[f] = full
        states[(j, c)] = ChainState(**a, sweep=int(sweep), seconds=float(seconds))
    return Saved(states, [int(v) for v in meta["limits"]], list(meta["se"]))


def remove(path: str | os.PathLike | None) -> None:
    """Delete a checkpoint once the results it led to are safely written."""
    if path is not None:
        Path(path).unlink(missing_ok=True)
