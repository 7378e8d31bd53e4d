"""Experiment design: how long to count, or how low the noise must be, to tell the models apart.

From a true model with known parameter values (DESIGN.yaml, config/design_yaml.py) and a list
of noise levels or counting times, every replicate simulates data (Gaussian noise of sd s, or
Poisson counts of mean t * f), fits every candidate of every model through the same engine as
`bayespec fit` (inference/runner.fit_spectrum_config), and records its free energy. Per level
the report gives the probability of selecting the true model (the fraction of replicates where
it has the smallest F, with its binomial SE), the mean of p(true | D), the distribution of
dF = F_true - min F_other (< 0: the data favour the truth), the credible-interval widths of the
true candidate's lines and whether they cover the true values, and the level at which the
probability of selecting the truth crosses 0.95 (Katakami et al. 2024 treat such measurement
limits with solvable models; the Gaussian linear case is checked against their closed form in
tests/test_design.py).

Seeds: replicate r of level i draws its data from SeedSequence(seed, spawn_key=(i, r)) and its
fit seed from SeedSequence(seed, spawn_key=(i, r, 1)), so a replicate's numbers do not depend
on the other levels or replicates.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config.design_yaml import DesignConfig, load_design, parse_design
from ..config.fit_yaml import FitConfig, with_overrides
from ..errors import ConfigError
from ..io.spectrum import Spectrum
from ..models.model import build_problem
from .averaging import line_draws
from .fit import package_versions
from .freeenergy import model_probabilities
from .runner import composite_candidates, fit_spectrum_config

__all__ = ["DesignResult", "load_design", "parse_design", "true_curve", "simulate",
           "run_design", "write_design", "TARGET"]

TARGET = 0.95  # the probability of selecting the true model that the crossing level reaches


@dataclass
class DesignResult:
    """records: one row per (level, replicate, candidate): level, replicate, model, candidate,
    K, free_energy, free_energy_se, probability (over all candidates), truth, selected; the
    truth rows also hold ``width_{line}_{q}`` and ``covered_{line}_{q}`` (95 % interval width
    and whether it holds the true value) and ``converged``. summary: one row per level (see
    :func:`summarise_design`). crossing: the level where p_select_true reaches TARGET (log
    interpolation between levels), None if it does not cross inside the levels."""

    config: DesignConfig
    records: pd.DataFrame
    summary: pd.DataFrame
    crossing: float | None

    def crossing_text(self) -> str:
        kind = self.config.level_kind
        if self.crossing is not None:
            return f"p(select the true model) reaches {TARGET} at {kind} = {self.crossing:.4g}"
        p = self.summary["p_select_true"].to_numpy(float)
        if np.all(p >= TARGET):
            return f"p(select the true model) is at least {TARGET} at every {kind} level"
        s = self.summary.sort_values("level", ascending=kind == "counting_time")
        best_level, best_p = s["level"].iloc[-1], s["p_select_true"].iloc[-1]
        return (f"p(select the true model) does not cross {TARGET} between these {kind} levels "
                f"(at the most informative one, {kind} = {best_level:g}, it is {best_p:.2f})")


def _truth_problem(cfg: DesignConfig):
    """The true candidate bound to the design axis (data y = 1: only its curve is used)."""
    fc = cfg.models[cfg.truth_model]
    spec = Spectrum(cfg.x, np.ones_like(cfg.x), None, path=f"{cfg.source} (truth)")
    if fc.model.components:
        probs = composite_candidates(spec, fc, cfg.source, only=cfg.truth_K)
        return probs[0]
    m = fc.model
    return build_problem(cfg.x, np.ones_like(cfg.x), None, m.shape, int(cfg.truth_K),
                         m.background, m.degree, fc.priors, source=cfg.source)


def _named(params: Mapping, composite: bool, src: str, bg: list[str]) -> dict[str, float]:
    """truth.params -> {parameter name: value} in the Problem's names (``center[0]``,
    ``bulk.center[0]``); the background coefficients are given by position, named ``bg``
    (``background[c0]``, ...; ``background[j]`` beyond them)."""
    out: dict[str, float] = {}

    def put(prefix: str, block: Mapping, where: str) -> None:
        for kind, vals in block.items():
            vals = vals if isinstance(vals, (list, tuple)) else [vals]
            for k, v in enumerate(vals):
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                    raise ConfigError(f"{src}: {where}.{kind}[{k}]: must be a finite number, "
                                      f"got {v!r}")
                name = f"{prefix}{kind}[{k}]"
                out[bg[k] if kind == "background" and k < len(bg) else name] = float(v)

    for key, block in params.items():
        if key == "background":
            put("", {key: block}, "truth.params")
        elif composite:
            if not isinstance(block, Mapping):
                raise ConfigError(f"{src}: truth.params.{key}: a composite model's truth is "
                                  f"given per component: {key}: {{center: [..], ...}}")
            put(f"{key}.", block, f"truth.params.{key}")
        else:
            put("", {key: block}, "truth.params")
    return out


def _theta(cfg: DesignConfig, prob) -> np.ndarray:
    """The true packed parameters (P,) of the true candidate; fixed priors fill omitted ones.

    Lines may be listed in any order; ConfigError names a missing or unknown value."""
    composite = bool(cfg.models[cfg.truth_model].model.components)
    names = list(prob.param_names)
    named = _named(cfg.params, composite, cfg.source,
                   [n for n in names if n.startswith("background[")])
    theta, used = np.empty(len(names)), set()
    for i, (n, pr) in enumerate(zip(names, prob.priors)):
        if n in named:
            theta[i] = named[n]
            used.add(n)
        elif pr.fixed:
            theta[i] = pr.params[0]
        else:
            raise ConfigError(f"{cfg.source}: truth.params: no value for {n} (candidate "
                              f"{cfg.truth_K} of model {cfg.truth_model} has "
                              f"{', '.join(names)}); add it")
    extra = sorted(set(named) - used)
    if extra:
        raise ConfigError(f"{cfg.source}: truth.params: {', '.join(extra)} not in candidate "
                          f"{cfg.truth_K} of model {cfg.truth_model} (its parameters: "
                          f"{', '.join(names)}); remove them or change truth.K")
    lp = sum(float(p.logpdf(np.array(t))) for p, t in zip(prob.priors, theta))
    if not np.isfinite(lp):
        bad = [n for n, p, t in zip(names, prob.priors, theta)
               if not np.isfinite(float(p.logpdf(np.array(t))))]
        raise ConfigError(f"{cfg.source}: truth.params: {', '.join(bad)} outside the support "
                          f"of its prior in model {cfg.truth_model}; the truth must be a value "
                          f"the model can take")
    return theta


def _truth(cfg: DesignConfig):
    """(the true candidate's Problem, its true parameters (P,), its noiseless curve (n,))."""
    prob = _truth_problem(cfg)
    theta = _theta(cfg, prob)
    f = np.asarray(prob.curve(theta), dtype=float)
    if cfg.level_kind == "counting_time" and np.any(f < 0):
        raise ConfigError(f"{cfg.source}: truth.params: the true curve is negative somewhere "
                          f"(min {f.min():.4g}); Poisson counts need a mean >= 0")
    return prob, theta, f


def true_curve(cfg: DesignConfig) -> np.ndarray:
    """The noiseless true model f(x) (n,) on the design axis."""
    return _truth(cfg)[2]


def _seed(cfg: DesignConfig, i: int, r: int, *tail: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(cfg.seed, spawn_key=(i, r, *tail))


def simulate(cfg: DesignConfig, i: int, r: int, f: np.ndarray | None = None) -> np.ndarray:
    """Replicate r's data (n,) at level i: f + s N(0, 1), or Poisson(t f) counts."""
    f = true_curve(cfg) if f is None else f
    rng = np.random.default_rng(_seed(cfg, i, r))
    level = cfg.levels[i]
    if cfg.level_kind == "noise_sd":
        return f + level * rng.standard_normal(f.shape)
    return rng.poisson(level * f).astype(float)


def _fit_config(fc: FitConfig, cfg: DesignConfig, i: int, r: int,
                threads: int | None) -> FitConfig:
    seed = int(_seed(cfg, i, r, 1).generate_state(1, dtype=np.uint32)[0])
    samp = {"seed": seed, **({"threads": threads} if threads else {})}
    noise = None
    if cfg.level_kind == "noise_sd" and not fc.noise.estimate:
        noise = {"sd": cfg.levels[i]}  # a known noise is the level's
    return with_overrides(fc, sampler=samp, noise=noise)


def _truth_stats(fit, prob_truth, theta: np.ndarray, cfg: DesignConfig) -> dict:
    """Interval widths and coverage of the true candidate's lines, true lines sorted by
    center as the fit's relabelled lines are."""
    from ..io.store import to_datatree  # the posterior in the store's layout (its dims)

    comps = fit.components or None
    lines = line_draws(to_datatree(fit)["posterior"].to_dataset(), fit.shape, comps)
    names = list(prob_truth.param_names)
    out: dict[str, float] = {}
    for comp, qd in lines.items():
        pre = f"{comp}." if comp else ""
        K = qd["center"].shape[1]
        true = {q: np.array([theta[names.index(f"{pre}{q}[{k}]")] for k in range(K)])
                for q in ("center", "width", "amplitude")}
        order = np.argsort(true["center"], kind="stable")
        for k in range(K):
            for q in cfg.quantities:
                v = qd[q][:, k]
                lo, hi = np.quantile(v, [0.025, 0.975])
                col = f"{comp or 'peak'}{k + 1}_{q}"
                out[f"width_{col}"] = float(hi - lo)
                if q in true:
                    tv = true[q][order[k]]
                    out[f"covered_{col}"] = float(lo <= tv <= hi)
    out["converged"] = float(bool(fit.diagnostics.get("converged"))) if fit.diagnostics \
        else float("nan")
    return out


def run_design(cfg: DesignConfig, threads: int | None = None,
               progress: bool | None = None) -> DesignResult:
    """Simulate, fit and summarise every (level, replicate) of ``cfg``."""
    prob_truth, theta, f = _truth(cfg)
    show = sys.stderr.isatty() if progress is None else bool(progress)
    rows = []
    L, R = len(cfg.levels), cfg.replicates
    for i, level in enumerate(cfg.levels):
        for r in range(R):
            if show:
                print(f"bayespec design: {cfg.level_kind} = {level:g} ({i + 1}/{L}), replicate "
                      f"{r + 1}/{R}", file=sys.stderr, flush=True)
            y = simulate(cfg, i, r, f)
            spec = Spectrum(cfg.x, y, None, path=f"{cfg.source} {cfg.level_kind}={level:g} "
                                                 f"replicate {r}")
            cand = []
            for name, fc in cfg.models.items():
                out = fit_spectrum_config(spec, _fit_config(fc, cfg, i, r, threads), spec.path)
                for fit in out.fits:
                    cand.append((name, fit))
            F = np.array([fit.free_energy for _, fit in cand])
            p = model_probabilities(F)
            best = int(np.argmin(F))
            for j, (name, fit) in enumerate(cand):
                truth = name == cfg.truth_model and fit.label == cfg.truth_K
                row = {"level": level, "replicate": r, "model": name, "candidate": fit.label,
                       "K": fit.K, "free_energy": fit.free_energy,
                       "free_energy_se": fit.free_energy_se, "noise_sd": fit.noise_sd,
                       "probability": float(p[j]), "truth": truth, "selected": j == best}
                if truth:
                    row.update(_truth_stats(fit, prob_truth, theta, cfg))
                rows.append(row)
    records = pd.DataFrame(rows)
    summary = summarise_design(records, cfg)
    return DesignResult(cfg, records, summary, crossing(summary, cfg))


def wilson(p: float, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval (95 % for the default z) of a binomial proportion p of n
    trials: unlike p -+ z SE it stays inside [0, 1] and is not empty at p = 0 or 1."""
    d = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / d
    half = z / d * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, mid - half), min(1.0, mid + half)


def summarise_design(records: pd.DataFrame, cfg: DesignConfig) -> pd.DataFrame:
    """Per level: ``p_select_true`` (fraction of replicates selecting the truth), its
    binomial SE and its 95 % Wilson interval ``p_select_true_lo``/``_hi``, ``p_true_mean`` (mean p(true | D)), ``dF_median``, ``dF_q05``, ``dF_q95``
    (dF = F_true - min F_other, nats), ``F_se_max`` (the largest SE of any F at that level),
    ``converged`` (fraction of true-candidate fits converged), and per true line and reported
    quantity the median interval width ``width_*`` and the coverage ``covered_*`` (fraction
    of replicates whose 95 % interval holds the true value)."""
    out = []
    wcols = [c for c in records.columns if c.startswith(("width_", "covered_"))]
    for level, g in records.groupby("level", sort=False):
        t = g[g["truth"]].set_index("replicate")
        dF = []
        for r, gr in g.groupby("replicate"):
            others = gr.loc[~gr["truth"], "free_energy"]
            dF.append(float(t.loc[r, "free_energy"] - others.min()) if len(others) else np.nan)
        dF = np.array(dF)
        sel = t["selected"].astype(float).to_numpy()
        n = sel.size
        ps = float(sel.mean())
        lo, hi = wilson(ps, n)
        row = {"level": level, "replicates": n, "p_select_true": ps,
               "p_select_true_se": math.sqrt(max(ps * (1 - ps), 0.0) / n),
               "p_select_true_lo": lo, "p_select_true_hi": hi,
               "p_true_mean": float(t["probability"].mean()),
               "dF_median": float(np.nanmedian(dF)) if np.isfinite(dF).any() else np.nan,
               "dF_q05": float(np.nanquantile(dF, 0.05)) if np.isfinite(dF).any() else np.nan,
               "dF_q95": float(np.nanquantile(dF, 0.95)) if np.isfinite(dF).any() else np.nan,
               "F_se_max": float(g["free_energy_se"].max()),
               "converged": float(t["converged"].mean()) if "converged" in t else np.nan}
        for c in wcols:
            v = t[c].to_numpy(float)
            row[c] = float(np.nanmedian(v) if c.startswith("width_") else np.nanmean(v))
        out.append(row)
    return pd.DataFrame(out)


def crossing(summary: pd.DataFrame, cfg: DesignConfig) -> float | None:
    """The level where p_select_true first reaches TARGET going from the least to the most
    informative level (largest to smallest noise sd; shortest to longest counting time),
    interpolated linearly in log level; None if it is never crossed between two levels."""
    s = summary.sort_values("level", ascending=cfg.level_kind == "counting_time")
    lv, p = s["level"].to_numpy(float), s["p_select_true"].to_numpy(float)
    for a in range(len(lv) - 1):
        if p[a] < TARGET <= p[a + 1]:
            u = (TARGET - p[a]) / (p[a + 1] - p[a])
            return float(np.exp(np.log(lv[a]) + u * (np.log(lv[a + 1]) - np.log(lv[a]))))
    return None


def write_design(res: DesignResult, out: str | Path) -> Path:
    """OUT/design_records.csv, OUT/design.json (config, seed, versions, crossing), the figure
    OUT/design.png and .pdf, and OUT/design_summary.csv last (its presence means the rest is
    complete). Every table is written atomically. Returns the summary's path."""
    from ..io.store import write_table_atomic
    from ..plots.design import design_figure, save  # plots sit above inference: on use only

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    cfg = res.config
    write_table_atomic(d / "design_records.csv",
                       res.records.to_csv(index=False, float_format="%.6g"))
    meta = {"source": cfg.source, "seed": cfg.seed, "level_kind": cfg.level_kind,
            "levels": list(cfg.levels), "replicates": cfg.replicates,
            "truth": {"model": cfg.truth_model, "K": cfg.truth_K, "params": cfg.params},
            "models": {n: c.raw for n, c in cfg.models.items()}, "target": TARGET,
            "crossing": res.crossing, "versions": package_versions()}
    write_table_atomic(d / "design.json", json.dumps(meta, indent=1, default=str) + "\n")
    save(design_figure(res), d / "design")
    return write_table_atomic(d / "design_summary.csv",
                              res.summary.to_csv(index=False, float_format="%.6g"))
