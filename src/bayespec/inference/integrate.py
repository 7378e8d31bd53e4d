"""Bayesian integration of a group of data sets: GROUP.yaml, separate and joint fits, verdict.

GROUP.yaml (paths relative to the file)::

    datasets:
      A: {data: a.csv, model: {shape: gaussian, K: [2], background: {kind: linear}},
          priors: {...}, noise: {estimate: true}}
      B: {data: b.csv, model: {...}, priors: {...}, noise: {sd: 0.05}}
      C: {data: series.nxs, read: {index: 3}, ...}   # reader options, as manifest columns
    ties: ["B.center[0] = A.center[0] + shift", "B.width[0] = A.width[0]"]
    offsets: {shift: {dist: normal, mean: 0, sd: 0.1}}
    sampler: {...}                       # FIT.yaml sampler keys, shared by every fit

Each data set's model/priors/noise (and, for a composite model, ties/offsets) blocks are parsed
by config.parse_fit_config. Every data set is first fitted on its own (every K in its model.K)
with its own noise setting; its noise precision b_m (estimated: the free-energy minimum; or
fixed) then weights it in the joint fit of every combination of K values. The verdict compares
the best joint combination with the sum of the separate free energies, each data set at its
own best K.

Composite data sets (``model.components``): the data set's "K values" are its candidates (one
per combination of its components' counts, labelled ``1-2``), its separate fits those of
`bayespec fit` (inference.composite.fit_composite). Group ties address its parameters as
``A.bulk.center[0]``; its own in-model ties (``surface.width[0] = bulk.width[0]``, FIT.yaml
``ties``/``offsets`` in its block) join the joint model prefixed with its name
(``A.surface.width[0] = A.bulk.width[0]``), their offsets renamed ``A__shift``
(:func:`offset_name`). A tie whose left side does not exist in a combination (a component
with fewer peaks there) does not apply to it; one that applies to no combination is an error.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from ..config import (FitConfig, SamplerConfig, _check_keys, _section, parse_fit_config,
                      read_yaml)
from ..errors import ConfigError, PriorError
from ..ids import ID_PATTERN, is_entry
from ..io.readers import OPTIONS
from ..io.spectrum import Spectrum, describe_source, read_spectrum
from ..models.model import build_problem
from ..models.priors import Prior, parse_prior
from ..models.composite import CompositeProblem, build_composite
from ..models.ties import Ref, Tie, parse_tie
from ..sampling.joint import (JointModel, _dataset_of, build_joint, joint_ladder, valid_fraction,
                              with_block_moves)
from ..sampling.seeds import dataset_seed
from .checks import convergence_of, stop_refusal, target_se_notes
from .composite import candidates, fit_composite
from .fit import (JOINT_NUMBERS, FitSettings, adapt_ladder, block_stats, fit_problems, fixed_nan,
                  numbers_of, package_versions)
from .freeenergy import free_energy, model_probabilities, stepping_stone_se, wbic
from .result import KFit

_TOP = ("datasets", "ties", "offsets", "sampler")
_DS_KEYS = ("data", "read", "model", "priors", "noise", "ties", "offsets")
_FIT_KEYS = ("model", "priors", "noise")
_MODEL_TIE_KEYS = ("ties", "offsets")  # a composite data set's in-model ties (FIT.yaml keys)
_READ_KEYS = ("format", *dict.fromkeys(o for opts in OPTIONS.values() for o in opts))
Z_VERDICT = 3.0  # |F_joint - F_separate| beyond this many SE: a clear verdict


@dataclass(frozen=True)
class DataSetConfig:
    """One data set of a group: its data file (or in-memory spectrum) and FIT.yaml blocks."""

    name: str
    data: Path | None
    fit: FitConfig
    spectrum: Spectrum | None = None
    #: reader options of ``data``: ``format`` and that format's options (e.g. ``index`` of a
    #: NeXus stack row; bayespec.io.readers.OPTIONS), as the manifest columns of a campaign
    read: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupConfig:
    """A validated GROUP.yaml."""

    datasets: tuple[DataSetConfig, ...]
    ties: tuple[Tie, ...]
    offsets: dict[str, Prior]
    sampler: SamplerConfig
    raw: dict
    source: str


def parse_group_config(d: Any, source: str = "<group>", base: str | Path = ".",
                       spectra: Mapping[str, Spectrum] | None = None) -> GroupConfig:
    """Validate a GROUP.yaml mapping. ``spectra`` may supply data sets' data in memory
    (then their ``data`` key may be omitted); paths are relative to ``base``."""
    if not isinstance(d, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping with keys "
                          f"{', '.join(_TOP)}")
    _check_keys(d, "", _TOP, source)
    dsec = _section(d.get("datasets"), "datasets", source)
    if len(dsec) < 2:
        raise ConfigError(f"{source}: datasets: a group needs at least two data sets, got "
                          f"{len(dsec)}")
    samp = parse_fit_config({"sampler": d.get("sampler")}, source)
    sets = []
    for name, blk in dsec.items():
        key = f"datasets.{name}"
        if not is_entry(name):
            raise ConfigError(f"{source}: {key}: a data set name must be a spectrum id "
                              f"(letters, digits, '_', '.' and '-', starting with a letter or "
                              f"digit: {ID_PATTERN}) or a stack row id@i; got {name!r}")
        blk = _section(blk, key, source)
        _check_keys(blk, key, _DS_KEYS, source)
        if "sampler" in blk:
            raise ConfigError(f"{source}: {key}.sampler: give the sampler once, at the top level")
        fit = parse_fit_config({k: blk.get(k) for k in _FIT_KEYS} |
                               {k: blk[k] for k in _MODEL_TIE_KEYS if k in blk} |
                               {"sampler": d.get("sampler")}, f"{source}: {key}")
        data = blk.get("data")
        spec = (spectra or {}).get(name)
        if spec is None:
            if not isinstance(data, str) or not data:
                raise ConfigError(f"{source}: {key}.data: give the data file (CSV x, y[, sd]; "
                                  f"relative to {source})")
            path = Path(data) if Path(data).is_absolute() else Path(base) / data
        else:
            path = None
        read = _section(blk.get("read"), f"{key}.read", source)
        _check_keys(read, f"{key}.read", _READ_KEYS, source)
        sets.append(DataSetConfig(name, path, fit, spec, dict(read)))
    traw = d.get("ties") or []
    if not isinstance(traw, list):
        raise ConfigError(f"{source}: ties: must be a list of strings like "
                          f"'B.center[0] = A.center[0]'")
    ties = tuple(parse_tie(t, f"{source}: ties[{i}]") for i, t in enumerate(traw))
    offsets = {}
    for o, spec in _section(d.get("offsets"), "offsets", source).items():
        if not isinstance(o, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", o):
            raise ConfigError(f"{source}: offsets.{o}: an offset name must be an identifier")
        try:
            offsets[o] = parse_prior(spec, f"offsets.{o}")
        except PriorError as e:
            raise PriorError(f"{source}: {e}") from e
    raw = {"datasets": {s.name: {"data": str(s.data) if s.data else None,
                                 **({"read": dict(s.read)} if s.read else {}), **{
        k: s.fit.raw[k] for k in _FIT_KEYS + _MODEL_TIE_KEYS if k in s.fit.raw}}
        for s in sets},
        "ties": [t.text for t in ties], "offsets": {o: dict(p.spec) for o, p in offsets.items()},
        "sampler": samp.raw["sampler"]}
    cfg = GroupConfig(tuple(sets), ties, offsets, samp.sampler, raw, source)
    validate_ties(cfg)
    return cfg


def load_group_config(path: str | Path) -> GroupConfig:
    """Read and validate a GROUP.yaml file."""
    p = Path(path)
    d = read_yaml(p, "group file")
    return parse_group_config(d, str(p), p.parent)


def _spectrum(ds: DataSetConfig) -> Spectrum:
    spec = ds.spectrum if ds.spectrum is not None else read_spectrum(ds.data, ds.read)
    if spec.sd is not None and not ds.fit.noise.estimate:
        raise ConfigError(f"{ds.fit.source}: {ds.data} has an sd column and noise.sd is set; "
                          f"remove noise.sd to use the column")
    return spec


def _problems(ds: DataSetConfig, spec: Spectrum) -> list:
    """One Problem per K of data set ``ds``, built as `bayespec fit` builds them (likelihood
    and Shirley offset included), so its separate fits are the fits of `bayespec fit`; for a
    composite data set one composite.Candidate per candidate (runner.composite_candidates:
    its own ties and offsets resolved, errors naming ``datasets.<name>``)."""
    m = ds.fit.model
    source = describe_source(ds.data, ds.read) if ds.data else ds.name
    if is_composite(ds):
        from .runner import composite_candidates

        return composite_candidates(spec, ds.fit, source)
    return [build_problem(spec.x, spec.y, spec.sd, m.shape, K, m.background, m.degree,
                          ds.fit.priors,
                          source=describe_source(ds.data, ds.read) if ds.data else ds.name,
                          likelihood=m.likelihood, shirley=m.shirley)
            for K in m.K]


def is_composite(ds: DataSetConfig) -> bool:
    """Whether data set ``ds`` has a composite model (model.components)."""
    return bool(ds.fit.model.components)


def candidate_label(p: Any) -> str:
    """A data set's K value as tables show it: K, or a composite candidate's counts ``1-2``."""
    return p.label if hasattr(p, "Ks") else str(p.K)


def offset_name(dataset: str, offset: str) -> str:
    """The joint model's name of offset ``offset`` of data set ``dataset``'s in-model ties:
    ``A__shift`` (data set names may hold '.', '-', '@', which become '_', so that the name is
    an identifier and cannot be taken for a parameter ``A.kind[i]``)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", dataset) + "__" + offset


