"""The joint model of a group of data sets: free parameters, ties resolved, kernel arrays.

Pure model building and sampling (no I/O). Conventions (README "Bayesian integration"):

* Every data set keeps its own model (model.Problem at one K, with its likelihood and any
  fixed Shirley offset); the joint weights of a Gaussian data set are w_i = b_m * (sd-column
  weight), so its log likelihood is sum_i [log(w_i / 2pi) / 2 - w_i r_i^2 / 2]; a Poisson data
  set (raw counts, b_m = 1) contributes the deviance energy of likelihood.py. The tempered
  target is exp(-beta * sum_m E_m) phi and the ladder runs from beta = 0 to 1.
* Free parameters: every untied local parameter of every data set (its prior from that data
  set's config), then the declared offsets. A tied parameter is an affine function of one free
  parameter (plus at most one offset).
* Peak order: the centers of every data set are kept strictly increasing (ties count peaks in
  order of position). The beta = 0 rung samples the prior restricted to that ordered region,
  so stepping stone gives the evidence under the prior renormalised on it. For one data set
  with exchangeable peak priors that is K! phi on the ordered region: the same evidence as the
  unordered fit (an unnormalised ordered prior would instead add log K! to F). The separate
  fits (the standard unordered engine) therefore use the same convention as the joint fit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError
from ..models.likelihood import (VALID_DRAWS, poisson_constant, poisson_energy, valid_estimate,
                                 valid_mean)
from ..models.model import Problem
from ..models.priors import Prior, pack
from ..models.shapes import EXTRAS
from ..models.ties import Ref, Tie
from .chunked import run_many
from .joint_kernel import block_width, run_joint_chain
from .rng import seed_state
from .sampler import (FIRST_STEP_OVERLAP, LOG_STEP0, LOG_STEP_MAX, PRIOR_DRAWS, ChainBackend,
                      ChainOutput, ChainState, chain_output, geometric_ladder)
from .seeds import joint_chain_seqs, joint_prior_energy_seq, joint_valid_fraction_seq

# ties keep positive kinds positive ('=' or a factor) and bounded kinds in range ('=' only)
POSITIVE_KINDS = ("amplitude", "width", *(e.name for e in EXTRAS.values() if e.positive))
BOUNDED_KINDS = {e.name: f"[{e.bounds[0]:g}, {e.bounds[1]:g}]" for e in EXTRAS.values()
                 if e.bounds is not None}
INIT_TRIES = 2000  # prior draws tried per replica for an initial state with ordered centers
#: the largest block of the block moves: all free parameters together when there are at most
#: this many (a covariance from a quarter of burn-in is poor beyond), else per-unit blocks only
MAX_BLOCK = 40


@dataclass(frozen=True)
class JointModel:
    """The joint model for one K per data set.

    names: data set names (M,); problems: their Problems; b: (M,) noise precisions used (1 for
    a Poisson data set). x, y, w: (N,) concatenated axis, data minus fixed offsets (y_fit) and
    weights w = b_m * sd-column weights; seg (M+1,); pois: bool (N,) points of Poisson data
    sets.
    free_names, priors: (P,) free parameters; local slot q: loc = a*th[src] + c + g*th[off].
    """

    names: tuple[str, ...]
    problems: tuple[Problem, ...]
    b: np.ndarray
    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    seg: np.ndarray
    base: np.ndarray  # (M+1,) first local slot of each data set
    free_names: tuple[str, ...]
    priors: tuple[Prior, ...]
    src: np.ndarray
    a: np.ndarray
    c: np.ndarray
    off: np.ndarray
    g: np.ndarray
    center_free: tuple[np.ndarray, ...]  # per order group: free indices of its untied centers
    kernel_args: tuple
    pois: np.ndarray  # bool (N,): points of Poisson data sets
    groups: tuple[np.ndarray, ...] = ()  # per order group: local slots of its centers
    #: block moves (joint_kernel.py): CSR (blk_ptr, blk_par, blk_uptr, blk_units) of the
    #: parameter blocks and the units each changes; used when ``block_moves`` is set
    blocks: tuple = ()
    block_moves: bool = False

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def sum_log_w(self) -> float:
        return float(np.sum(np.log(self.w)))

    @property
    def poisson(self) -> tuple[bool, ...]:
        """Per data set: whether its likelihood is Poisson."""
        return tuple(p.likelihood == "poisson" for p in self.problems)

    @property
    def n_gauss(self) -> int:
        """Points of the Gaussian data sets (their normalisation enters F)."""
        return int(sum(p.n for p, q in zip(self.problems, self.poisson) if not q))

    @property
    def sum_log_w_gauss(self) -> float:
        """sum log w_i over the Gaussian data sets' points."""
        return float(np.sum(np.log(self.w[~self.pois])))

    @property
    def poisson_constant(self) -> float:
        """sum over Poisson data sets of C = sum_i [c_i log c_i - c_i - log c_i!]."""
        return float(sum(poisson_constant(p.y) for p, q in zip(self.problems, self.poisson)
                         if q))

    @property
    def Ks(self) -> tuple[int, ...]:
        """The counts that name this model (seeds, files): K per data set, or per component
        of a composite data set."""
        return tuple(k for p in self.problems for k in getattr(p, "Ks", (p.K,)))

    def locals(self, theta: np.ndarray) -> np.ndarray:
        """Free draws (..., P) -> local parameters (..., Q)."""
        theta = np.asarray(theta, dtype=float)
        loc = self.a * theta[..., self.src] + self.c
        has = self.off >= 0
        if has.any():
            loc[..., has] += self.g[has] * theta[..., self.off[has]]
        return loc

    def dataset_theta(self, loc: np.ndarray, m: int) -> np.ndarray:
        """Local parameters (..., Q) -> data set m's packed parameters (..., P_m)."""
        return loc[..., self.base[m]:self.base[m + 1]]

    def energy(self, theta: np.ndarray) -> np.ndarray:
        """The kernel's energy for free draws (..., P) -> (...): sum_i w_i r_i^2 / 2 over the
        Gaussian data sets plus the Poisson deviance energy (likelihood.py; +inf where a
        Poisson mean is invalid) of the others."""
        loc = self.locals(theta)
        out = 0.0
        for m, prob in enumerate(self.problems):
            s0, s1 = self.seg[m], self.seg[m + 1]
            f = prob.curve(self.dataset_theta(loc, m))
            if prob.likelihood == "poisson":
                out = out + poisson_energy(f, prob.y)
            else:
                out = out + 0.5 * np.sum(self.w[s0:s1] * (prob.y - f) ** 2, axis=-1)
        return out

    def valid(self, theta: np.ndarray) -> np.ndarray:
        """Whether every Poisson data set's mean is a valid Poisson mean, draws (..., P)."""
        theta = np.asarray(theta, dtype=float)
        ok = np.ones(theta.shape[:-1], dtype=bool)
        if not any(self.poisson):
            return ok
        loc = self.locals(theta)
        for m, prob in enumerate(self.problems):
            if prob.likelihood == "poisson":
                ok &= valid_mean(prob.curve(self.dataset_theta(loc, m)), prob.y)
        return ok

    def ordered(self, theta: np.ndarray) -> np.ndarray:
        """Whether every order group's centers are strictly increasing, for draws (..., P)."""
        loc = self.locals(theta)
        ok = np.ones(loc.shape[:-1], dtype=bool)
        for slots in self.groups:
            if slots.size > 1:
                ok &= np.all(np.diff(loc[..., slots], axis=-1) > 0, axis=-1)
        return ok


