"""FIT.yaml, the ``bayespec fit --config`` file: parse and validate into frozen dataclasses.

Every error is a ConfigError (PriorError for priors) with a one-line message naming the file,
the dotted key and the fix. Unknown keys at any level are errors. ``null`` for a key means the
same as leaving it out.
"""

from __future__ import annotations

import copy
import difflib
import math
import numbers
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from . import shapes
from .errors import ConfigError, PriorError
from .priors import Prior, parse_prior

DEFAULTS: dict[str, Any] = {
    "model": {"shape": "gaussian", "K": [1, 2, 3, 4], "background": {"kind": "linear"}},
    "priors": {},
    "noise": {"estimate": True},
    "sampler": {"replicas": 24, "ratio": 1.5, "burn_in": 1000, "sweeps": 5000, "chains": 4,
                "seed": 0, "thin": 5, "threads": None, "extend": True,
                "backend": "numba", "target_se": None, "checkpoint_every": 300},
}

_TOP = ("model", "priors", "noise", "sampler")
_MODEL_KEYS = ("shape", "K", "background", "likelihood")
_BG_KEYS = ("kind", "degree", "shirley")
LIKELIHOODS = ("gaussian", "poisson")
_NOISE_KEYS = ("sd", "estimate", "max_precision")
_SAMPLER_KEYS = tuple(DEFAULTS["sampler"])
_PEAK_PRIORS = {"amplitude": True, "center": False, "width": True}  # name -> positive


@dataclass(frozen=True)
class ModelConfig:
    """Peak shape, the K values to compare, and the background (``degree`` for polynomial)."""

    shape: str
    K: tuple[int, ...]
    background: str
    degree: int | None
    likelihood: str = "gaussian"  # gaussian | poisson (raw counts)
    shirley: bool = False  # add the data's iterative Shirley curve as a fixed offset


@dataclass(frozen=True)
class NoiseConfig:
    """Known noise ``sd``, or ``estimate`` the precision (ladder top ``max_precision``)."""

    sd: float | None
    estimate: bool
    max_precision: float | None


@dataclass(frozen=True)
class SamplerConfig:
    """Exchange Monte Carlo settings; ``threads`` None = all cores."""

    replicas: int
    ratio: float
    burn_in: int
    sweeps: int
    chains: int
    seed: int
    thin: int
    threads: int | None
    extend: bool
    backend: str
    target_se: float | None = None  # stop once the SE of F is <= this (sweeps = maximum)
    checkpoint_every: float = 300.0  # seconds between checkpoints, when one is asked for


@dataclass(frozen=True)
class FitConfig:
    """A validated FIT.yaml. ``priors`` holds only user-given keys (Prior or list[Prior]);
    ``raw`` is the normalised plain dict with all defaults filled in (re-parses to the same)."""

    model: ModelConfig
    priors: dict
    noise: NoiseConfig
    sampler: SamplerConfig
    raw: dict
    source: str = "<config>"


# ----------------------------------------------------------------------------- helpers

def _err(src: str, key: str, msg: str) -> ConfigError:
    return ConfigError(f"{src}: {key}: {msg}")


def _section(v: Any, key: str, src: str) -> dict:
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise _err(src, key, f"must be a mapping (key: value lines indented under '{key}:'), "
                             f"got {v!r}")
    return dict(v)


def _check_keys(d: Mapping, prefix: str, allowed: tuple[str, ...], src: str) -> None:
    for k in d:
        if k in allowed:
            continue
        full = f"{prefix}.{k}" if prefix else str(k)
        close = [a for a in allowed if a.lower() == str(k).lower()] or \
            difflib.get_close_matches(str(k), allowed, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise _err(src, full, f"unknown key; {hint}allowed keys "
                              f"{'under ' + prefix if prefix else 'at the top level'}: "
                              f"{', '.join(allowed)}")


def _int(v: Any, src: str, key: str, lo: int, why: str = "") -> int:
    if isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v).is_integer() \
            and not isinstance(v, numbers.Integral):
        v = int(v)  # 1e4 -> 10000
    if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
        raise _err(src, key, f"must be an integer >= {lo}{why}, got {v!r}")
    return int(v)


BACKENDS = ("numba", "numpy", "cupy", "auto", "array_api_strict")