def _ref_text(r: Ref) -> str:
    return f"{r.dataset}.{r.kind}[{r.index}]"


def _tie_text(t: Tie) -> str:
    """A tie written back in the grammar (models.ties) from its parts."""
    left, right = _ref_text(t.left), _ref_text(t.right)
    if t.offset is not None:
        return f"{left} = {right} {'+' if t.offset_sign > 0 else '-'} {t.offset}"
    if t.const != 0:
        return f"{left} = {right} {'+' if t.const > 0 else '-'} {abs(t.const)!r}"
    if t.scale != 1:
        return f"{left} = {t.scale!r} * {right}"
    return f"{left} = {right}"


def dataset_ties(ds: DataSetConfig) -> tuple[list[Tie], dict[str, Prior]]:
    """Data set ``ds``'s in-model ties and offsets as the joint model reads them: refs prefixed
    with its name (``surface.width[0] = bulk.width[0]`` of data set A is
    ``A.surface.width[0] = A.bulk.width[0]``), offsets renamed by :func:`offset_name`."""
    if not is_composite(ds):
        return [], {}
    ren = {o: offset_name(ds.name, o) for o in ds.fit.offsets}
    ties = []
    for t in ds.fit.ties:
        nt = Tie(Ref(f"{ds.name}.{t.left.dataset}", t.left.kind, t.left.index),
                 Ref(f"{ds.name}.{t.right.dataset}", t.right.kind, t.right.index), t.scale,
                 t.const, None if t.offset is None else ren.get(t.offset, t.offset),
                 t.offset_sign, "")
        ties.append(Tie(nt.left, nt.right, nt.scale, nt.const, nt.offset, nt.offset_sign,
                        _tie_text(nt)))
    return ties, {ren[o]: p for o, p in ds.fit.offsets.items()}