def _units(p) -> list[tuple[int, int, int, int]]:
    """A data set's peak units: (local offset, parameter count, shape code, order group)."""
    if hasattr(p, "units"):  # composite.CompositeProblem: its components
        return p.units()
    return [(k * p.stride, p.stride, p.shape.code, 0) for k in range(p.K)]


def _bg_offset(p) -> int:
    """Local offset of a data set's background coefficients."""
    return p.bases[-1] if hasattr(p, "bases") else p.K * p.stride


def _dataset_of(name: str, names: list[str], tie: Tie, where: str) -> tuple[int, str | None]:
    """(data set index, component or None) of a reference's data set part: a data set name,
    ``<data set>.<component>`` of a composite data set, or in a single model (names [""]) a
    component name."""
    if names == [""]:
        return 0, name
    if name in names:
        return names.index(name), None
    for m in sorted(range(len(names)), key=lambda i: -len(names[i])):
        if name.startswith(names[m] + "."):
            return m, name[len(names[m]) + 1:]
    raise ConfigError(f"{where}: tie {tie.text!r}: data set {name!r} is not in the "
                      f"group (datasets: {', '.join(names)}); add it under datasets or fix "
                      f"the name")


def _slot(ref: Ref, names: list[str], problems: list[Problem], base: list[int], tie: Tie,
          where: str) -> int:
    m, comp = _dataset_of(ref.dataset, names, tie, where)
    prob = problems[m]
    if hasattr(prob, "slot"):  # a composite data set: its components
        if comp is None and ref.kind != "background" and len(prob.components) == 1:
            comp = prob.components[0].name  # one component (a routed one-shape model): implied
        if comp is None and ref.kind != "background":
            raise ConfigError(f"{where}: tie {tie.text!r}: data set {ref.dataset} has "
                              f"components; name one: {ref.dataset}.<component>.{ref.kind}"
                              f"[{ref.index}]")
        return base[m] + prob.slot(comp, ref.kind, ref.index, tie.text, where)
    if comp is not None:
        raise ConfigError(f"{where}: tie {tie.text!r}: data set {names[m]} has no components "
                          f"(one shape); write {names[m]}.{ref.kind}[{ref.index}]")
    if ref.kind == "background":
        if ref.index >= prob.nb:
            raise ConfigError(f"{where}: tie {tie.text!r}: {ref} does not exist: data set "
                              f"{ref.dataset} has {prob.nb} background coefficient(s) "
                              f"({prob.background.name})")
        return base[m] + prob.K * prob.stride + ref.index
    if ref.kind not in prob.peak_vars:
        raise ConfigError(f"{where}: tie {tie.text!r}: {ref} does not exist: the "
                          f"{prob.shape.name} shape of {ref.dataset} has parameters "
                          f"{', '.join(prob.peak_vars)}")
    if ref.index >= prob.K:
        raise ConfigError(f"{where}: tie {tie.text!r}: peak index {ref.index} is beyond K = "
                          f"{prob.K} of data set {ref.dataset} (indices count from 0 in order "
                          f"of position)")
    return base[m] + ref.index * prob.stride + prob.peak_vars.index(ref.kind)