def _choice(v: Any, src: str, key: str, allowed: tuple[str, ...]) -> str:
    if v not in allowed:
        raise _err(src, key, f"must be one of {', '.join(allowed)}, got {v!r}")
    return v


def _bool(v: Any, src: str, key: str) -> bool:
    if not isinstance(v, bool):
        raise _err(src, key, f"must be true or false, got {v!r}")
    return v


def _float(v: Any, src: str, key: str, gt: float) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v <= gt:
        raise _err(src, key, f"must be a number > {gt:g}, got {v!r}")
    return float(v)


def _seconds(v: Any, src: str, key: str) -> float:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
        raise _err(src, key, f"must be a number of seconds >= 0 (0 = no periodic checkpoints), "
                             f"got {v!r}")
    return float(v)


def _get(d: Mapping, k: str, default: Any) -> Any:
    v = d.get(k)
    return default if v is None else v


def _prior(spec: Any, key: str, positive: bool, src: str) -> Prior:
    try:
        return parse_prior(spec, key, positive=positive)
    except PriorError as e:
        raise PriorError(f"{src}: {e}") from e


# ----------------------------------------------------------------------------- sections

def _parse_K(v: Any, src: str) -> tuple[int, ...]:
    key = "model.K"
    if isinstance(v, str):
        m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", v)
        if not m:
            raise _err(src, key, f"cannot read {v!r}; write a range like '1-6', a list like "
                                 f"[1, 2, 3] or an integer")
        a, b = int(m[1]), int(m[2] or m[1])
        if b < a:
            raise _err(src, key, f"range {v!r} is empty; write low-high with low <= high, "
                                 f"e.g. '1-6'")
        return tuple(range(a, b + 1))
    if isinstance(v, (list, tuple)):
        if not v:
            raise _err(src, key, "is empty; list at least one number of peaks, e.g. [1, 2, 3]")
        ks = [_int(k, src, f"{key}[{i}]", 0) for i, k in enumerate(v)]
        dup = sorted({k for k in ks if ks.count(k) > 1})
        if dup:
            raise _err(src, key, f"duplicated value(s) {dup}; list each K once")
        return tuple(sorted(ks))
    return (_int(v, src, key, 0),)


def _parse_model(sec: Any, src: str) -> tuple[ModelConfig, dict]:
    m = _section(sec, "model", src)
    _check_keys(m, "model", _MODEL_KEYS, src)
    shape = _get(m, "shape", DEFAULTS["model"]["shape"])
    if not isinstance(shape, str) or shape not in shapes.SHAPES:
        raise _err(src, "model.shape", f"unknown shape {shape!r}; choose one of "
                                       f"{', '.join(sorted(shapes.SHAPES))}")
    K = _parse_K(_get(m, "K", DEFAULTS["model"]["K"]), src)
    bg = _get(m, "background", DEFAULTS["model"]["background"])
    if isinstance(bg, str):
        bg = {"kind": bg}
    if not isinstance(bg, Mapping):
        raise _err(src, "model.background", f"must be a mapping like {{kind: linear}}, got {bg!r}")
    _check_keys(bg, "model.background", _BG_KEYS, src)
    kinds = ", ".join(sorted(shapes.BACKGROUNDS))
    kind = bg.get("kind")
    if kind is None:
        raise _err(src, "model.background.kind", f"missing; choose one of {kinds}")
    if not isinstance(kind, str) or kind not in shapes.BACKGROUNDS:
        raise _err(src, "model.background.kind", f"unknown background {kind!r}; choose one of "
                                                 f"{kinds}")
    degree = bg.get("degree")
    if kind == "polynomial":
        if degree is None:
            raise _err(src, "model.background.degree", "required for kind polynomial; set an "
                                                       "integer >= 0, e.g. degree: 2")
        degree = _int(degree, src, "model.background.degree", 0)
    elif degree is not None:
        raise _err(src, "model.background.degree", f"only allowed with kind polynomial (kind is "
                                                   f"{kind}); remove it or set kind: polynomial")
    raw_bg: dict[str, Any] = {"kind": kind}
    if degree is not None:
        raw_bg["degree"] = degree
    shirley = _bool(_get(bg, "shirley", False), src, "model.background.shirley")
    if shirley:
        raw_bg["shirley"] = True
    lik = _choice(_get(m, "likelihood", "gaussian"), src, "model.likelihood", LIKELIHOODS)
    raw = {"shape": shape, "K": list(K), "background": raw_bg}
    if lik != "gaussian":
        raw["likelihood"] = lik
    return ModelConfig(shape=shape, K=K, background=kind, degree=degree, likelihood=lik,
                       shirley=shirley), raw