def group_ties(cfg: GroupConfig) -> tuple[list[Tie], dict[str, Prior]]:
    """Every tie and offset of the joint models: the group's, then each composite data set's
    own (:func:`dataset_ties`). For a group of one-shape data sets: the group's, unchanged."""
    ties, offsets = list(cfg.ties), dict(cfg.offsets)
    owner = {o: "offsets" for o in offsets}
    for s in cfg.datasets:
        t, o = dataset_ties(s)
        for name in o:
            if name in owner:
                raise ConfigError(f"{cfg.source}: datasets.{s.name}.offsets: its offset "
                                  f"{name[name.index('__') + 2:]!r} is named {name!r} in the "
                                  f"joint model, which {owner[name]} already declares; rename "
                                  f"one of them")
            owner[name] = f"datasets.{s.name}.offsets"
        ties += t
        offsets |= o
    return ties, offsets


def _applies(t: Tie, names: list[str], probs: list, where: str) -> bool:
    """Whether tie ``t`` applies to a combination: its left side exists there (a component of
    a composite data set may have fewer peaks, e.g. 0, in some candidates). A component name
    that a composite data set lacks is an error naming both; other errors are build_joint's."""
    for ref in (t.left, t.right):
        try:
            m, comp = _dataset_of(ref.dataset, names, t, where)
        except ConfigError:
            return True  # build_joint reports it (the messages of one-shape groups)
        p = probs[m]
        if isinstance(p, CompositeProblem) and comp is not None and ref.kind != "background":
            have = [c.name for c in p.components]
            if comp not in have:
                raise ConfigError(f"{where}: tie {t.text!r}: data set {names[m]} has no "
                                  f"component {comp!r} (its components: {', '.join(have)}); "
                                  f"fix the name ({names[m]}.<component>.{ref.kind}"
                                  f"[{ref.index}])")
    m, comp = _dataset_of(t.left.dataset, names, t, where)
    p = probs[m]
    if not isinstance(p, CompositeProblem) or comp is None or t.left.kind == "background":
        return True
    return t.left.index < {c.name: c.K for c in p.components}[comp]