def _check_form(t: Tie, where: str) -> None:
    if t.left.kind != t.right.kind:
        raise ConfigError(f"{where}: tie {t.text!r}: ties a {t.left.kind} to a {t.right.kind}; "
                          f"tie parameters of the same kind")
    if t.left.kind in POSITIVE_KINDS and (t.const != 0 or t.offset or t.scale <= 0):
        raise ConfigError(f"{where}: tie {t.text!r}: a {t.left.kind} must stay positive, so "
                          f"only '=' or a positive factor ('0.75 * ...') is allowed for it")
    if t.left.kind in BOUNDED_KINDS and (t.const != 0 or t.offset or t.scale != 1):
        raise ConfigError(f"{where}: tie {t.text!r}: {t.left.kind} lives in "
                          f"{BOUNDED_KINDS[t.left.kind]}; only '=' is allowed")


def _check_positive_coef(t: Tie, names: list[str], problems: list[Problem], where: str) -> None:
    """A background coefficient that must stay positive (Background.positive: tougaard's B and
    C) takes only '=' or a positive factor of another such coefficient."""
    if t.left.kind != "background":
        return

    def positive(ref: Ref) -> bool:
        return ref.index in problems[_dataset_of(ref.dataset, names, t, where)[0]
                                     ].background.positive

    left, right = positive(t.left), positive(t.right)
    if left and (not right or t.const != 0 or t.offset or t.scale <= 0):
        raise ConfigError(f"{where}: tie {t.text!r}: {t.left} must stay positive, so only '=' "
                          f"or a positive factor ('0.75 * ...') of another positive coefficient "
                          f"(e.g. a tougaard_B or tougaard_C) is allowed for it")
    if right and not left:
        raise ConfigError(f"{where}: tie {t.text!r}: {t.right} is a positive coefficient "
                          f"(sampled in log space) and {t.left} is not; tie coefficients of "
                          f"the same meaning")


