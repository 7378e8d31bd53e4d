"""Figures from bayespec results: fit, free energy over K, noise, peak positions, swap rates,
campaign overview.

Every function takes data (a store's ``xr.DataTree`` as returned by
:func:`bayespec.io.store.read_fit`, or a path to one; pandas tables) and returns a
:class:`matplotlib.figure.Figure` built with the object-oriented API and an Agg canvas: no
pyplot state, no display, safe from worker threads. :func:`save` writes PNG and PDF;
:func:`figures_for_dir` / :func:`write_figures` cover a whole ``bayespec fit`` output directory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "fit_figure", "free_energy_figure", "noise_figure", "positions_figure", "swap_figure",
    "campaign_figure", "figures_for_dir", "write_figures", "save", "SWAP_WARN",
]

#: swap acceptance below this between neighbouring rungs suggests too wide a ladder spacing
SWAP_WARN = 0.2

TreeLike = Union[xr.DataTree, str, os.PathLike]
_FAILED = re.compile(r"fail|error|crash|timeout|exception|abort", re.IGNORECASE)


# ----------------------------------------------------------------------------- helpers
def _figure(w: float, h: float) -> Figure:
    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _tree(t: TreeLike) -> xr.DataTree:
    if isinstance(t, xr.DataTree):
        return t
    from ..io.store import read_fit

    return read_fit(t)


def _trees(t: TreeLike | Iterable[TreeLike]) -> list[xr.DataTree]:
    items = [t] if isinstance(t, (xr.DataTree, str, os.PathLike)) else list(t)
    return sorted((_tree(i) for i in items), key=_K)


def _K(tree: xr.DataTree) -> int:
    if "K" in tree.attrs:
        return int(tree.attrs["K"])
    return int(tree["posterior"].sizes.get("peak", 0)) if "posterior" in tree.children else 0


def _f(tree: xr.DataTree, name: str) -> float:
    try:
        return float(tree.attrs[name])
    except (KeyError, TypeError, ValueError):
        return float("nan")


def _group(tree: xr.DataTree, name: str) -> xr.Dataset | None:
    return tree[name].to_dataset() if name in tree.children else None


def _arr(ds: xr.Dataset | None, name: str) -> np.ndarray | None:
    if ds is None or name not in ds:
        return None
    return np.asarray(ds[name], dtype=float)


def peak_colour(k: int) -> str:
    """Colour of peak ``k`` in every figure (tab10 without the blue used for the fit curve)."""
    return f"C{1 + k % 9}"


def _k_colour(i: int) -> str:
    return f"C{i % 10}"


def _pm(v: float, se: float) -> str:
    if not np.isfinite(v):
        return "n/a"
    return f"{v:.2f} ± {se:.2f}" if np.isfinite(se) else f"{v:.2f}"


def _note(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="0.4")


def save(fig: Figure, stem: str | os.PathLike) -> list[Path]:
    """Write ``fig`` as ``stem.png`` (150 dpi) and ``stem.pdf``; return both paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    out = []
    for ext, meta in (("png", None), ("pdf", {"CreationDate": None})):
        p = stem.parent / f"{stem.name}.{ext}"
        fig.savefig(p, dpi=150, format=ext, metadata=meta)
        out.append(p)
    return out