def combination_ties(ties: list[Tie], offsets: dict[str, Prior], names: list[str],
                     probs: list, where: str) -> tuple[list[Tie], dict[str, Prior]]:
    """The ties that apply to one combination (:func:`_applies`) and the offsets they use (an
    offset whose every tie does not apply is no parameter of that combination; one no tie uses
    at all is kept, for build_joint's error)."""
    if not any(isinstance(p, CompositeProblem) for p in probs):
        return list(ties), dict(offsets)
    mine = [t for t in ties if _applies(t, names, probs, where)]
    offs = {o: p for o, p in offsets.items()
            if any(t.offset == o for t in mine) or not any(t.offset == o for t in ties)}
    return mine, offs


def _placeholders(s: DataSetConfig) -> list:
    """Data set ``s``'s problems (one per K, or per composite candidate) on placeholder data:
    the parameter layout only (a Shirley offset or the likelihood does not change it)."""
    m = s.fit.model
    if not is_composite(s):
        out = []
        for K in m.K:
            n = 3 * (K * 4 + 8) + 10
            x = np.linspace(0.0, 1.0, n)
            out.append(build_problem(x, np.zeros(n), None, m.shape, K, m.background, m.degree,
                                     s.fit.priors, s.name))
        return out
    out = []
    for ks in itertools.product(*[c.K for c in m.components]):
        n = 3 * (sum(ks) * 8 + 8) + 10
        x = np.linspace(0.0, 1.0, n)
        out.append(build_composite(x, np.zeros(n), None,
                                   [(c.name, c.shape, k) for c, k in zip(m.components, ks)],
                                   m.background, m.degree, s.fit.priors, s.name,
                                   ties=s.fit.ties))
    return out


def validate_ties(cfg: GroupConfig) -> None:
    """Resolve the ties for every K combination on placeholder data (errors before sampling):
    each composite data set's own ties over its candidates (as `bayespec fit` checks them),
    then the group's and the prefixed in-model ties (:func:`group_ties`) over every
    combination; a tie that applies to no combination is an error."""
    names = [s.name for s in cfg.datasets]
    options = []
    for s in cfg.datasets:
        probs = _placeholders(s)
        if is_composite(s):
            candidates(probs, list(s.fit.ties), dict(s.fit.offsets), s.fit.source)
        options.append(probs)
    ties, offsets = group_ties(cfg)
    used = set()
    for probs in itertools.product(*options):
        mine, offs = combination_ties(ties, offsets, names, list(probs), cfg.source)
        used |= {t.text for t in mine}
        build_joint(names, list(probs), [1.0] * len(probs), mine, offs, cfg.source)
    never = [t.text for t in ties if t.text not in used]
    if never:
        raise ConfigError(f"{cfg.source}: tie {never[0]!r} applies to no K combination: its "
                          f"left side names a peak index beyond every count of its component; "
                          f"fix the index or the component's K")