def build_joint(names: list[str], problems: list[Problem], b: list[float], ties: list[Tie],
                offsets: dict[str, Prior], where: str) -> JointModel:
    """Resolve ``ties`` over ``problems`` (one per data set) into a JointModel.

    ``where`` names the GROUP.yaml for errors (unknown data set, missing parameter, index
    beyond K, a parameter on the left twice, a cycle, an undeclared or unused offset).
    """
    base = [0]
    for p in problems:
        base.append(base[-1] + len(p.priors))
    Q = base[-1]
    tied: dict[int, tuple[int, Tie]] = {}
    for t in ties:
        _check_form(t, where)
        _check_positive_coef(t, names, problems, where)
        ql = _slot(t.left, names, problems, base, t, where)
        qr = _slot(t.right, names, problems, base, t, where)
        if ql in tied:
            raise ConfigError(f"{where}: {t.left} is on the left of two ties ({tied[ql][1].text!r} "
                              f"and {t.text!r}); a parameter can be tied once")
        if t.offset is not None and t.offset not in offsets:
            raise ConfigError(f"{where}: tie {t.text!r}: offset {t.offset!r} has no prior; "
                              f"declare it under offsets, e.g. offsets: {{{t.offset}: "
                              f"{{dist: normal, mean: 0, sd: 0.1}}}}")
        if ql == qr:
            raise ConfigError(f"{where}: tie {t.text!r}: ties {t.left} to itself (a cycle)")
        tied[ql] = (qr, t)
    # free parameters: untied local slots in order, then offsets
    free_of: dict[int, int] = {}
    free_names, priors = [], []
    for m, p in enumerate(problems):
        for j in range(len(p.priors)):
            q = base[m] + j
            if q not in tied:
                free_of[q] = len(free_names)
                free_names.append(f"{names[m]}.{p.param_names[j]}" if names[m] else
                                  p.param_names[j])
                priors.append(p.priors[j])
    used = {t.offset for t in ties if t.offset}
    unused = [o for o in offsets if o not in used]
    if unused:
        raise ConfigError(f"{where}: offsets: {', '.join(unused)} declared but used by no tie; "
                          f"remove it or use it in a tie")
    off_idx = {}
    for o, pr in offsets.items():
        off_idx[o] = len(free_names)
        free_names.append(o)
        priors.append(pr)
    src = np.zeros(Q, dtype=np.int64)
    a = np.ones(Q)
    c = np.zeros(Q)
    off = np.full(Q, -1, dtype=np.int64)
    g = np.zeros(Q)
    for q in range(Q):
        sc, cc, oo, gg = 1.0, 0.0, -1, 0.0
        cur, seen = q, [q]
        while cur in tied:
            nxt, t = tied[cur]
            # cur = t.scale * nxt + t.const + t.sign * offset; compose into q's expression
            if t.offset is not None:
                if oo >= 0:
                    raise ConfigError(f"{where}: tie {t.text!r}: the chain of ties from "
                                      f"{tied[q][1].left} carries two offsets; tie it to the "
                                      f"root parameter with one offset")
                oo, gg = off_idx[t.offset], sc * t.offset_sign
            cc += sc * t.const
            sc *= t.scale
            if nxt in seen:
                chain = " -> ".join(tied[s][1].text for s in seen if s in tied)
                raise ConfigError(f"{where}: ties form a cycle ({chain}); one parameter of the "
                                  f"cycle must stay free")
            seen.append(nxt)
            cur = nxt
        src[q], a[q], c[q], off[q], g[q] = free_of[cur], sc, cc, oo, gg
    return _assemble(names, problems, np.asarray(b, dtype=float), base, free_names, priors,
                     src, a, c, off, g, free_of, tied)