def _extras() -> list[str]:
    return sorted({e for s in shapes.SHAPES.values() for e in s.extra})


def _parse_priors(sec: Any, model: ModelConfig, src: str) -> tuple[dict, dict]:
    p = _section(sec, "priors", src)
    extras = _extras()
    _check_keys(p, "priors", (*_PEAK_PRIORS, *extras, "background"), src)
    out: dict[str, Prior | list[Prior]] = {}
    raw: dict[str, Any] = {}
    for k, spec in p.items():
        if spec is None:
            continue
        key = f"priors.{k}"
        if k == "background":
            out[k] = _parse_bg_prior(spec, model, src)
            raw[k] = [dict(s) for s in spec] if isinstance(spec, (list, tuple)) else dict(spec)
            continue
        if k in extras:
            if k not in shapes.SHAPES[model.shape].extra:
                users = [s.name for s in shapes.SHAPES.values() if k in s.extra]
                raise PriorError(f"{src}: {key}: only used by shape {' / '.join(users)}, not "
                                 f"{model.shape}; remove it or change model.shape")
            pr = _prior(spec, key, k == "ratio", src)
            lo, hi = pr.support
            if k == "eta" and (lo < 0 or hi > 1):
                raise PriorError(f"{src}: {key}: eta is a mixing fraction in [0, 1] but the "
                                 f"{pr.dist} prior has support [{lo:g}, {hi:g}]; use "
                                 f"{{dist: uniform, low: 0, high: 1}} or a truncnormal with "
                                 f"low >= 0 and high <= 1")
        else:
            pr = _prior(spec, key, _PEAK_PRIORS[k], src)
        out[k] = pr
        raw[k] = dict(spec)
    return out, raw


def _parse_bg_prior(spec: Any, model: ModelConfig, src: str) -> Prior | list[Prior]:
    bg = shapes.BACKGROUNDS[model.background]
    ncoef = bg.ncoef(model.degree)
    if ncoef == 0:
        raise PriorError(f"{src}: priors.background: background kind {model.background} has no "
                         f"coefficients; remove priors.background or change "
                         f"model.background.kind")
    if isinstance(spec, (list, tuple)):
        if len(spec) != ncoef:
            raise PriorError(f"{src}: priors.background: {len(spec)} prior(s) given but the "
                             f"{model.background} background has {ncoef} coefficient(s) "
                             f"({', '.join(bg.coef_names(ncoef))}); give exactly {ncoef} or one "
                             f"prior (a mapping) for all")
        return [_prior(s, f"priors.background[{i}]", False, src) for i, s in enumerate(spec)]
    return _prior(spec, "priors.background", False, src)


def _parse_noise(sec: Any, src: str) -> tuple[NoiseConfig, dict]:
    n = _section(sec, "noise", src)
    _check_keys(n, "noise", _NOISE_KEYS, src)
    sd, est, mp = n.get("sd"), n.get("estimate"), n.get("max_precision")
    if est is not None and not isinstance(est, bool):
        raise _err(src, "noise.estimate", f"must be true or false, got {est!r}")
    if sd is not None:
        if est:
            raise _err(src, "noise", "give either sd (known noise) or estimate: true, not both")
        sd, est = _float(sd, src, "noise.sd", 0), False
    elif est is False:
        raise _err(src, "noise", "estimate is false but no sd is given; set noise.sd to the "
                                 "known noise sd or use estimate: true")
    else:
        est = True
    if mp is not None:
        if not est:
            raise _err(src, "noise.max_precision", "only allowed with estimate: true (a known sd "
                                                   "fixes the precision); remove it")
        mp = _float(mp, src, "noise.max_precision", 0)
    raw = {"sd": sd, "estimate": False} if sd is not None else {"estimate": True,
                                                                  "max_precision": mp}
    return NoiseConfig(sd=sd, estimate=est, max_precision=mp), raw