# ----------------------------------------------------------------------------- 1. fit
def fit_figure(tree: TreeLike) -> Figure:
    """Data, fitted curve with its 95 % credible band and the 95 % predictive band, each peak
    (drawn on top of the background) and the background as thin lines; below, the residuals
    y - fit (with the predictive band) and the standardised residuals (y - fit) / sigma_i
    (:func:`standardised_residuals`; gid ``"standardised"``) with the store's chi2/n and
    posterior predictive p-value.

    Component lines carry gid ``"component"`` (K peaks + background); without a
    ``predictive`` group only the data are drawn.
    """
    tree = _tree(tree)
    K = _K(tree)
    obs = _group(tree, "observed_data")
    x = np.asarray(obs["x"], dtype=float)
    y = np.asarray(obs["y"], dtype=float)
    ysd = _arr(obs, "y_sd")
    pred = _group(tree, "predictive")

    fig = _figure(7.5, 6.9)
    ax, axr, axz = fig.subplots(3, 1, sharex=True, height_ratios=[3, 1, 1])
    small = dict(ms=2.5, color="k", alpha=0.7, zorder=3)
    if ysd is not None:
        ax.errorbar(x, y, yerr=ysd, fmt="o", elinewidth=0.5, label="data", **small)
    else:
        ax.plot(x, y, "o", label="data", **small)

    if pred is not None and "f_mean" in pred:
        fm = np.asarray(pred["f_mean"], dtype=float)
        bands = (("y_lo", "y_hi", 0.12, "95 % predictive"), ("f_lo", "f_hi", 0.35, "95 % credible"))
        for lo, hi, alpha, lab in bands:
            if lo in pred and hi in pred:
                ax.fill_between(x, pred[lo].values, pred[hi].values, color="C0", alpha=alpha,
                                lw=0, label=lab)
        ax.plot(x, fm, color="C0", lw=1.6, label="posterior mean fit", zorder=4)
        comp = _arr(pred, "components")
        if comp is not None and comp.shape[0] >= 1:
            bg = comp[-1]
            for k in range(comp.shape[0] - 1):
                ax.plot(x, comp[k] + bg, color=peak_colour(k), lw=0.9, gid="component",
                        label=f"peak {k + 1}", zorder=5)
            ax.plot(x, bg, color="0.35", lw=0.9, ls="--", gid="component",
                    label=f"background ({tree.attrs.get('background', '?')})", zorder=5)
        res = y - fm
        if "y_lo" in pred and "y_hi" in pred:
            axr.fill_between(x, pred["y_lo"].values - fm, pred["y_hi"].values - fm, color="C0",
                             alpha=0.12, lw=0)
        axr.plot(x, res, "o", ms=2, color="k", alpha=0.7)
        rms = float(np.sqrt(np.nanmean(res ** 2)))
        axr.text(0.01, 0.95, f"rms {rms:.3g}", transform=axr.transAxes, va="top", fontsize=8)
        z, how_z = standardised_residuals(tree, y, fm)
        axz.plot(x, z, "o", ms=2, color="k", alpha=0.7, gid="standardised")
        for level in (-2, 2):
            axz.axhline(level, color="0.5", lw=0.6, ls=":")
        axz.text(0.01, 0.95, _gof_text(tree), transform=axz.transAxes, va="top", fontsize=8)
        axz.set_ylabel(how_z)
    else:
        _note(axr, "no predictive group in this store")
    axr.axhline(0, color="0.3", lw=0.8)
    axz.axhline(0, color="0.3", lw=0.8)
    ax.legend(fontsize=7, ncols=2 if K > 3 else 1, loc="best", framealpha=0.8)
    ax.set_ylabel("y")
    axr.set_ylabel("y − fit")
    axz.set_xlabel("x")
    est = tree.attrs.get("noise_estimated")
    how = "" if est is None else (" (estimated)" if bool(est) else " (given)")
    # with an sd column the noise parameter scales it: noise_i = noise_sd * sd_i
    noise = "noise scale × sd" if ysd is not None else "noise sd"
    noise_txt = f"{noise} = {_f(tree, 'noise_sd'):.4g}{how}"
    if tree.attrs.get("likelihood") == "poisson":
        noise_txt = "Poisson counts"
    ax.set_title(f"K = {K}, {tree.attrs.get('shape', '')} peaks — {noise_txt}, "
                 f"F = {_pm(_f(tree, 'free_energy'), _f(tree, 'free_energy_se'))}", fontsize=10)
    return fig


def _diagnostics(tree: xr.DataTree) -> dict:
    """The store's convergence and goodness-of-fit summary (``diagnostics`` attr), or {}."""
    import json

    raw = tree.attrs.get("diagnostics")
    return json.loads(raw) if raw else {}