def _assemble(names, problems, b, base, free_names, priors, src, a, c, off, g, free_of,
              tied) -> JointModel:
    M = len(problems)
    seg = np.zeros(M + 1, dtype=np.int64)
    for m, p in enumerate(problems):
        seg[m + 1] = seg[m] + p.n
    x = np.concatenate([p.x for p in problems])
    y = np.concatenate([p.y_fit for p in problems])
    w = np.concatenate([bm * p.w for bm, p in zip(b, problems)])
    pois = np.concatenate([np.full(p.n, p.likelihood == "poisson") for p in problems])
    counts = np.concatenate([p.y if p.likelihood == "poisson" else np.zeros(p.n)
                             for p in problems])
    # the kernel's axis row and measured-data row (read by a background computed from the
    # data, tougaard, on its data set; joint_kernel.py)
    xy = np.ascontiguousarray(np.stack([x, np.concatenate([p.y for p in problems])]))
    unit_ds, unit_base, unit_npar, unit_isbg, unit_shape, unit_grp = [], [], [], [], [], []
    groups: list[list[int]] = []  # center slots of each order group, in peak order
    slot_unit = np.zeros(base[-1], dtype=np.int64)
    for m, p in enumerate(problems):
        first = len(groups)
        for off0, npar, code, grp in _units(p):
            while len(groups) <= first + grp:
                groups.append([])
            b0 = base[m] + off0
            slot_unit[b0:b0 + npar] = len(unit_ds)
            unit_ds.append(m), unit_base.append(b0), unit_npar.append(npar)
            unit_isbg.append(False), unit_shape.append(code), unit_grp.append(first + grp)
            groups[first + grp].append(b0 + 1)
        if len(groups) == first:
            groups.append([])  # a data set without peaks: an empty group (as before)
        if p.nb:
            b0 = base[m] + _bg_offset(p)
            slot_unit[b0:b0 + p.nb] = len(unit_ds)
            unit_ds.append(m), unit_base.append(b0), unit_npar.append(p.nb)
            unit_isbg.append(True), unit_shape.append(-1), unit_grp.append(-1)
    # an active Shirley scale (the last local slot of its data set) changes every peak unit
    # of that data set: unit_shir[u] is that slot (-1: none), read by _unit_profile
    shir_slot = {m: base[m] + _bg_offset(p) + p.nb for m, p in enumerate(problems)
                 if getattr(p, "shirley_dir", 0)}
    unit_shir = np.array([shir_slot.get(m, -1) if not bg else -1
                          for m, bg in zip(unit_ds, unit_isbg)], dtype=np.int64)
    P = len(priors)
    deps: list[set[int]] = [set() for _ in range(P)]
    for q in range(base[-1]):
        users = [int(slot_unit[q])]
        if q in shir_slot.values():
            users = [u for u in range(len(unit_ds)) if unit_shir[u] == q]
        for uu in users:
            deps[src[q]].add(uu)
            if off[q] >= 0:
                deps[off[q]].add(uu)
    dep_ptr = np.zeros(P + 1, dtype=np.int64)
    for p in range(P):
        dep_ptr[p + 1] = dep_ptr[p] + len(deps[p])
    dep_units = np.array([u for d in deps for u in sorted(d)], dtype=np.int64)
    gptr = np.cumsum([0] + [len(s) for s in groups]).astype(np.int64)
    gslot = np.array([q for s in groups for q in s], dtype=np.int64)
    center_free = tuple(np.array([free_of[q] for q in s if q not in tied], dtype=np.int64)
                        for s in groups)
    hs = np.array([p.h for p in problems])
    moving = [p for p in range(P) if not priors[p].fixed and deps[p]]
    blocks = _blocks([[p for p in moving if uu in deps[p]] for uu in range(len(unit_ds))],
                     moving, deps)
    kernel_args = (xy, hs, y, w, seg, np.array(unit_shape, dtype=np.int64),
                   np.array([p.background.code for p in problems], dtype=np.int64),
                   np.array(unit_ds, dtype=np.int64), np.array(unit_base, dtype=np.int64),
                   np.array(unit_npar, dtype=np.int64), np.array(unit_isbg, dtype=np.bool_),
                   src, a, c, off, g, dep_ptr, dep_units, np.array(unit_grp, dtype=np.int64),
                   gptr, gslot, pois, counts, unit_shir,
                   np.array([getattr(p, "shirley_dir", 0) for p in problems], dtype=np.int64),
                   np.array(sorted(shir_slot.values()), dtype=np.int64))
    return JointModel(tuple(names), tuple(problems), b, x, y, w, seg, np.array(base), tuple(
        free_names), tuple(priors), src, a, c, off, g, center_free, kernel_args, pois,
        tuple(np.array(s, dtype=np.int64) for s in groups), blocks)