def dataset_settings(cfg: GroupConfig, m: int) -> FitSettings:
    """Sampler settings of data set m's separate fit: the group sampler, its own noise, and a
    seed derived from (seed, m) so that data sets never share a random stream."""
    sp, nz = cfg.sampler, cfg.datasets[m].fit.noise
    seed = dataset_seed(sp.seed, m)
    return FitSettings(replicas=sp.replicas, ratio=sp.ratio, burn_in=sp.burn_in,
                       sweeps=sp.sweeps, chains=sp.chains, seed=seed, thin=sp.thin,
                       threads=sp.threads, extend=sp.extend, backend=sp.backend,
                       target_se=sp.target_se, checkpoint_every=sp.checkpoint_every,
                       ladder=sp.ladder, moves=sp.moves,
                       noise_sd=None if nz.estimate else nz.sd, max_precision=nz.max_precision)


@dataclass
class JointFit:
    """The joint fit of one K combination: free energy, posterior (local values per data set)."""

    model: JointModel
    betas: np.ndarray
    log_z: np.ndarray
    log_z_se: np.ndarray
    free_energy: float
    free_energy_se: float
    theta: np.ndarray  # (C, D, P) free draws at beta = 1
    ne: np.ndarray  # (C, D) sum w r^2 / 2 of those draws
    swap: np.ndarray  # (L-1,)
    acceptance: np.ndarray  # (L, P)
    seconds: float
    block_acceptance: np.ndarray | None = None  # (L, B) with sampler.moves: block
    block_names: list[str] = field(default_factory=list)
    wbic: float = float("nan")  # WBIC beside F (joint_wbic), and its SE
    wbic_se: float = float("nan")
    #: R-hat / ESS of every free parameter at beta = 1 and the chains' agreement on F_joint
    #: (checks.convergence_of): converged, convergence_reasons, rhat_max, ess_min, ...
    diagnostics: dict = field(default_factory=dict)


@dataclass
class IntegrationResult:
    """Everything `bayespec integrate` writes."""

    cfg: GroupConfig
    separate: dict[str, list[KFit]]  # data set -> one KFit per K (or composite candidate)
    problems: dict[str, list]  # data set -> one Problem per K (composite: one Candidate each)
    joint: list[JointFit]  # one per K combination
    table: pd.DataFrame  # integration.csv
    selection: pd.DataFrame  # joint K selection
    best: int  # index of the selected joint combination
    best_separate: dict[str, int]  # data set -> index of its selected K
    #: checkpoint files of the fits (with checkpoint_dir): delete them (checkpoint.remove)
    #: once the outputs are written, as `bayespec fit` does
    checkpoints: list[Path] = field(default_factory=list)


def noise_label(ds: DataSetConfig, spec: Spectrum) -> str:
    """How data set ``ds``'s noise was set, for tables."""
    if ds.fit.model.likelihood == "poisson":
        return "Poisson counts"
    if not ds.fit.noise.estimate:
        return "fixed (noise.sd)"
    return "estimated x sd column" if spec.sd is not None else "estimated"


def _sd_text(sd: float) -> str:
    return "-" if np.isnan(sd) else f"{sd:.6g}"


def joint_free_energy(model: JointModel, betas: np.ndarray, log_z: np.ndarray,
                      log_z_se: np.ndarray, seed: int) -> tuple[float, float]:
    """F = -log p({D_m}) at beta = 1 and its SE from the stepping-stone log z (L,).

    Gaussian data sets contribute their normalisation -(n_m/2) log(1/2pi) - (1/2) sum log w_i
    (freeenergy.free_energy), Poisson data sets -C_m (likelihood.py), and with any Poisson
    data set the sampler lives where every mean is valid: -log P_valid, whose SE adds."""
    p_valid, p_se = valid_fraction(model, seed)
    f = free_energy(betas[-1:], log_z[-1:], model.n_gauss, model.sum_log_w_gauss)[0]
    f = f - model.poisson_constant - np.log(p_valid)
    return float(f), float(np.hypot(log_z_se[-1], p_se))


def joint_wbic(model: JointModel, betas: np.ndarray, ne: np.ndarray) -> tuple[float, float]:
    """WBIC of the joint model and its SE (freeenergy.wbic) from energies ne (C, L, S): the
    ladder tops at beta = 1 with every data set's precision inside its weights, so
    -log p(D | theta) = c + ne(theta) with c = sum over the Gaussian data sets of
    (n_m/2) log 2 pi - (1/2) sum log w_i, minus the Poisson data sets' constant."""
    c = float(free_energy(np.ones(1), np.zeros(1), model.n_gauss, model.sum_log_w_gauss)[0])
    return wbic(ne, betas, model.n, 1.0, c - model.poisson_constant)