def standardised_residuals(tree: TreeLike, y: np.ndarray, f: np.ndarray,
                           ) -> tuple[np.ndarray, str]:
    """(y - f) / sigma_i per point (n,) and the axis label.

    sigma_i: sqrt(f) for counts (Pearson residuals; NaN where f <= 0); else the noise the
    store's chi2/n is taken against (its ``gof_noise_sd``: the given noise, the sd column as
    given, or the model-free estimate), times the sd column when there is one; a store
    without diagnostics uses its noise sd."""
    tree = _tree(tree)
    if tree.attrs.get("likelihood") == "poisson":
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(f > 0, (y - f) / np.sqrt(np.where(f > 0, f, 1.0)), np.nan), \
                "(y − fit) / √fit"
    scale = _diagnostics(tree).get("gof_noise_sd", _f(tree, "noise_sd"))
    ysd = _arr(_group(tree, "observed_data"), "y_sd")
    sigma = float(scale) * (ysd if ysd is not None else 1.0)
    return (y - f) / sigma, "(y − fit) / σ"


def _gof_text(tree: xr.DataTree) -> str:
    """chi2/n (deviance/n), the predictive p-value and the flags, for the residual panel."""
    d = _diagnostics(tree)
    if not d:
        return ""
    what = "deviance/n" if d.get("gof_statistic") == "deviance" else "χ²/n"
    flags = ("" if d.get("adequate", True) else "  — model inadequate") + \
        ("" if d.get("converged", True) else "  — not converged")
    return f"{what} = {d['chi2_n']:.3g}, p_ppc = {d['ppc_p']:.2g}{flags}"