def _blocks(per_unit: list[list[int]], moving: list[int], deps: list[set[int]]) -> tuple:
    """The parameter blocks of the block moves as CSR arrays (blk_ptr, blk_par, blk_uptr,
    blk_units): every unit's moving free parameters (amplitude, center, width, extras or the
    background coefficients, with what they are tied to and the Shirley scale), distinct sets of
    at least two; then all moving parameters together when there are at most MAX_BLOCK of them
    (overlapping lines and the background trade amplitude against position and level). Each
    block lists the units that any of its parameters changes."""
    sets: list[tuple[int, ...]] = []
    for ps in per_unit:
        t = tuple(sorted(ps))
        if len(t) >= 2 and t not in sets:
            sets.append(t)
    if 2 <= len(moving) <= MAX_BLOCK and tuple(moving) not in sets:
        sets.append(tuple(moving))
    ptr, uptr, par, units = [0], [0], [], []
    for t in sets:
        par.extend(t)
        ptr.append(len(par))
        us = sorted(set().union(*(deps[p] for p in t)))
        units.extend(us)
        uptr.append(len(units))
    return (np.array(ptr, dtype=np.int64), np.array(par, dtype=np.int64),
            np.array(uptr, dtype=np.int64), np.array(units, dtype=np.int64))


def block_labels(model: JointModel) -> list[str]:
    """A short name per block: ``all``, or the lines and background it moves
    (``bulk[0]+shirley``; one-shape models: ``peak[1]``)."""
    ptr, par = model.blocks[0], model.blocks[1]
    moving = [p for p, pr in enumerate(model.priors) if not pr.fixed]
    out = []
    for b in range(ptr.size - 1):
        ps = [int(p) for p in par[ptr[b]:ptr[b + 1]]]
        if len(ps) == len(moving) and len(ptr) > 2:
            out.append("all")
            continue
        parts: list[str] = []
        for p in ps:
            name = model.free_names[p]
            head, _, rest = name.rpartition(".")
            kind, _, idx = rest.partition("[")
            part = ("background" if kind == "background" else kind if not idx else
                    f"{head or 'peak'}[{idx}")
            if part not in parts:
                parts.append(part)
        out.append("+".join(parts))
    return out


def with_block_moves(model: JointModel, on: bool = True) -> JointModel:
    """The model sampled with (or without) block moves (sampler.moves: block)."""
    return replace(model, block_moves=bool(on))