def fit_joint(model: JointModel, s: SamplerConfig, checkpoint: Path | None = None,
              progress: Callable[[int, int, int, int], None] | None = None) -> JointFit:
    """Sample the joint model on a ladder topped at beta = 1; stepping-stone free energy.

    With ``s.target_se`` the chains stop once the SE of F_joint is reached (sweeps is the
    maximum), and with ``checkpoint`` the sampler state is saved there and resumed from, as
    in single fits (chunked.py: the same driver and chain state); ``progress`` as in
    fit.fit_problems (one job)."""
    if s.backend != "numba":
        raise ConfigError(f"sampler.backend: {s.backend!r} is not available for integration; "
                          f"only numba is implemented for joint fits (set backend: numba)")
    model = with_block_moves(model, s.moves == "block")
    betas = joint_ladder(model, s.replicas, s.ratio, s.extend, s.seed)
    if s.ladder == "adaptive":
        betas = adapt_ladder(model, betas, s, model.Ks, JOINT)
    chains = _run_joint_chunked(model, betas, s, checkpoint, progress)
    ne = np.stack([c.ne for c in chains])
    log_z, se = stepping_stone_se(ne, betas)
    f, f_se = joint_free_energy(model, betas, log_z, se, s.seed)
    theta = np.stack([c.theta[-1] for c in chains])
    ne_top = ne[:, -1, s.thin - 1::s.thin][:, :theta.shape[1]]
    sweeps = ne.shape[-1]  # sampling sweeps run: s.sweeps, or fewer once target_se is met
    swap = np.stack([c.swap for c in chains]).sum(0) / (len(chains) * sweeps)
    acc = fixed_nan(np.stack([c.acc for c in chains]).sum(0) / (len(chains) * sweeps),
                    model.priors)
    w_ic, w_se = joint_wbic(model, betas, ne)
    top = len(betas) - 1  # the joint F is reported at beta = 1
    entries, reasons = convergence_of(list(model.free_names), np.moveaxis(theta, -1, 0), betas,
                                      ne, log_z, top, f, f_se)
    notes = target_se_notes(ne, f_se, s.target_se, s.sweeps,
                            f"joint fit K={'-'.join(map(str, model.Ks))}")
    diagnostics = {"converged": not reasons, "convergence_reasons": reasons,
                   "sampler_warnings": notes, **entries}
    return JointFit(model, betas, log_z, se, f, f_se, theta, ne_top, swap, acc,
                    float(sum(c.seconds for c in chains)), **block_stats(model, chains, sweeps),
                    wbic=w_ic, wbic_se=w_se, diagnostics=diagnostics)


def _run_joint_chunked(model: JointModel, betas: np.ndarray, s: SamplerConfig,
                       checkpoint: Path | None,
                       progress: Callable[[int, int, int, int], None] | None = None) -> list:
    """The joint chains through the chunked driver (target_se, checkpoints, SIGTERM)."""
    import os

    from ..sampling import checkpoint as checkpoint_mod
    from ..sampling.chunked import Plan, run_chunked
    from ..sampling.joint import JOINT

    plan = Plan(burn_in=s.burn_in, sweeps=s.sweeps, thin=s.thin, chains=s.chains, seed=s.seed,
                threads=s.threads or os.cpu_count() or 1, target_se=s.target_se,
                checkpoint=checkpoint, checkpoint_every=s.checkpoint_every)
    numbers = numbers_of(s, JOINT_NUMBERS)
    # the fingerprint (package versions, array digests) only matters for a checkpoint file
    fp = None if checkpoint is None else checkpoint_mod.fingerprint([model], [betas], numbers,
                                                                     versions())

    def se_of(j: int, ne: np.ndarray) -> float:
        log_z, log_z_se = stepping_stone_se(ne, betas)
        return joint_free_energy(model, betas, log_z, log_z_se, s.seed)[1]

    def may_stop(j: int, ne: np.ndarray, theta: Callable[[], np.ndarray]) -> str | None:
        # as single fits: enough batch estimates, the chains' F_joint agree, and R-hat / ESS
        # of the free parameters pass (all at beta = 1, where fit_joint checks them)
        def params(rung: int) -> tuple[list[str], np.ndarray]:
            return list(model.free_names), np.moveaxis(theta()[:, rung], -1, 0)
        return stop_refusal(model, betas, False, ne, rung=len(betas) - 1, params=params)

    outs, _, _ = run_chunked([(model, betas)], plan, se_of, fp, progress, backend=JOINT,
                             may_stop=may_stop)
    return outs[0]