def _parse_sampler(sec: Any, src: str) -> tuple[SamplerConfig, dict]:
    s = _section(sec, "sampler", src)
    _check_keys(s, "sampler", _SAMPLER_KEYS, src)
    v = {k: _get(s, k, d) for k, d in DEFAULTS["sampler"].items()}
    k = "sampler."
    out = SamplerConfig(
        replicas=_int(v["replicas"], src, k + "replicas", 2),
        ratio=_float(v["ratio"], src, k + "ratio", 1),
        burn_in=_int(v["burn_in"], src, k + "burn_in", 0),
        sweeps=_int(v["sweeps"], src, k + "sweeps", 1),
        chains=_int(v["chains"], src, k + "chains", 2, " (error bars need several chains)"),
        seed=_int(v["seed"], src, k + "seed", 0),
        thin=_int(v["thin"], src, k + "thin", 1),
        threads=None if v["threads"] is None else _int(v["threads"], src, k + "threads", 1),
        extend=_bool(v["extend"], src, k + "extend"),
        backend=_choice(v["backend"], src, k + "backend", BACKENDS),
        target_se=None if v["target_se"] is None else _float(v["target_se"], src,
                                                             k + "target_se", 0),
        checkpoint_every=_seconds(v["checkpoint_every"], src, k + "checkpoint_every"),
    )
    if out.thin > out.sweeps:
        raise _err(src, k + "thin", f"must be <= sampler.sweeps ({out.sweeps}), got {out.thin}; "
                                    f"lower thin or raise sweeps")
    return out, asdict(out)


# ----------------------------------------------------------------------------- public API

def parse_fit_config(d: Mapping | None, source: str = "<config>") -> FitConfig:
    """Validate a FIT.yaml mapping (None = all defaults) into a FitConfig."""
    if d is None:
        d = {}
    if not isinstance(d, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping with keys "
                          f"{', '.join(_TOP)}, got {type(d).__name__}")
    _check_keys(d, "", _TOP, source)
    model, raw_model = _parse_model(d.get("model"), source)
    priors, raw_priors = _parse_priors(d.get("priors"), model, source)
    if model.likelihood == "poisson":
        if _section(d.get("noise"), "noise", source):
            raise _err(source, "noise", "not used with model.likelihood poisson (the variance "
                                        "of a count is its mean: there is no noise level to "
                                        "give or estimate); remove the noise block")
        noise, raw_noise = NoiseConfig(sd=None, estimate=False, max_precision=None), {}
    else:
        noise, raw_noise = _parse_noise(d.get("noise"), source)
    sampler, raw_sampler = _parse_sampler(d.get("sampler"), source)
    raw = copy.deepcopy({"model": raw_model, "priors": raw_priors, "noise": raw_noise,
                         "sampler": raw_sampler})
    return FitConfig(model=model, priors=priors, noise=noise, sampler=sampler, raw=raw,
                     source=source)


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads YAML 1.2 floats (``1e-3`` is a number, not text) and rejects
    duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for k_node, _ in node.value:
            if isinstance(k_node, yaml.ScalarNode) and k_node.tag != "tag:yaml.org,2002:merge":
                if k_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {k_node.value!r} (first on line "
                                    f"{seen[k_node.value] + 1}); keep only one",
                        k_node.start_mark)
                seen[k_node.value] = k_node.start_mark.line
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def load_fit_config(path: str | Path) -> FitConfig:
    """Read and validate a FIT.yaml file; YAML errors name the file and line."""
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found; check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read config file ({e}); it must be a readable UTF-8 "
                          f"YAML file") from None
    try:
        d = yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{p}: {where}invalid YAML ({what}); check indentation, colons and "
                          f"quoting") from None
    return parse_fit_config(d, p)


def with_overrides(cfg: FitConfig, **sections: Mapping | None) -> FitConfig:
    """Merge per-section overrides into ``cfg.raw`` and re-validate.

    Keys merge into the section (a prior set to None is removed; ``model.background`` is
    replaced whole); a ``noise`` override naming ``sd`` or ``estimate`` replaces the section.
    """
    raw = copy.deepcopy(cfg.raw)
    for name, upd in sections.items():
        if name not in _TOP:
            raise ConfigError(f"{cfg.source}: {name}: unknown section; allowed: {', '.join(_TOP)}")
        if upd is None:
            continue
        if not isinstance(upd, Mapping):
            raise ConfigError(f"{cfg.source}: {name}: override must be a mapping, got {upd!r}")
        upd = copy.deepcopy(dict(upd))
        if name == "noise" and {"sd", "estimate"} & set(upd):
            raw[name] = upd
        else:
            raw[name] = {**raw.get(name, {}), **upd}
    return parse_fit_config(raw, cfg.source)