def prior_energy_sd(model: JointModel, seed: int, draws: int = PRIOR_DRAWS) -> float:
    """Standard deviation of the energy over ordered (and valid) prior draws: sizes the ladder
    bottom."""
    rng = np.random.default_rng(joint_prior_energy_seq(seed))
    theta = _prior_draws(model, rng, draws)
    return float(np.std(model.energy(theta)))


def _prior_draws(model: JointModel, rng: np.random.Generator, count: int,
                 valid: bool = True) -> np.ndarray:
    """``count`` prior draws (count, P) with every data set's centers ordered and, with
    ``valid``, every Poisson data set's mean valid (the region the sampler lives in).

    Untied centers are sorted within their data set (only a starting point for burn-in; the
    ordered region is what matters), remaining violations (through ties) are redrawn.
    """
    out = np.empty((count, len(model.priors)))
    filled = 0
    for _ in range(INIT_TRIES):
        th = np.stack([p.sample(rng, count) for p in model.priors], axis=-1)
        for idx in model.center_free:
            if idx.size > 1:
                th[:, idx] = np.sort(th[:, idx], axis=-1)
        ok = model.ordered(th)
        if valid:
            ok &= model.valid(th)
        good = th[ok]
        take = min(count - filled, good.shape[0])
        out[filled:filled + take] = good[:take]
        filled += take
        if filled == count:
            return out
    if any(model.poisson):
        raise ConfigError("cannot draw a prior state with ordered peak centers and a positive "
                          "mean for every Poisson data set; give the Poisson data sets' "
                          "backgrounds a prior with positive support, or check the ties")
    raise ConfigError("cannot draw a prior state in which every data set's peak centers are "
                      "ordered; the ties contradict the peak order (indices count peaks in order "
                      "of position)")


def valid_fraction(model: JointModel, seed: int, draws: int = VALID_DRAWS) -> tuple[float, float]:
    """P_valid, the (ordered) prior's probability that every Poisson data set's mean is valid,
    and its relative SE (1 and 0 without Poisson data sets); see likelihood.py. The sampler
    lives in the valid region, so F gains -log P_valid. Refused below MIN_VALID."""
    if not any(model.poisson):
        return 1.0, 0.0
    rng = np.random.default_rng(joint_valid_fraction_seq(seed))
    ok = model.valid(_prior_draws(model, rng, draws, valid=False))
    return valid_estimate(ok, f"the joint prior draws (K = {'-'.join(map(str, model.Ks))})",
                          "give the Poisson data sets' backgrounds a prior with positive "
                          "support, e.g. {dist: uniform, low: 0, high: <max count>}")


def joint_ladder(model: JointModel, replicas: int, ratio: float, extend: bool,
                 seed: int) -> np.ndarray:
    """Geometric ladder topped at beta = 1 (the b_m are in the weights), extended at the bottom
    as fit.ladder_for does when the priors are wide."""
    L = replicas
    if extend:
        spread = prior_energy_sd(model, seed)
        if spread > 0:
            need = 2 + int(np.ceil(np.log(spread / FIRST_STEP_OVERLAP) / np.log(ratio)))
            L = max(L, need)
    return geometric_ladder(1.0, L, ratio)