def integrate(cfg: GroupConfig, checkpoint_dir: str | Path | None = None,
              progress: Callable[[str, list[str]], Any] | None = None) -> IntegrationResult:
    """Separate fits of every data set, joint fits of every K combination, and the verdict.

    ``checkpoint_dir``: every fit of the group (each data set's separate fits, each K
    combination's joint fit) checkpoints its sampler state in a file there and resumes from
    it when rerun (see chunked.py); ``checkpoints`` of the result lists them, for the caller
    to delete once the outputs are written. ``progress(text, job_labels)`` is called at the
    start of each fit of the group (each data set's separate fits, each joint K combination)
    and returns that fit's per-chain progress callback (fit.fit_problems) or None."""
    if cfg.sampler.backend != "numba":
        raise ConfigError(f"{cfg.source}: sampler.backend: {cfg.sampler.backend!r} is not "
                          f"available for integration; only numba is implemented (set "
                          f"backend: numba)")
    names = [s.name for s in cfg.datasets]
    specs = {s.name: _spectrum(s) for s in cfg.datasets}
    problems = {s.name: _problems(s, specs[s.name]) for s in cfg.datasets}
    ckdir = None if checkpoint_dir is None else Path(checkpoint_dir)
    if ckdir is not None:
        ckdir.mkdir(parents=True, exist_ok=True)
    ckpts = []

    def ck(name: str) -> Path | None:
        if ckdir is None:
            return None
        ckpts.append(ckdir / f"{name}.checkpoint.npz")
        return ckpts[-1]

    separate = {}
    for m, s in enumerate(cfg.datasets):
        Ks = [candidate_label(p) for p in problems[s.name]]
        cb = None if progress is None else progress(
            f"separate fits of {s.name}: K={','.join(Ks)}", [f"{s.name} K={K}" for K in Ks])
        run = fit_composite if is_composite(s) else fit_problems
        separate[s.name] = run(problems[s.name], dataset_settings(cfg, m),
                               {"group": cfg.raw, "dataset": s.name},
                               checkpoint=ck(f"separate-{s.name}"), progress=cb)
    ties, offsets = group_ties(cfg)
    joint = []
    combos = list(itertools.product(*[range(len(problems[n])) for n in names]))
    for combo in combos:
        # a composite data set joins by its CompositeProblem (its own ties are in ``ties``)
        probs = [getattr(problems[n][i], "problem", problems[n][i]) for n, i in zip(names, combo)]
        # a Poisson data set's variance is its mean: b_m = 1 (its weights are ones); else the
        # noise of the data set's separate fit at this K (composite: this candidate)
        b = [1.0 if problems[n][i].likelihood == "poisson" else
             1.0 / separate[n][i].noise_sd ** 2 for n, i in zip(names, combo)]
        mine, offs = combination_ties(ties, offsets, names, probs, cfg.source)
        model = build_joint(names, probs, b, mine, offs, cfg.source)
        label = "-".join(map(str, model.Ks))
        text = label if not any(map(is_composite, cfg.datasets)) else ";".join(
            f"{n}={candidate_label(p)}" for n, p in zip(names, probs))
        cb = None if progress is None else progress(f"joint fit K={text}", [f"joint K={text}"])
        joint.append(fit_joint(model, cfg.sampler, ck(f"joint-K{label}"), cb))
    fj = np.array([j.free_energy for j in joint])
    sel = pd.DataFrame([{**{f"K_{n}": candidate_label(p) if hasattr(p, "Ks") else p.K
                            for n, p in zip(names, j.model.problems)},
                         "free_energy": j.free_energy, "free_energy_se": j.free_energy_se}
                        for j in joint])
    sel["probability"] = model_probabilities(fj)
    # the check columns of model_selection.csv that a joint fit has
    for col in ("sweeps", "rhat_max", "ess_min", "F_chain_spread", "converged"):
        sel[col] = [j.diagnostics[col] for j in joint]
    sel["wbic"] = [j.wbic for j in joint]  # beside F, as model_selection.csv's last columns
    sel["wbic_se"] = [j.wbic_se for j in joint]
    best = int(np.argmin(fj))
    best_sep = {n: int(np.argmin([f.free_energy for f in separate[n]])) for n in names}
    f_sep = sum(separate[n][best_sep[n]].free_energy for n in names)
    se_sep = float(np.sqrt(sum(separate[n][best_sep[n]].free_energy_se ** 2 for n in names)))
    jb = joint[best]
    delta = jb.free_energy - f_sep
    delta_se = float(np.hypot(jb.free_energy_se, se_sep))
    if abs(delta) <= Z_VERDICT * delta_se:
        verdict = "undecided"
    else:
        verdict = "joint" if delta < 0 else "separate"

    def ks(idx: dict[str, int]) -> str:
        return ";".join(f"{n}={candidate_label(problems[n][idx[n]])}" for n in names)

    def noise(idx: dict[str, int]) -> str:
        return ";".join(f"{n}={_sd_text(separate[n][idx[n]].noise_sd)} "
                        f"({noise_label(s, specs[n])})" for n, s in zip(names, cfg.datasets))

    jidx = dict(zip(names, combos[best]))
    table = pd.DataFrame([
        {"model": "joint", "free_energy": jb.free_energy, "free_energy_se": jb.free_energy_se,
         "K": ks(jidx), "noise_sd": noise(jidx), "delta": delta, "delta_se": delta_se,
         "verdict": verdict},
        {"model": "separate", "free_energy": f_sep, "free_energy_se": se_sep,
         "K": ks(best_sep), "noise_sd": noise(best_sep), "delta": 0.0, "delta_se": 0.0,
         "verdict": verdict},
    ])
    return IntegrationResult(cfg, separate, problems, joint, table, sel, best, best_sep, ckpts)


