"""The experiment-design figure: how often the true model is selected, against the level."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from .spectrum import save  # noqa: F401  (re-exported for inference.design.write_design)

if TYPE_CHECKING:  # annotations only
    from ..inference.design import DesignResult

_LABEL = {"noise_sd": "noise sd", "counting_time": "counting time"}


def design_figure(res: DesignResult) -> Figure:
    """Left: p(select the true model) with its 95 % Wilson interval and the mean p(true | D) against the
    level (log axis), the 0.95 line and the crossing level. Right: dF = F_true - min F_other,
    median and 5-95 % band, against the level (below 0: the data favour the truth)."""
    from ..inference.design import TARGET

    s = res.summary.sort_values("level")
    lv = s["level"].to_numpy(float)
    fig = Figure(figsize=(10, 4), layout="constrained")
    a, b = fig.subplots(1, 2)
    p = s["p_select_true"].to_numpy(float)
    err = np.maximum(np.vstack([p - s["p_select_true_lo"].to_numpy(float),  # >= 0 up to
                                s["p_select_true_hi"].to_numpy(float) - p]), 0.0)  # rounding
    a.errorbar(lv, p, yerr=err, marker="o", capsize=3,
               label="fraction selecting the truth (95 % Wilson)")
    a.plot(lv, s["p_true_mean"], marker="s", ls="--", label="mean p(true | D)")
    a.axhline(TARGET, color="0.5", lw=0.8, ls=":")
    if res.crossing is not None:
        a.axvline(res.crossing, color="C3", lw=0.8)
        a.annotate(f"{TARGET:g} at {res.crossing:.3g}", (res.crossing, TARGET),
                   xytext=(5, -15), textcoords="offset points", color="C3")
    a.set(xscale="log", ylim=(-0.03, 1.03), xlabel=_LABEL[res.config.level_kind],
          ylabel="probability", title=f"true model: {res.config.truth_model} "
                                      f"K={res.config.truth_K} "
                                      f"({res.config.replicates} replicates per level)")
    a.legend(loc="best", fontsize=8)
    b.fill_between(lv, s["dF_q05"], s["dF_q95"], alpha=0.3, label="5-95 %")
    b.plot(lv, s["dF_median"], marker="o", label="median")
    b.axhline(0.0, color="0.5", lw=0.8)
    # symlog when dF runs from hundreds of nats (clear) to a few (undecided) in one design
    span = np.nanmax(np.abs(s[["dF_q05", "dF_q95"]].to_numpy(float))) if len(s) else 0.0
    if np.isfinite(span) and span > 20:
        b.set_yscale("symlog", linthresh=1.0)
    b.set(xscale="log", xlabel=_LABEL[res.config.level_kind],
          ylabel="F_true - min F_other (nats)", title="free-energy difference")
    if np.all(np.isnan(s["dF_median"].to_numpy(float))):
        b.text(0.5, 0.5, "one candidate only", transform=b.transAxes, ha="center")
    b.legend(loc="best", fontsize=8)
    return fig
