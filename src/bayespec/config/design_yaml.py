"""DESIGN.yaml, the ``bayespec design`` file: which models, which truth, which levels.

    models:                 # the candidate models: name -> FIT.yaml (a path relative to this
      peaks: fit.yaml       #   file) or the FIT.yaml mapping inline; every K (or composite
                            #   candidate) of every model is one candidate
    truth:
      model: peaks          # which model holds the truth (may be omitted with one model)
      K: 3                  # the true candidate: a K, or a composite label such as 1-2
      params:               # the true values: per kind a list over the lines (any order),
        amplitude: [0.587, 1.522, 1.183]          # composite: per component a mapping
        center: [1.21, 1.455, 1.703]
        width: [95.689, 146.837, 164.469]
        background: [0.1]   # the background coefficients in order (c0, c1, ...)
    axis: {start: 0, stop: 3, num: 301}   # or {file: data.csv}: the x column of a data file
    levels:
      noise_sd: [0.05, 0.1, 0.2]   # Gaussian noise sd, or counting_time: [..] (Poisson:
                                   # counts ~ Poisson(t * model), the model in counts per unit t)
    replicates: 20
    seed: 0
    report:
      quantities: [center]  # the credible-interval widths reported per true line

A parameter with a fixed prior takes the prior's value when ``params`` omits it. The models'
own ``sampler.seed`` is replaced by one seed per (level, replicate), and with ``noise_sd``
levels a model whose noise is known is fitted with the level's sd as its known noise (a model
with ``noise.estimate: true`` estimates it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..models.shapes import LINE_QUANTITIES
from .fit_yaml import (FitConfig, _check_keys, _section, load_fit_config, parse_fit_config,
                       read_yaml)

__all__ = ["DesignConfig", "load_design", "parse_design", "LEVEL_KINDS", "QUANTITIES"]

LEVEL_KINDS = ("noise_sd", "counting_time")
QUANTITIES = LINE_QUANTITIES
_TOP = ("models", "truth", "axis", "levels", "replicates", "seed", "report")


@dataclass(frozen=True)
class DesignConfig:
    """A validated DESIGN.yaml. models: name -> FitConfig (in file order); truth_model, truth_K
    (a K or a composite label, str); params: the ``truth.params`` mapping; x: (n,) the axis;
    level_kind: noise_sd | counting_time; levels: (L,) > 0; replicates >= 1."""

    models: dict[str, FitConfig]
    truth_model: str
    truth_K: str
    params: dict
    x: np.ndarray
    level_kind: str
    levels: tuple[float, ...]
    replicates: int
    seed: int
    quantities: tuple[str, ...]
    source: str = "<design>"


def load_design(path: str | Path) -> DesignConfig:
    """Read and validate DESIGN.yaml (model files are read relative to it)."""
    p = Path(path)
    d = read_yaml(p, "design file")
    return parse_design(d, str(p), p.parent)


def _positive_list(v: Any, key: str, src: str) -> tuple[float, ...]:
    if not isinstance(v, (list, tuple)) or not v:
        raise ConfigError(f"{src}: {key}: must be a non-empty list of numbers, got {v!r}")
    out = []
    for i, e in enumerate(v):
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e) \
                or e <= 0:
            raise ConfigError(f"{src}: {key}[{i}]: must be a finite number > 0, got {e!r}")
        out.append(float(e))
    if len(set(out)) != len(out):
        raise ConfigError(f"{src}: {key}: levels must be distinct, got {out}")
    return tuple(out)


def _count(v: Any, key: str, src: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < lo:
        raise ConfigError(f"{src}: {key}: must be an integer >= {lo}, got {v!r}")
    return int(v)


def _axis(v: Any, src: str, base: Path) -> np.ndarray:
    a = _section(v, "axis", src)
    if "file" in a:
        _check_keys(a, "axis", ("file",), src)
        from ..io.spectrum import read_spectrum  # io sits above config: on use only

        path = Path(a["file"])
        return np.asarray(read_spectrum(path if path.is_absolute() else base / path).x, float)
    _check_keys(a, "axis", ("start", "stop", "num"), src)
    missing = [k for k in ("start", "stop", "num") if k not in a]
    if missing:
        raise ConfigError(f"{src}: axis: missing {', '.join(missing)}; give start, stop and num "
                          f"(e.g. {{start: 0, stop: 3, num: 301}}) or {{file: data.csv}}")
    start, stop = a["start"], a["stop"]
    for k, e in (("start", start), ("stop", stop)):
        if isinstance(e, bool) or not isinstance(e, (int, float)) or not math.isfinite(e):
            raise ConfigError(f"{src}: axis.{k}: must be a finite number, got {e!r}")
    if not stop > start:
        raise ConfigError(f"{src}: axis: stop ({stop}) must be greater than start ({start})")
    return np.linspace(float(start), float(stop), _count(a["num"], "axis.num", src, 3))


def parse_design(d: Mapping | None, source: str = "<design>",
                 base: Path | None = None) -> DesignConfig:
    """Validate a DESIGN.yaml mapping; ``base`` resolves relative model and axis files."""
    base = Path(".") if base is None else Path(base)
    d = _section(d, "design", source)
    _check_keys(d, "", _TOP, source)
    for k in ("models", "truth", "axis", "levels"):
        if k not in d:
            raise ConfigError(f"{source}: {k}: required; see `bayespec design --help` and "
                              f"README 'Experiment design'")
    ms = _section(d["models"], "models", source)
    if not ms:
        raise ConfigError(f"{source}: models: give at least one model (name: FIT.yaml)")
    models: dict[str, FitConfig] = {}
    for name, spec in ms.items():
        if isinstance(spec, str):
            path = Path(spec)
            models[str(name)] = load_fit_config(path if path.is_absolute() else base / path)
        elif isinstance(spec, Mapping):
            models[str(name)] = parse_fit_config(spec, f"{source}: models.{name}")
        else:
            raise ConfigError(f"{source}: models.{name}: must be a FIT.yaml path or mapping, "
                              f"got {spec!r}")
    t = _section(d["truth"], "truth", source)
    _check_keys(t, "truth", ("model", "K", "params"), source)
    if "model" in t:
        tm = str(t["model"])
        if tm not in models:
            raise ConfigError(f"{source}: truth.model: {tm!r} is not under models "
                              f"({', '.join(models)})")
    elif len(models) == 1:
        tm = next(iter(models))
    else:
        raise ConfigError(f"{source}: truth.model: required with several models; one of "
                          f"{', '.join(models)}")
    if "K" not in t or "params" not in t:
        raise ConfigError(f"{source}: truth: give K (the true candidate) and params (the true "
                          f"values)")
    tk = str(t["K"])
    cfg = models[tm]
    labels = ([str(k) for k in cfg.model.K] if not cfg.model.components else
              _composite_labels(cfg))
    if tk not in labels:
        raise ConfigError(f"{source}: truth.K: {tk} is not a candidate of model {tm} "
                          f"(candidates: {', '.join(labels)}); add it to that model's K")
    params = _section(t["params"], "truth.params", source)
    lv = _section(d["levels"], "levels", source)
    _check_keys(lv, "levels", LEVEL_KINDS, source)
    if len(lv) != 1:
        raise ConfigError(f"{source}: levels: give exactly one of noise_sd (Gaussian) or "
                          f"counting_time (Poisson)")
    kind, vals = next(iter(lv.items()))
    levels = _positive_list(vals, f"levels.{kind}", source)
    want = "gaussian" if kind == "noise_sd" else "poisson"
    for name, c in models.items():
        if c.model.likelihood != want:
            raise ConfigError(f"{source}: models.{name}: likelihood {c.model.likelihood} does "
                              f"not go with levels.{kind}; use model.likelihood: {want} or "
                              f"levels.{'counting_time' if want == 'gaussian' else 'noise_sd'}")
        if c.model.shirley:
            raise ConfigError(f"{source}: models.{name}: a Shirley background is computed from "
                              f"the data, so a true curve cannot be simulated from it; use a "
                              f"sampled background for the design")
        if c.model.background == "tougaard":
            raise ConfigError(f"{source}: models.{name}: the Tougaard background is computed "
                              f"from the data, so a true curve cannot be simulated from it; use "
                              f"a sampled background for the design")
    rep = _section(d.get("report"), "report", source)
    _check_keys(rep, "report", ("quantities",), source)
    qs = rep.get("quantities", ["center"])
    if not isinstance(qs, (list, tuple)) or not qs or any(q not in QUANTITIES for q in qs):
        raise ConfigError(f"{source}: report.quantities: a list of {', '.join(QUANTITIES)}, "
                          f"got {qs!r}")
    return DesignConfig(models=models, truth_model=tm, truth_K=tk, params=params,
                        x=_axis(d["axis"], source, base), level_kind=kind, levels=levels,
                        replicates=_count(d.get("replicates", 10), "replicates", source, 1),
                        seed=_count(d.get("seed", 0), "seed", source, 0),
                        quantities=tuple(qs), source=source)


def _composite_labels(cfg: FitConfig) -> list[str]:
    import itertools

    counts = [c.K for c in cfg.model.components]
    return ["-".join(map(str, ks)) for ks in itertools.product(*counts)]