def _fmt(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def describe_keys() -> list[tuple[str, str, str]]:
    """(dotted key, default, meaning) for every FIT.yaml key, for the README and docs."""
    S = DEFAULTS["sampler"]
    shp = " | ".join(shapes.SHAPES)
    bgs = " | ".join(shapes.BACKGROUNDS)
    dd = "data-driven"
    rows = [
        ("model.shape", DEFAULTS["model"]["shape"], f"peak shape: {shp}"),
        ("model.K", _fmt(DEFAULTS["model"]["K"]),
         "numbers of peaks to compare: a list, an integer or a range string like '1-6'"),
        ("model.background.kind", DEFAULTS["model"]["background"]["kind"], f"background: {bgs}"),
        ("model.background.degree", "null", "polynomial degree (required for kind polynomial, "
                                            "not allowed otherwise)"),
        ("model.background.shirley", "false", "add the data's iterative Shirley background as "
                                              "a fixed offset to the model mean"),
        ("model.likelihood", "gaussian", "gaussian | poisson (raw counts; no noise block)"),
        ("priors.amplitude", dd, "prior of each peak height (positive support)"),
        ("priors.center", dd, "prior of each peak center"),
        ("priors.width", dd, "prior of each peak width (positive support; meaning per shape)"),
    ]
    for e in _extras():
        users = " / ".join(s.name for s in shapes.SHAPES.values() if e in s.extra)
        default = {"splitting": "required", "ratio": "required", "asym": "U(-1, 1)"}.get(e, dd)
        note = "; support within [0, 1]" if e == "eta" else ""
        rows.append((f"priors.{e}", default,
                     f"prior of the extra shape parameter {e} ({users} only{note})"))
    rows += [
        ("priors.background", dd, "one prior for all background coefficients, or a list with "
                                  "one prior per coefficient"),
        ("noise.sd", "null", "known noise standard deviation (> 0); excludes estimate"),
        ("noise.estimate", "true", "estimate the noise precision by the free energy over the "
                                   "temperature ladder"),
        ("noise.max_precision", "null", "top of the noise-precision ladder (> 0; only with "
                                        "estimate; null = automatic)"),
        ("sampler.replicas", _fmt(S["replicas"]), "replicas (temperatures) in the ladder, >= 2"),
        ("sampler.ratio", _fmt(S["ratio"]), "geometric ratio between neighbouring "
                                            "inverse temperatures of the ladder, > 1"),
        ("sampler.burn_in", _fmt(S["burn_in"]), "sweeps discarded before sampling, >= 0"),
        ("sampler.sweeps", _fmt(S["sweeps"]), "sampling sweeps per chain after burn-in, >= 1"),
        ("sampler.chains", _fmt(S["chains"]), "independent chains (for error bars), >= 2"),
        ("sampler.seed", _fmt(S["seed"]), "random seed, >= 0"),
        ("sampler.thin", _fmt(S["thin"]), "keep every thin-th sweep, 1 <= thin <= sweeps"),
        ("sampler.threads", _fmt(S["threads"]), "worker threads (null = all cores)"),
        ("sampler.backend", _fmt(S["backend"]), "numba (CPU kernel) | numpy | cupy (GPU) | auto "
                                                "(cupy when a GPU is usable, else numba)"),
        ("sampler.extend", _fmt(S["extend"]), "add rungs below the geometric ladder when the "
                                              "priors are too wide for its lowest rung"),
        ("sampler.target_se", _fmt(S["target_se"]), "stop once the standard error of the "
                                                    "reported free energy is <= this (> 0, "
                                                    "nats; checked every 500 sweeps; sweeps is "
                                                    "then the maximum; numba backend)"),
        ("sampler.checkpoint_every", _fmt(S["checkpoint_every"]),
         "seconds between checkpoints of a fit run with --checkpoint (>= 0; 0 = only on "
         "SIGTERM; numba backend)"),
    ]
    return rows