# ----------------------------------------------------------------------------- 2. free energy
def free_energy_figure(table: pd.DataFrame) -> Figure:
    """F versus K with error bars (top) and p(K|D) as bars (bottom); the selected K (largest
    probability) is highlighted in both."""
    t = table.sort_values("K").reset_index(drop=True)
    K = t["K"].to_numpy(int)
    F = t["free_energy"].to_numpy(float)
    se = t["free_energy_se"].to_numpy(float) if "free_energy_se" in t else np.full(len(t), np.nan)
    p = t["probability"].to_numpy(float) if "probability" in t else np.full(len(t), np.nan)
    sel = int(K[np.nanargmax(p)]) if np.isfinite(p).any() else (
        int(K[np.nanargmin(F)]) if np.isfinite(F).any() else None)

    fig = _figure(6, 5.5)
    ax, axp = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    ax.errorbar(K, F, yerr=np.where(np.isfinite(se), se, 0), fmt="o-", color="C0", capsize=4,
                ms=5, lw=1.2)
    colours = ["C3" if k == sel else "C0" for k in K]
    axp.bar(K, np.nan_to_num(p), color=colours, width=0.6)
    if sel is not None:
        i = int(np.flatnonzero(K == sel)[0])
        ax.plot([sel], [F[i]], marker="o", ms=14, mfc="none", mec="C3", mew=2, ls="none",
                label=f"selected K = {sel}")
        ax.legend(fontsize=8)
        axp.text(sel, np.nan_to_num(p[i]), f"{p[i]:.3f}", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("free energy F  (−log evidence)")
    axp.set_ylabel("p(K | D)")
    axp.set_ylim(0, 1.08)
    axp.set_xlabel("number of peaks K")
    axp.set_xticks(K)
    ax.grid(alpha=0.3)
    ax.set_title("model selection", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- 3. noise
def noise_figure(trees: TreeLike | Iterable[TreeLike]) -> Figure:
    """F(b) along the exchange ladder versus noise sd = 1/sqrt(b) (log axis), one line per K,
    with a star at each store's estimated (or given) noise sd and its F."""
    trees = _trees(trees)
    fig = _figure(6.5, 4.5)
    ax = fig.subplots()
    lows, highs, ends = [], [], []
    for i, tr in enumerate(trees):
        lad = _group(tr, "ladder")
        c = _k_colour(i)
        K = _K(tr)
        if lad is None:
            continue
        b = _arr(lad, "beta")
        F = _arr(lad, "free_energy")
        se = _arr(lad, "free_energy_se")
        se = np.zeros_like(F) if se is None else se
        ok = (b > 0) & np.isfinite(F)
        if ok.any():
            # Poisson: no noise parameter; the axis is 1/sqrt(beta) of the tempering instead
            sd = 1.0 / np.sqrt(b[ok])
            ax.errorbar(sd, F[ok], yerr=np.nan_to_num(se[ok]), fmt=".-", color=c, lw=1, ms=4,
                        capsize=2, label=f"K = {K}")
            lows.append(np.min(F[ok]))
            highs.append(np.max(F[ok]))
            ends.append(F[ok][np.argmax(sd)])  # the largest-noise end of the ladder
        s0, f0 = _f(tr, "noise_sd"), _f(tr, "free_energy")
        if np.isfinite(s0) and s0 > 0 and np.isfinite(f0):
            ax.plot([s0], [f0], marker="*", ms=13, color=c, mec="k", mew=0.6, ls="none",
                    zorder=5)
            lows.append(f0)
    if not lows:
        _note(ax, "no ladder with finite free energies")
    elif highs:
        # F grows steeply at small noise: zoom on the minimum, from it up to the large-noise end
        lo, hi = min(lows), max(highs)
        top = min(hi, max(max(ends), lo + 0.1 * (hi - lo)))
        pad = 0.06 * max(top - lo, 1e-9)
        ax.set_ylim(lo - pad, top + pad)
    ax.set_xscale("log")
    ax.plot([], [], marker="*", ms=10, color="0.5", mec="k", ls="none",
            label="estimated / given noise sd")
    scaled = any("y_sd" in tr["observed_data"].data_vars for tr in trees
                 if "observed_data" in tr.children)
    ax.set_xlabel("noise scale on the data's sd = 1/√β" if scaled else "noise sd = 1/√β")
    if any(tr.attrs.get("likelihood") == "poisson" for tr in trees):
        ax.set_xlabel("1/√β of the tempering (Poisson: β = 1 is the likelihood)")
    ax.set_ylabel("free energy F(β)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title("free energy along the noise-precision ladder", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- 4. positions
def positions_figure(tree: TreeLike, bins: int = 60) -> Figure:
    """Marginal posterior of each peak's center (chains pooled; peaks are labelled by center):
    a histogram and a Gaussian KDE per peak, one colour per peak, the data faintly behind."""
    tree = _tree(tree)
    K = _K(tree)
    fig = _figure(7, 4)
    ax = fig.subplots()
    post = _group(tree, "posterior")
    c = _arr(post, "center")
    if c is None and post is not None:  # a composite model: every component's centers
        parts = [np.asarray(post[k]) for k in post.data_vars if str(k).endswith("_center")]
        c = np.concatenate(parts, axis=-1) if parts else None
    if c is None or c.size == 0 or K == 0:
        _note(ax, f"K = {K}: no peaks")
        ax.set_xlabel("center")
        return fig
    c = c.reshape(-1, c.shape[-1])
    obs = _group(tree, "observed_data")
    lo, hi = float(np.nanmin(c)), float(np.nanmax(c))
    pad = 0.15 * (hi - lo)
    if obs is not None:
        x = np.asarray(obs["x"], dtype=float)
        pad = max(pad, 0.03 * float(np.ptp(x)))
        lo, hi = max(lo - pad, float(x.min())), min(hi + pad, float(x.max()))
        inside = (x >= lo) & (x <= hi)
        axd = ax.twinx()
        axd.plot(x[inside], np.asarray(obs["y"], dtype=float)[inside], color="0.8", lw=0.8)
        axd.set_yticks([])
        ax.set_zorder(axd.get_zorder() + 1)
        ax.patch.set_visible(False)
    else:
        lo, hi = lo - pad - 1e-9, hi + pad + 1e-9
    grid = np.linspace(lo, hi, 1000)
    for k in range(c.shape[1]):
        v = c[:, k][np.isfinite(c[:, k])]
        if v.size == 0:
            continue
        col = peak_colour(k)
        med = float(np.median(v))
        q = np.quantile(v, [0.025, 0.975])
        ax.hist(v, bins=bins, density=True, histtype="stepfilled", color=col, alpha=0.35,
                gid="position", label=f"peak {k + 1}: {med:.4g} [{q[0]:.4g}, {q[1]:.4g}]")
        if v.size > 2 and np.ptp(v) > 0:
            try:
                from scipy.stats import gaussian_kde

                ax.plot(grid, gaussian_kde(v)(grid), color=col, lw=1.2)
            except Exception:  # singular covariance etc.: the histogram suffices
                pass
    ax.set_xlim(lo, hi)
    ax.set_xlabel("peak center")
    ax.set_ylabel("posterior density")
    ax.legend(fontsize=7, title="median [95 % interval]", title_fontsize=7)
    ax.set_title(f"peak positions, K = {K}", fontsize=10)
    return fig


# ----------------------------------------------------------------------------- 5. swaps
def swap_figure(trees: TreeLike | Iterable[TreeLike], warn: float = SWAP_WARN) -> Figure:
    """Replica-exchange acceptance between rung l and l + 1, plotted at l, one line per K; the
    top axis labels rungs with β; a dashed line marks the low-acceptance level ``warn``."""
    trees = _trees(trees)
    fig = _figure(7, 4)
    ax = fig.subplots()
    betas = None
    for i, tr in enumerate(trees):
        lad = _group(tr, "ladder")
        s = _arr(lad, "swap_acceptance")
        if s is None:
            continue
        r = np.arange(s.size)
        ok = np.isfinite(s)
        ax.plot(r[ok], s[ok], "o-", ms=3.5, lw=1, color=_k_colour(i), label=f"K = {_K(tr)}")
        if betas is None:
            betas = _arr(lad, "beta")
    ax.axhline(warn, color="C3", ls="--", lw=1, label=f"low acceptance ({warn:g})")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("rung l (swap l ↔ l+1)")
    ax.set_ylabel("swap acceptance")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2)
    if betas is not None and betas.size:
        n = betas.size
        ticks = np.unique(np.linspace(0, n - 1, min(n, 8)).round().astype(int))
        top = ax.secondary_xaxis("top")
        top.set_xticks(ticks, [f"{b:.3g}" for b in betas[ticks]], fontsize=7)
        top.set_xlabel("β (noise precision)", fontsize=8)
        ax.set_xlim(-0.5, n - 0.5)
    else:
        _note(ax, "no ladder")
    return fig


# ----------------------------------------------------------------------------- 6. campaign
def campaign_figure(summary: pd.DataFrame) -> Figure:
    """Campaign overview, one column per spectrum: selected K (open squares: true_K when
    present; red crosses: failed spectra), p(K|D) of the selected K, and the noise sd.

    A spectrum counts as failed when its status mentions fail/error/crash/timeout/exception/
    abort, or its K is missing.
    """
    s = summary.reset_index(drop=True)
    n = len(s)
    idx = np.arange(n)
    K = pd.to_numeric(s.get("K", pd.Series(np.nan, index=s.index)), errors="coerce").to_numpy(float)
    status = s.get("status", pd.Series("", index=s.index)).astype(str)
    failed = status.str.contains(_FAILED).to_numpy() | ~np.isfinite(K)
    good = ~failed
    fig = _figure(max(6.0, min(0.25 * n + 3, 16)), 7)
    axk, axp, axs = fig.subplots(3, 1, sharex=True, height_ratios=[2, 1, 1])

    tk = None
    if "true_K" in s:
        tk = pd.to_numeric(s["true_K"], errors="coerce").to_numpy(float)
        axk.plot(idx, tk, "s", ms=9, mfc="none", mec="0.3", ls="none", label="true K")
        right = good & np.isfinite(tk) & (K == tk)
        wrong = good & ~right
        for m, col, what in ((right, "C2", "correct"), (wrong, "C1", "wrong")):
            axk.plot(idx[m], K[m], "o", color=col, ms=5, ls="none", label=f"selected K ({what})")
        acc = right.sum() / max(good.sum(), 1)
        fig.suptitle(f"{n} spectra, {failed.sum()} failed, selected K = true K for "
                     f"{right.sum()}/{good.sum()} ({acc:.0%})", fontsize=10)
    else:
        axk.plot(idx[good], K[good], "o", color="C0", ms=5, ls="none", label="selected K")
        fig.suptitle(f"{n} spectra, {failed.sum()} failed", fontsize=10)
    if failed.any():
        y0 = np.nanmin(np.r_[K[good], tk if tk is not None else [], 0]) - 0.7  # below any K
        axk.plot(idx[failed], np.full(failed.sum(), y0), "x", color="C3", ms=8, mew=2,
                 ls="none", label="failed", gid="failed")
        for a in (axk, axp, axs):
            for i in idx[failed]:
                a.axvspan(i - 0.5, i + 0.5, color="C3", alpha=0.08, lw=0)
    axk.set_ylabel("K")
    axk.yaxis.get_major_locator().set_params(integer=True)
    axk.legend(fontsize=7, ncols=4, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    axk.grid(alpha=0.3)

    p = pd.to_numeric(s.get("probability", pd.Series(np.nan, index=s.index)),
                      errors="coerce").to_numpy(float)
    axp.bar(idx[good], np.nan_to_num(p[good]), color="C0", width=0.7, gid="probability")
    axp.set_ylim(0, 1.05)
    axp.set_ylabel("p(K | D)")
    axp.grid(alpha=0.3, axis="y")

    sd = pd.to_numeric(s.get("noise_sd", pd.Series(np.nan, index=s.index)),
                       errors="coerce").to_numpy(float)
    ok = good & np.isfinite(sd) & (sd > 0)
    axs.plot(idx[ok], sd[ok], "o", color="C0", ms=4, ls="none")
    if ok.sum() > 1 and sd[ok].max() / sd[ok].min() > 20:
        axs.set_yscale("log")
    axs.set_ylabel("noise sd")
    axs.grid(alpha=0.3)
    names = s["spectrum"].astype(str).tolist() if "spectrum" in s else [str(i) for i in idx]
    if n <= 40:
        axs.set_xticks(idx, names, rotation=60, ha="right", fontsize=7)
    else:
        axs.set_xlabel("spectrum index")
    axs.set_xlim(-0.5, n - 0.5)
    return fig


# ----------------------------------------------------------------------------- output dirs
def figures_for_dir(d: str | os.PathLike, K: int | str | None = None) -> dict[str, Figure]:
    """Figures for a ``bayespec fit`` output directory: ``fit`` and ``positions`` for the
    selected candidate (largest p(K|D), or ``K``: a K or a composite candidate's label),
    ``free_energy``, and ``noise`` and ``swap`` over all candidates whose store is present."""
    from ..errors import DataError
    from ..inference.selection import candidate_labels, pick
    from ..inference.runner import SELECTION_FILE
    from ..io.store import read_fit

    d = Path(d)
    table = pd.read_csv(d / SELECTION_FILE)
    trees = {k: read_fit(d / f"K{k}.zarr") for k in candidate_labels(table)
             if (d / f"K{k}.zarr").exists()}
    if not trees:
        raise DataError(f"{d}: no K*.zarr stores listed in {SELECTION_FILE}")
    try:
        sel = pick(table, K)[1]
    except ValueError as e:
        raise DataError(f"{d}: {e}") from None
    if sel not in trees:
        raise DataError(f"{d}: no store for K={sel}; present: {sorted(trees)}")
    figs = {"fit": fit_figure(trees[sel]), "free_energy": free_energy_figure(table),
            "noise": noise_figure(list(trees.values())),
            "positions": positions_figure(trees[sel]),
            "swap": swap_figure(list(trees.values()))}
    return figs


def write_figures(d: str | os.PathLike, out: str | os.PathLike | None = None,
                  K: int | None = None) -> list[Path]:
    """Build :func:`figures_for_dir` and save each as ``out``/``name``.png/.pdf (``out``
    defaults to ``d``/figures); return the written paths."""
    out = Path(d) / "figures" if out is None else Path(out)
    paths: list[Path] = []
    for name, fig in figures_for_dir(d, K).items():
        paths += save(fig, out / name)
    return paths