def joint_posterior(j: JointFit) -> dict[str, np.ndarray]:
    """Named (chain, draw[, peak|coef]) arrays of every data set's parameters (ties applied)
    and of the offsets: ``{ds}_{kind}`` and ``{ds}_background``, ``offset_{name}``; a composite
    data set's ``{ds}_{component}_{kind}`` (chain, draw, K of the component)."""
    mdl = j.model
    loc = mdl.locals(j.theta)
    out = {}
    for m, (name, prob) in enumerate(zip(mdl.names, mdl.problems)):
        th = mdl.dataset_theta(loc, m)
        if hasattr(prob, "named"):  # a composite data set: per component
            out.update({f"{name}_{k}": v for k, v in prob.named(th).items()})
            continue
        st = prob.stride
        for i, v in enumerate(prob.peak_vars):
            out[f"{name}_{v}"] = np.ascontiguousarray(th[..., i:prob.K * st:st])
        out[f"{name}_background"] = np.ascontiguousarray(th[..., prob.K * st:])
    for p, fname in enumerate(mdl.free_names):
        if "." not in fname:
            out[f"offset_{fname}"] = np.ascontiguousarray(j.theta[..., p])
    return out


def joint_curves(j: JointFit, max_draws: int = 200) -> list[dict[str, np.ndarray]]:
    """Per data set: posterior mean curve and 95 % band of f(x), from up to ``max_draws``."""
    mdl = j.model
    flat = j.theta.reshape(-1, j.theta.shape[-1])
    pick = np.linspace(0, flat.shape[0] - 1, min(max_draws, flat.shape[0])).astype(int)
    loc = mdl.locals(flat[pick])
    out = []
    for m, prob in enumerate(mdl.problems):
        f = prob.curve(mdl.dataset_theta(loc, m))
        lo, hi = np.quantile(f, [0.025, 0.975], axis=0)
        out.append({"f_mean": f.mean(0), "f_lo": lo, "f_hi": hi})
    return out


def versions() -> dict[str, str]:
    """Package versions for provenance (backend numba: the only one for joint fits)."""
    v = package_versions()
    v["backend"] = "numba"
    return v