def _step_limits(model: JointModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Packed priors (codes, params, logsp) and the maximal proposal sd (P,): 0 for a fixed
    prior (never proposed), LOG_STEP_MAX in log space, else the prior's scale."""
    codes, params, logsp = pack(list(model.priors))
    step_max = np.array([0.0 if pr.fixed else LOG_STEP_MAX if logsp[p] else pr.scale()
                         for p, pr in enumerate(model.priors)], dtype=float)
    return codes, params, logsp, step_max


def start_joint_chain(model: JointModel, betas: np.ndarray, sweeps: int, thin: int, seed: int,
                      chain: int) -> ChainState:
    """The state of joint chain ``chain`` before its first sweep, seeded from
    SeedSequence(seed, spawn_key=(2**20, *Ks, chain)) so it differs from every separate fit's
    stream and is independent of threads. The same ChainState as a single fit's chain
    (sampler.start_chain), so the chunked driver, checkpoints and target_se serve both."""
    init_seq, kern_seq = joint_chain_seqs(seed, model.Ks, chain)
    rng = np.random.default_rng(init_seq)
    L = betas.shape[0]
    _, _, logsp, step_max = _step_limits(model)
    P = len(model.priors)
    u0 = _prior_draws(model, rng, L)
    step = np.empty((L, P))
    for p, prior in enumerate(model.priors):
        if logsp[p]:
            u0[:, p] = np.log(np.maximum(u0[:, p], 1e-300))
            step[:, p] = LOG_STEP0
        else:
            step[:, p] = 0.1 * step_max[p]
    return ChainState(
        u=u0, step=step, rng=seed_state(kern_seq), who=np.arange(L, dtype=np.int64),
        acc_win=np.zeros((L, P), dtype=np.int64), ne=np.zeros((L, sweeps)),
        theta=np.zeros((L, sweeps // thin, P)), acc=np.zeros((L, P), dtype=np.int64),
        swap=np.zeros(max(L - 1, 0), dtype=np.int64), blk=_block_state(model, L))


def _n_blocks(model: JointModel) -> int:
    """B, the number of blocks a chain of ``model`` moves (0 without block moves)."""
    return model.blocks[0].size - 1 if model.block_moves else 0


def _block_state(model: JointModel, L: int) -> np.ndarray:
    """The block moves' initial state (L, B, W) (B = 0 without block moves)."""
    B = _n_blocks(model)
    D = int(np.max(np.diff(model.blocks[0]))) if B else 1
    return np.zeros((L, B, block_width(D)))


def advance_joint(model: JointModel, betas: np.ndarray, burn_in: int, thin: int,
                  cs: ChainState, stop: int, pause: np.ndarray | None = None) -> ChainState:
    """Run sweeps [cs.sweep, stop) of a joint chain in place (as sampler.advance: a pause
    stops at the next RECOMPUTE_EVERY multiple; a continued chain is bit for bit the unsplit
    one)."""
    codes, params, logsp, step_max = _step_limits(model)
    if pause is None:
        pause = np.zeros(1, dtype=np.int64)
    t0 = time.perf_counter()
    if cs.blk.shape[:2] != (betas.shape[0], _n_blocks(model)):
        raise ValueError("the chain state's block moves do not match the model's "
                         "(block_moves set after start_joint_chain)")
    cs.sweep = int(run_joint_chain(
        *model.kernel_args, *model.blocks, codes, params, logsp, betas, cs.u, cs.step,
        step_max, burn_in, cs.ne.shape[1], thin, cs.rng, cs.sweep, stop, cs.who, cs.acc_win,
        cs.blk, pause, cs.ne, cs.theta, cs.acc, cs.swap))
    cs.seconds += time.perf_counter() - t0
    return cs


JOINT = ChainBackend(start_joint_chain, advance_joint)  # the joint Numba kernel


def run_joint_one(model: JointModel, betas: np.ndarray, burn_in: int, sweeps: int, thin: int,
                  seed: int, chain: int) -> ChainOutput:
    """One chain of the joint model (start_joint_chain, then every sweep)."""
    cs = start_joint_chain(model, betas, sweeps, thin, seed, chain)
    advance_joint(model, betas, burn_in, thin, cs, burn_in + sweeps)
    return chain_output(cs, sweeps, thin)


def run_joint_many(model: JointModel, betas: np.ndarray, burn_in: int, sweeps: int, thin: int,
                   chains: int, seed: int, threads: int | None = None) -> list[ChainOutput]:
    """``chains`` independent chains of the joint model, through the one driver
    (chunked.run_many with the JOINT backend; the kernel drops the GIL)."""
    return run_many([(model, betas)], burn_in, sweeps, thin, chains, seed, threads,
                    backend=JOINT)[0]
