"""The Python API for notebooks and scripts: :func:`fit` and :func:`integrate`.

``bayespec.fit(x, y, config)`` runs exactly the computation of
``bayespec fit FILE --config FIT.yaml`` (the same problems, settings, seeds and predictive
bands: both call :func:`bayespec.inference.runner.fit_spectrum_config`), so ``result.table`` is the
frame the command writes as model_selection.csv, bit for bit, and ``result.write(dir)``
writes the same files. ``bayespec.integrate(group)`` is ``bayespec integrate GROUP.yaml``
(the command calls it)::

    import bayespec
    res = bayespec.fit(x, y, {"model": {"K": [1, 2, 3]}, "noise": {"estimate": True}})
    res.table            # K, free_energy, free_energy_se, noise_sd, probability, checks
    res.best             # the selected K's KFit (res.K is that K)
    res.summary()        # its peak parameters: mean, sd, 95 % interval, MAP; and the noise
    res.plot()           # matplotlib Figure (data, posterior mean, bands, components)
    res.posterior()      # its xarray DataTree, the store's layout (ArviZ groups)

Progress: a long fit prints a line such as
``bayespec: K=3 chain 2/4 sweep 1800/6000; all chains 30 %, 12 s`` to stderr at most every
:attr:`Progress.interval` seconds, and a final line. ``progress=None`` (the default) reports
when stderr is a terminal (not in a notebook or a workflow log), ``True`` / ``False`` force it
on / off, a :class:`Progress` instance sets the interval or the stream. Progress never changes
a number: a chain is then run in pieces that end where the kernel recomputes its state anyway.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from .config import FitConfig, load_fit_config, parse_fit_config
from .errors import ConfigError, DataError
from .inference.result import KFit
from .inference.runner import fit_spectrum_config, write_fit_outputs
from .io.spectrum import Spectrum, check_axis

__all__ = ["fit", "integrate", "FitResult", "IntegrateResult", "Progress", "InputError"]

#: how the data of :func:`fit` are named in messages (build_problem's ``source``)
SOURCE = "fit(x, y)"
PROGRESS_INTERVAL = 3.0  # seconds between progress lines, at most one per interval


class InputError(DataError, ValueError):
    """Bad arrays given to :func:`fit` (or as ``spectra`` to :func:`integrate`): both a
    :class:`~bayespec.errors.DataError` (as a bad data file) and a ValueError."""


# ============================================================================= progress

class Progress:
    """Progress lines on ``stream`` (default: the current sys.stderr).

    :meth:`begin` prints a start line; the sampler then calls the instance as
    ``progress(job, chain, sweeps_done, total)`` from its worker threads (numba backend, every
    500 sweeps of a chain), and a line is printed when ``interval`` seconds have passed since
    the last one; :meth:`end` prints the final line. Thread-safe.
    """

    def __init__(self, interval: float = PROGRESS_INTERVAL, stream: IO[str] | None = None,
                 prefix: str = "bayespec"):
        self.interval = float(interval)
        self.stream = stream
        self.prefix = prefix
        self._lock = threading.Lock()
        self._labels: list[str] = []
        self._chains = 0
        self._total = 0
        self._done: dict[tuple[int, int], tuple[int, int]] = {}
        self._t0 = self._last = time.monotonic()
        self.lines = 0  # lines printed since begin

    def _print(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stderr
        print(f"{self.prefix}: {text}", file=stream, flush=True)
        self.lines += 1

    def begin(self, text: str, labels: Sequence[str] = (), chains: int = 0,
              total: int = 0) -> None:
        """Start a run: print ``text``; ``labels`` name the jobs (K=1, K=2...), each with
        ``chains`` chains of ``total`` sweeps (burn-in included)."""
        with self._lock:
            self._labels, self._chains, self._total = list(labels), int(chains), int(total)
            self._done.clear()
            self._t0 = self._last = time.monotonic()
            self.lines = 0
            self._print(text)

    def stage(self, text: str, labels: Sequence[str] = (), chains: int = 0,
              total: int = 0) -> "Progress":
        """A new stage of the same run (integration: each data set's separate fits, then each
        joint fit): print ``text``; the jobs are ``labels``; the clock keeps running."""
        with self._lock:
            self._labels, self._chains, self._total = list(labels), int(chains), int(total)
            self._done.clear()
            self._print(text)
        return self

    def fraction(self) -> float:
        """Fraction of all sweeps of the run done so far (0 before any report)."""
        expected = len(self._labels) * self._chains
        tasks = max(expected, len(self._done))
        if not tasks:
            return 0.0
        done = sum(d for d, _ in self._done.values())
        total = sum(t for _, t in self._done.values()) + (tasks - len(self._done)) * self._total
        return done / total if total else 0.0

    def __call__(self, job: int, chain: int, done: int, total: int) -> None:
        with self._lock:
            self._done[(job, chain)] = (int(done), int(total))
            now = time.monotonic()
            if now - self._last < self.interval:
                return
            self._last = now
            label = self._labels[job] if job < len(self._labels) else f"job {job}"
            chains = f"/{self._chains}" if self._chains else ""
            self._print(f"{label} chain {chain + 1}{chains} sweep {done}/{total}; all chains "
                        f"{100 * self.fraction():.0f} %, {now - self._t0:.0f} s")

    def end(self, text: str) -> None:
        """Print the final line: ``text`` and the seconds since :meth:`begin`."""
        with self._lock:
            self._print(f"{text}; {time.monotonic() - self._t0:.1f} s")


def reporter(progress: bool | Progress | None) -> Progress | None:
    """The Progress for a ``progress`` argument: None = on when stderr is a terminal."""
    if isinstance(progress, Progress):
        return progress
    if progress is None:
        try:
            progress = sys.stderr.isatty()
        except (AttributeError, ValueError):  # a closed or replaced stream
            progress = False
    if not isinstance(progress, bool):
        raise TypeError(f"progress: give True, False, None (on when stderr is a terminal) or a "
                        f"bayespec.api.Progress, got {type(progress).__name__}")
    return Progress() if progress else None


def begin_fit(rep: Progress | None, cfg: FitConfig) -> None:
    """The start line of fitting every K of ``cfg`` (the CLI and :func:`fit`)."""
    if rep is None:
        return
    sp, Ks = cfg.sampler, cfg.model.K
    note = "" if sp.backend == "numba" else (f"; backend {sp.backend}: no per-chain progress "
                                             f"lines")
    labels = [f"K={K}" for K in Ks]
    if cfg.model.components:  # one job per candidate: its counts per component
        comps = cfg.model.components
        labels = [",".join(f"{c.name}={k}" for c, k in zip(comps, ks))
                  for ks in itertools.product(*[c.K for c in comps])]
        Ks = ["-".join(map(str, ks)) for ks in itertools.product(*[c.K for c in comps])]
    rep.begin(f"fitting K={','.join(map(str, Ks))}: {sp.chains} chains x {sp.burn_in} + "
              f"{sp.sweeps} sweeps each{note}", labels, sp.chains, sp.burn_in + sp.sweeps)


def end_fit(rep: Progress | None, table: pd.DataFrame) -> None:
    """The final line of a fit: the selected K."""
    if rep is not None:
        best = table.loc[table["probability"].idxmax()]
        rep.end(f"done: selected K = {int(best.K)} (p = {best.probability:.3f})")


# ============================================================================= inputs

def _vector(name: str, v: Any) -> np.ndarray:
    try:
        a = np.array(v, dtype=np.float64)  # a copy: the caller's array is never changed
    except (TypeError, ValueError) as e:
        raise InputError(f"{name}: cannot be read as numbers ({e}); pass a 1-D sequence or "
                         f"numpy array of floats") from None
    if a.ndim != 1:
        raise InputError(f"{name}: must be 1-D (one spectrum), got shape {a.shape}; pass one "
                         f"row, e.g. {name}[0], or {name}.ravel()")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"{name}[{i}] is {float(a[i])!r} ({bad.size} non-finite value(s) "
                         f"in {name}); drop those points from x, y (and sd) or replace them "
                         f"with finite numbers")
    return a


def spectrum_from_arrays(x: Any, y: Any, sd: Any = None, prefix: str = "") -> Spectrum:
    """Validate arrays as the file readers validate a file: 1-D, finite, equal lengths, sd > 0,
    x strictly monotone (a strictly decreasing x, e.g. binding energy, is reversed to
    increasing order, all arrays together, as the readers do). Raises InputError naming the
    argument (``prefix`` + x / y / sd) and the fix."""
    nx, ny, ns = f"{prefix}x", f"{prefix}y", f"{prefix}sd"
    xa, ya = _vector(nx, x), _vector(ny, y)
    if xa.size == 0:
        raise InputError(f"{nx}: no points; pass the spectrum's axis and values")
    if ya.size != xa.size:
        raise InputError(f"{ny}: has {ya.size} points but {nx} has {xa.size}; {nx} and {ny} "
                         f"must have the same length")
    sa = None
    if sd is not None:
        sa = _vector(ns, sd)
        if sa.size != xa.size:
            raise InputError(f"{ns}: has {sa.size} points but {nx} has {xa.size}; give one sd "
                             f"per point, or sd=None to estimate a single noise level")
        low = np.flatnonzero(sa <= 0)
        if low.size:
            i = int(low[0])
            raise InputError(f"{ns}[{i}] = {float(sa[i])!r}: sd must be > 0; give positive sds, "
                             f"remove the point, or pass sd=None to estimate the noise")
    try:
        rev = check_axis(nx, xa, [f"{nx}[{i}]" for i in range(xa.size)])
    except DataError as e:
        raise InputError(str(e)) from None
    if rev:
        xa, ya = xa[::-1].copy(), ya[::-1].copy()
        sa = None if sa is None else sa[::-1].copy()
    return Spectrum(xa, ya, sa, SOURCE if not prefix else prefix.rstrip(". "), reversed=rev)


def fit_config(config: Mapping | str | os.PathLike | FitConfig | None) -> FitConfig:
    """A FitConfig from a FIT.yaml mapping, a path to a FIT.yaml, a FitConfig, or None (the
    defaults, as `bayespec fit` without --config)."""
    if config is None:
        return parse_fit_config(None, "<defaults>")
    if isinstance(config, FitConfig):
        return config
    if isinstance(config, Mapping):
        return parse_fit_config(config, "<config>")
    if isinstance(config, (str, os.PathLike)):
        return load_fit_config(config)
    raise TypeError(f"config: give a FIT.yaml mapping (dict), a path to a FIT.yaml or None "
                    f"for the defaults, got {type(config).__name__}")


# ============================================================================= fit

class FitResult:
    """The result of :func:`fit`: every K's fit and the model selection.

    Attributes:
        table: model_selection.csv's frame: K, free_energy, free_energy_se, noise_sd,
            probability (one row per K, in config order), K_<component> of a composite model,
            then the checks sweeps (run per chain), rhat_max, ess_min, F_chain_spread,
            converged, chi2_n, ppc_p, adequate (README, "Convergence and goodness of fit").
        fits: one :class:`~bayespec.inference.result.KFit` per K (same order): posterior draws,
            ladder, free energy, noise, predictive band (``.predictive``), warnings.
        problems: the :class:`~bayespec.models.model.Problem` of each K (model bound to the
            data).
        config: the validated FitConfig.
        K: the selected K (largest p(K | D), as `bayespec fit` prints).
        best: the selected K's KFit; its ``K``, ``free_energy``, ``free_energy_se``,
            ``noise_sd`` (estimated at the free-energy minimum, or given; NaN for Poisson),
            ``noise_estimated``, ``posterior`` (name -> (chain, draw[, peak|coef]) arrays,
            peaks ordered by center), ``predictive`` and ``warnings``.
    """

    def __init__(self, problems: list, fits: list[KFit], table: pd.DataFrame,
                 config: FitConfig):
        self.problems = problems
        self.fits = fits
        self.table = table
        self.config = config
        self._trees: dict[int | str, Any] = {}

    @property
    def K(self) -> int:
        """The selected K: largest probability (the row `bayespec fit` reports); for a
        composite model the selected candidate's total number of peaks (its counts per
        component: ``best.components``)."""
        return int(self.table.loc[self.table["probability"].idxmax(), "K"])

    @property
    def best(self) -> KFit:
        """The selected candidate's KFit (table row of the largest probability)."""
        return self.fits[int(np.argmax(self.table["probability"].to_numpy()))]

    @property
    def warnings(self) -> list[str]:
        """Every fit's warnings (e.g. a pair of rungs that barely swaps)."""
        return [w for f in self.fits for w in f.warnings]

    def fit_of(self, K: int | str | None = None) -> KFit:
        """The KFit of ``K`` (default: the selected one): a K, or a composite candidate's
        label (its counts joined by '-', as in its file name K<label>.zarr)."""
        if K is None:
            return self.best
        if isinstance(K, str):
            for f in self.fits:
                if f.label == K:
                    return f
            raise ValueError(f"K={K!r}: not fitted; the candidates are "
                             f"{[f.label for f in self.fits]}")
        hits = [f for f in self.fits if f.K == int(K)]
        if len(hits) > 1:
            raise ValueError(f"K={K}: several composite candidates have {K} peaks "
                             f"({', '.join(f.label for f in hits)}); give the label")
        if not hits:
            raise ValueError(f"K={K}: not fitted; the fitted K are {[f.K for f in self.fits]}")
        return hits[0]

    @staticmethod
    def _key(f: KFit) -> int | str:
        """trees' key of a fit: its K, or a composite candidate's label."""
        return f.label if f.components else f.K

    @property
    def trees(self) -> dict[int, Any]:
        """K -> the posterior as an xarray DataTree: exactly the tree `bayespec fit` writes
        to K{K}.zarr (store.to_datatree: posterior, sample_stats, observed_data,
        constant_data, ladder, predictive; fit metadata in the root attrs)."""
        for f in self.fits:
            self.posterior(self._key(f))
        return dict(self._trees)

    def posterior(self, K: int | None = None):
        """The DataTree of ``K`` (default: the selected K); see :attr:`trees`. Built once and
        cached. ``bayespec.io.store.to_inference_data(tree)`` gives an ArviZ InferenceData."""
        f = self.fit_of(K)
        key = self._key(f)
        if key not in self._trees:
            from .io.store import to_datatree

            self._trees[key] = to_datatree(f)
        return self._trees[key]

    def summary(self, K: int | None = None) -> pd.DataFrame:
        """The posterior of ``K`` (default: the selected K) as `bayespec summary` prints it:
        one row per (peak, quantity) with columns peak, quantity, mean, sd, q2.5, q50, q97.5,
        map, for center, width, amplitude (and shape extras), area and fwhm of every peak
        (ordered by center), the background coefficients (peak = -1) and a ``noise_sd`` row
        (peak = -1): the noise is not sampled but chosen at the free-energy minimum (or given),
        so its mean and map are that value and its sd and quantiles NaN (no row for Poisson)."""
        from .inference.summary import component_table, peak_table

        f = self.fit_of(K)
        tree = self.posterior(self._key(f))
        post, lp = tree["posterior"].to_dataset(), np.asarray(tree["sample_stats"]["lp"])
        tab = component_table(post, lp, f.components) if f.components else \
            peak_table(post, lp, str(tree.attrs["shape"]))
        if f.likelihood != "poisson":
            nan = float("nan")
            noise = {**({"component": ""} if f.components else {}), "peak": -1,
                     "quantity": "noise_sd", "mean": float(f.noise_sd), "sd": nan,
                     "q2.5": nan, "q50": nan, "q97.5": nan, "map": float(f.noise_sd)}
            tab = pd.concat([tab, pd.DataFrame([noise])], ignore_index=True)
        return tab

    def averaged(self) -> dict[str, float]:
        """Quantities averaged over every candidate with weights p(candidate | D), the campaign
        summary's ``_avg`` columns (inference/averaging.py): ``K_avg``, ``noise_sd_avg``, and
        per line of the selected candidate ``{line}_p`` (the probability that the data hold
        it) and ``{line}_{q}_avg``, ``_avg_lo``, ``_avg_hi`` for center, width, amplitude and
        area (mixture mean and 95 % interval)."""
        from .inference.averaging import line_draws, model_average

        lines = [line_draws(self.posterior(self._key(f))["posterior"].to_dataset(), f.shape,
                            f.components or None) for f in self.fits]
        p = self.table["probability"].to_numpy(float)
        noise = self.table["noise_sd"].to_numpy(float)
        return model_average(lines, p, int(np.argmax(p)), self.table["K"].to_numpy(int),
                             None if np.all(np.isnan(noise)) else noise)

    def plot(self, K: int | None = None, kind: str = "fit"):
        """A matplotlib Figure (Agg canvas; not shown, not saved: ``fig.savefig(...)``), as
        `bayespec plot` draws it. ``kind``: ``fit`` (data, posterior mean fit, 95 % credible
        and predictive bands, components and residuals of ``K``, default the selected K),
        ``positions`` (peak-center marginals of ``K``), ``free_energy`` (F and p(K | D) over
        K), ``noise`` (F along the noise ladder, every K), ``swap`` (swap acceptance)."""
        from . import plots

        if kind == "fit":
            return plots.fit_figure(self.posterior(K))
        if kind == "positions":
            return plots.positions_figure(self.posterior(K))
        if kind == "free_energy":
            return plots.free_energy_figure(self.table)
        if kind in ("noise", "swap"):
            figure = plots.noise_figure if kind == "noise" else plots.swap_figure
            return figure(list(self.trees.values()))
        raise ValueError(f"kind: unknown figure {kind!r}; choose fit, positions, free_energy, "
                         f"noise or swap")

    def write(self, out: str | os.PathLike) -> Path:
        """Write what `bayespec fit ... --out DIR` writes: DIR/K{K}.zarr for every K, then
        DIR/model_selection.csv (last). Returns the table's path."""
        return write_fit_outputs(out, self.fits, self.table)

    def __repr__(self) -> str:
        f = self.best
        noise = "Poisson counts" if f.likelihood == "poisson" else (
            f"noise sd = {f.noise_sd:.4g} ({'estimated' if f.noise_estimated else 'given'})")
        p = float(self.table.loc[self.table["probability"].idxmax(), "probability"])
        return (f"<bayespec FitResult: selected K = {f.K} (p = {p:.3f}), {noise}, "
                f"F = {f.free_energy:.3f} ± {f.free_energy_se:.3f}>\n"
                + self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def fit(x: Any, y: Any, config: Mapping | str | os.PathLike | FitConfig | None = None,
        sd: Any = None, *, progress: bool | Progress | None = None) -> FitResult:
    """Fit every K of ``config`` to the spectrum (x, y[, sd]) by exchange Monte Carlo and
    select K by the free energy; the computation of ``bayespec fit FILE --config FIT.yaml``.

    x, y: 1-D arrays of equal length, finite; x strictly increasing (a strictly decreasing x
    is reversed with y and sd, as the file readers do). config: a FIT.yaml mapping (dict), a
    path to a FIT.yaml, or None for the defaults (every key: README "FIT.yaml"). sd: optional
    per-point standard deviations (> 0), as a data file's third column: the likelihood weights
    1/sd_i^2 and ``noise.estimate`` estimates their common scale (``noise.sd`` is then
    refused). progress: see the module docstring (None: on when stderr is a terminal).

    Returns a :class:`FitResult`. Bad arrays raise :class:`InputError` (a ValueError and a
    bayespec DataError), a bad config a :class:`~bayespec.errors.ConfigError`; the messages
    name the argument or key and the fix.
    """
    spec = spectrum_from_arrays(x, y, sd)
    cfg = fit_config(config)
    if spec.sd is not None and cfg.noise.sd is not None:
        raise ConfigError(f"sd: per-point sds are given and {cfg.source} sets noise.sd; remove "
                          f"noise.sd to use the sds (their scale is then estimated), or pass "
                          f"sd=None to use a single noise level")
    rep = reporter(progress)
    begin_fit(rep, cfg)
    out = fit_spectrum_config(spec, cfg, SOURCE, progress=rep)
    end_fit(rep, out.table)
    return FitResult(out.problems, out.fits, out.table, cfg)


# ============================================================================= integrate

class IntegrateResult:
    """The result of :func:`integrate` (what `bayespec integrate` writes).

    Attributes:
        result: the underlying :class:`bayespec.inference.integrate.IntegrationResult`.
        table: integration.csv's frame: rows joint and separate; model, free_energy,
            free_energy_se, K, noise_sd, delta, delta_se, verdict.
        selection: joint_selection.csv's frame: one row per K combination (K_<ds>...,
            free_energy, free_energy_se, probability).
        verdict: ``joint`` (sharing supported: delta < -3 SE), ``separate`` or ``undecided``.
        delta, delta_se: F_joint - F_separate and its SE (nats).
        separate: data set -> :class:`FitResult` of its own fit (every K of its model.K).
        joint: one JointFit per K combination; ``best_joint`` the selected one.
        config: the validated GroupConfig.
    """

    def __init__(self, result, separate: dict[str, FitResult]):
        self.result = result
        self.separate = separate
        self._trees: dict[str, Any] = {}

    config = property(lambda self: self.result.cfg)
    table = property(lambda self: self.result.table)
    selection = property(lambda self: self.result.selection)
    joint = property(lambda self: self.result.joint)
    best_joint = property(lambda self: self.result.joint[self.result.best])
    verdict = property(lambda self: str(self.result.table["verdict"].iloc[0]))
    delta = property(lambda self: float(self.result.table["delta"].iloc[0]))
    delta_se = property(lambda self: float(self.result.table["delta_se"].iloc[0]))

    @property
    def warnings(self) -> list[str]:
        """Every data set's separate-fit warnings, every joint fit's sampler warnings (a
        target_se missed after all sweeps or never applied), then the selected joint fit's: it
        has not converged (R-hat, ESS or the chains' F_joint; the reasons)."""
        out = [w for r in self.separate.values() for w in r.warnings]
        out += [w for j in self.joint for w in j.diagnostics.get("sampler_warnings", [])]
        d = self.best_joint.diagnostics
        if d and not d["converged"]:
            k = "-".join(map(str, self.best_joint.model.Ks))
            out.append(f"the selected joint fit K={k} has not converged: "
                       f"{'; '.join(d['convergence_reasons'])}; its F_joint, the verdict and "
                       f"its posterior are not reliable (run more sampler.sweeps)")
        return out

    def _joint_of(self, combo) -> Any:
        from .inference.integrate_output import combo_name

        if combo is None:
            return self.best_joint
        want = combo if isinstance(combo, str) else "K" + "-".join(str(int(k)) for k in combo)
        for j in self.joint:
            if combo_name(j) == want:
                return j
        raise ValueError(f"combo: no joint fit {want}; the K combinations are "
                         f"{[combo_name(j) for j in self.joint]}")

    @property
    def trees(self) -> dict[str, Any]:
        """Combination name (``K2-3``: K of each data set in group order; a composite data
        set gives its components' counts, ``K1-2-3`` for A = 1-2, B = 3) -> the joint
        posterior as a DataTree, the tree written to joint/<name>.zarr
        (integrate_output.joint_datatree)."""
        from .inference.integrate_output import combo_name

        for j in self.joint:
            self.posterior(combo_name(j))
        return dict(self._trees)

    def posterior(self, combo: str | Sequence[int] | None = None):
        """The joint DataTree of ``combo`` (``"K2-3"`` or (2, 3); default: the selected
        combination); see :attr:`trees`."""
        from .inference.integrate_output import combo_name, joint_datatree

        j = self._joint_of(combo)
        name = combo_name(j)
        if name not in self._trees:
            self._trees[name] = joint_datatree(j, self.result)
        return self._trees[name]

    def summary(self, combo: str | Sequence[int] | None = None) -> pd.DataFrame:
        """The joint posterior of ``combo`` (default: the selected one), one row per
        (data set, peak, quantity): columns dataset, peak, quantity, mean, sd, q2.5, q50,
        q97.5, map, as :meth:`FitResult.summary` per data set (ties applied, so tied
        parameters repeat), then the offsets (dataset ``offset``) and each data set's noise sd
        (fixed in the joint fit: sd and quantiles NaN). With a composite data set a
        ``component`` column names its rows' component (empty for everything else)."""
        import xarray as xr

        from .inference.summary import _stats, component_table, peak_table

        j = self._joint_of(combo)
        tree = self.posterior(combo)
        post = tree["posterior"].to_dataset()
        lp = np.asarray(tree["sample_stats"]["lp"])
        imap = int(np.argmax(lp.ravel()))
        parts = []
        for name, prob in zip(j.model.names, j.model.problems):
            if hasattr(prob, "Ks"):  # a composite data set: per component
                keys = [k for k in post.data_vars if k == f"{name}_background" or any(
                    f"{name}_{c.name}_peak" in post[k].dims for c in prob.components)]
                sub = post[keys].rename({k: k[len(name) + 1:] for k in keys}).rename(
                    {f"{name}_{c.name}_peak": f"{c.name}_peak" for c in prob.components} |
                    {f"{name}_coef": "coef"})
                tab = component_table(sub, lp, {c.name: {"shape": c.shape.name, "K": c.K}
                                                for c in prob.components})
                tab.insert(0, "dataset", name)
                parts.append(tab)
                continue
            keys = [*prob.peak_vars, "background"]
            sub = xr.Dataset({k: post[f"{name}_{k}"] for k in keys}).rename(
                {f"{name}_peak": "peak", f"{name}_coef": "coef"})
            tab = peak_table(sub, lp, prob.shape.name)
            tab.insert(0, "dataset", name)
            parts.append(tab)
        rows = [{"dataset": "offset", "peak": -1, **_stats(k[len("offset_"):],
                                                             np.asarray(post[k]).ravel(), imap)}
                for k in post.data_vars if k.startswith("offset_")]
        nan = float("nan")
        const = tree["constant_data"].to_dataset()
        for name in j.model.names:
            if f"{name}_noise_sd" not in const:
                continue
            s = float(const[f"{name}_noise_sd"])
            rows.append({"dataset": name, "peak": -1, "quantity": "noise_sd", "mean": s,
                         "sd": nan, "q2.5": nan, "q50": nan, "q97.5": nan, "map": s})
        out = pd.concat(parts + [pd.DataFrame(rows)], ignore_index=True)
        if "component" in out.columns:  # a composite data set: its component, else empty
            comp = out.pop("component").fillna("")
            out.insert(1, "component", comp)
        return out

    def plot(self):
        """The integration figure (a matplotlib Figure, not shown or saved): each data set
        with its joint fit and its separate fit dashed; per tie, the tied parameter's
        marginal, joint versus separate."""
        from .plots.integration import integration_figure

        return integration_figure(self.result)

    def write(self, out: str | os.PathLike) -> Path:
        """Write what `bayespec integrate GROUP.yaml --out DIR` writes (integrate_output:
        stores, joint_selection.csv, the figure, integration.csv last); returns
        integration.csv's path."""
        from .sampling import checkpoint
        from .inference.integrate_output import write_integration

        path = write_integration(self.result, out)
        for c in self.result.checkpoints:  # the outputs are safe: the checkpoints can go
            checkpoint.remove(c)
        return path

    def __repr__(self) -> str:
        return (f"<bayespec IntegrateResult: verdict {self.verdict}, F_joint - F_separate = "
                f"{self.delta:.3f} ± {self.delta_se:.3f}>\n"
                + self.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


def _group_spectra(spectra: Mapping[str, Any] | None) -> dict[str, Spectrum] | None:
    if spectra is None:
        return None
    out = {}
    for name, v in spectra.items():
        if isinstance(v, Spectrum):
            out[name] = v
            continue
        if isinstance(v, Mapping):
            x, y, sd = v.get("x"), v.get("y"), v.get("sd")
        elif isinstance(v, (tuple, list)) and len(v) in (2, 3):
            x, y, sd = (*v, None)[:3]
        else:
            raise InputError(f"spectra[{name!r}]: give (x, y), (x, y, sd), a mapping with keys "
                             f"x, y[, sd] or a bayespec.io.spectrum.Spectrum")
        out[name] = spectrum_from_arrays(x, y, sd, prefix=f"spectra[{name!r}].")
    return out


def integrate(group: Mapping | str | os.PathLike, *, base: str | os.PathLike | None = None,
              spectra: Mapping[str, Any] | None = None,
              progress: bool | Progress | None = None,
              checkpoint: str | os.PathLike | None = None) -> IntegrateResult:
    """Fit a group of data sets separately and jointly (shared parameters by ties) and give the
    verdict: ``bayespec integrate GROUP.yaml`` (README "Bayesian integration").

    group: a path to a GROUP.yaml (its data paths are relative to the file), a GROUP.yaml
    mapping (data paths relative to ``base``, default the current directory) or a validated
    GroupConfig. spectra (with a mapping only): data set name -> (x, y), (x, y, sd) or
    {"x": ..., "y": ..., "sd": ...} for data in memory; that data set's ``data`` key may then
    be omitted. progress: a line at the start of every fit of the group (each data set's
    separate fits, each joint K combination) and the per-chain lines of fit(). checkpoint: a directory where every fit of
    the group checkpoints its sampler state (resumed from on a rerun; SIGTERM saves and raises
    FitInterrupted); :meth:`IntegrateResult.write` deletes the files once the outputs are
    written.

    Returns an :class:`IntegrateResult`; the separate fits carry their predictive bands.
    """
    from .inference.integrate import GroupConfig, integrate as run, load_group_config, \
        parse_group_config
    from .inference.runner import add_predictive
    from .inference.selection import selection_table

    if isinstance(group, GroupConfig):
        cfg = group
    elif isinstance(group, Mapping):
        cfg = parse_group_config(group, "<group>", Path(base) if base is not None else Path("."),
                                 spectra=_group_spectra(spectra))
    elif isinstance(group, (str, os.PathLike)):
        if spectra is not None or base is not None:
            raise TypeError("spectra / base: only with a GROUP.yaml mapping; a GROUP.yaml file's "
                            "data paths are relative to the file")
        cfg = load_group_config(group)
    else:
        raise TypeError(f"group: give a path to a GROUP.yaml or a GROUP.yaml mapping, got "
                        f"{type(group).__name__}")
    rep = reporter(progress)
    if rep is not None:
        names = [s.name for s in cfg.datasets]
        n = int(np.prod([len(s.fit.model.K) if not s.fit.model.components else
                         int(np.prod([len(c.K) for c in s.fit.model.components]))
                         for s in cfg.datasets]))
        sp = cfg.sampler
        rep.begin(f"integrating {', '.join(names)}: separate fits, then {n} joint K "
                  f"combination(s); {sp.chains} chains x {sp.burn_in} + {sp.sweeps} sweeps "
                  f"each")
    stage = None if rep is None else (
        lambda text, labels: rep.stage(text, labels, cfg.sampler.chains,
                                       cfg.sampler.burn_in + cfg.sampler.sweeps))
    res = run(cfg, checkpoint, stage)
    separate = {}
    for s in cfg.datasets:
        fits = res.separate[s.name]
        add_predictive(res.problems[s.name], fits, cfg.sampler.seed)
        separate[s.name] = FitResult(res.problems[s.name], fits, selection_table(fits), s.fit)
    out = IntegrateResult(res, separate)
    if rep is not None:
        rep.end(f"done: verdict {out.verdict} (F_joint - F_separate = {out.delta:.3f} ± "
                f"{out.delta_se:.3f})")
    return out
