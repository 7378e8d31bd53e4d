"""The integration figure: each data set with its joint fit (top row) and, per tie, the tied
parameter's marginal from the joint fit against the separate fits (bottom row)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..errors import ConfigError
from ..inference.integrate import (IntegrationResult, candidate_label, joint_curves,
                                   joint_posterior)
from ..sampling.joint import _dataset_of
from .spectrum import _figure


def _keys(ref, names: list[str], tie) -> tuple[str, str] | None:
    """(data set, posterior key inside that data set) of a tie's reference: ``center`` or, for
    a composite data set's ``A.bulk.center[0]``, ``bulk_center`` (``background`` either way)."""
    try:
        m, comp = _dataset_of(ref.dataset, names, tie, "")
    except ConfigError:
        return None
    if comp is None or ref.kind == "background":
        return names[m], ref.kind
    return names[m], f"{comp}_{ref.kind}"


def _separate_draws(res: IntegrationResult, name: str, kind: str, idx: int) -> np.ndarray | None:
    """Draws of data set ``name``'s ``kind[idx]`` (a composite data set's ``bulk_center``)
    from its own fit at its selected K (peaks relabelled by position, as ties count them), or
    None where that K lacks the peak."""
    f = res.separate[name][res.best_separate[name]]
    if kind not in f.posterior:
        return None
    arr = np.asarray(f.posterior[kind])
    if arr.shape[-1] <= idx:
        return None
    return arr[..., idx].ravel()


def integration_figure(res: IntegrationResult, bins: int = 50) -> Figure:
    """Top: data and joint posterior mean curve with 95 % band per data set (selected joint K),
    separate fit's mean curve dashed. Bottom: per tie, the left parameter's marginal in the joint
    fit versus its separate fit and the right parameter's separate fit mapped through the tie."""
    j = res.joint[res.best]
    mdl = j.model
    ties = list(res.cfg.ties)
    ncol = max(len(mdl.names), min(len(ties), 4), 1)
    nrow = 2 if ties else 1
    fig = _figure(3.6 * ncol, 3.0 * nrow)
    axes = np.atleast_2d(fig.subplots(nrow, ncol, squeeze=False))
    curves = joint_curves(j)
    for m, (name, prob) in enumerate(zip(mdl.names, mdl.problems)):
        ax = axes[0, m]
        ax.plot(prob.x, prob.y, ".", ms=2.5, color="0.45", label="data")
        cv = curves[m]
        ax.fill_between(prob.x, cv["f_lo"], cv["f_hi"], color="C0", alpha=0.3, lw=0)
        ax.plot(prob.x, cv["f_mean"], color="C0", lw=1.2,
                label=f"joint (K={candidate_label(prob)})")
        sep = res.separate[name][res.best_separate[name]]
        if sep.predictive:
            ax.plot(prob.x, sep.predictive["f_mean"], "--", color="C3", lw=1,
                    label=f"separate (K={sep.label})")
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.legend(fontsize=7, frameon=False)
    for m in range(len(mdl.names), ncol):
        axes[0, m].set_visible(False)
    if ties:
        post = joint_posterior(j)
        names = list(mdl.names)
        for i, t in enumerate(ties[:ncol]):
            ax = axes[1, i]
            lk, rk = _keys(t.left, names, t), _keys(t.right, names, t)
            jd = None if lk is None else post.get(f"{lk[0]}_{lk[1]}")
            if jd is None or jd.shape[-1] <= t.left.index:
                # the tie does not apply to the selected combination (a component with fewer
                # peaks there)
                ax.set_title(f"{t.text} (not in this K combination)", fontsize=8)
                ax.set_xticks([]), ax.set_yticks([])
                continue
            jd = jd[..., t.left.index].ravel()
            series = [(jd, f"joint {t.left}", "C0")]
            sl = _separate_draws(res, *lk, t.left.index)
            if sl is not None:
                series.append((sl, f"separate {t.left}", "C3"))
            sr = None if rk is None else _separate_draws(res, *rk, t.right.index)
            if sr is not None and t.offset is None:
                series.append((t.scale * sr + t.const, f"separate {t.right} via tie", "C2"))
            lo = min(np.quantile(s, 0.001) for s, _, _ in series)
            hi = max(np.quantile(s, 0.999) for s, _, _ in series)
            edges = np.linspace(lo, hi, bins + 1) if hi > lo else bins
            for s, lab, col in series:
                ax.hist(s, bins=edges, density=True, histtype="step", color=col, label=lab)
            ax.set_title(t.text, fontsize=8)
            ax.set_yticks([])
            ax.locator_params(axis="x", nbins=4)
            ax.legend(fontsize=6, frameon=False)
        for i in range(min(len(ties), ncol), ncol):
            axes[1, i].set_visible(False)
    row = res.table.iloc[0]
    fig.suptitle(f"F_joint - F_separate = {row.delta:.2f} ± {row.delta_se:.2f}: "
                 f"{row.verdict}", fontsize=9)
    return fig
