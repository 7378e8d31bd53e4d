"""The trends figure of a series: its lines' parameters, the selected model and how sure the
free energy is, against the series' order (time, temperature, frame)."""

from __future__ import annotations


import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def _tracks(df: pd.DataFrame) -> list[str]:
    return [c[: -len("_center")] for c in df.columns if c.endswith("_center")]


def trends_figure(trends: pd.DataFrame, changes: pd.DataFrame) -> Figure:
    """Four panels against order: each track's center and area (posterior mean, 95 % band),
    the selected K with p(selected | D), and F(runner-up) - F(selected) (nats, log axis).
    Dotted lines mark the frames where the selected model or its lines change; crosses on the
    K panel mark failed frames."""
    fig = Figure(figsize=(8, 9), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    o = trends["order"].to_numpy(float)
    for i, name in enumerate(_tracks(trends)):
        for ax, q in zip(axes[:2], ("center", "area")):
            if f"{name}_{q}" not in trends:
                continue
            m = trends[f"{name}_{q}"].to_numpy(float)
            ax.plot(o, m, marker=".", color=f"C{i % 10}", label=name)
            ax.fill_between(o, trends[f"{name}_{q}_lo"].to_numpy(float),
                            trends[f"{name}_{q}_hi"].to_numpy(float), color=f"C{i % 10}",
                            alpha=0.25, lw=0)
    axes[0].set_ylabel("center")
    axes[1].set_ylabel("area")
    if _tracks(trends):
        axes[0].legend(loc="best", fontsize=7, ncol=2)
    ok = trends["status"] == "ok"
    k = pd.to_numeric(trends["K"], errors="coerce").to_numpy(float)
    axes[2].step(o[ok], k[ok], where="mid", color="k")
    axes[2].plot(o[~ok], np.zeros((~ok).sum()), "x", color="C3", label="failed")
    axes[2].set_ylabel("selected K")
    tw = axes[2].twinx()
    tw.plot(o, trends["probability"].to_numpy(float), ".", color="C1")
    tw.set(ylim=(0, 1.05), ylabel="p(selected | D)")
    d = trends["dF_runner_up"].to_numpy(float)
    axes[3].semilogy(o, np.where(d > 0, d, np.nan), marker=".", color="C2")
    axes[3].axhline(np.log(20.0), color="0.5", lw=0.8, ls=":")  # p = 0.95 between two
    axes[3].set(ylabel="F(runner-up) - F(selected)", xlabel="order")
    for x in changes.get("order", pd.Series(dtype=float)).to_numpy(float):
        for ax in axes:
            ax.axvline(x, color="0.6", lw=0.7, ls=":")
    name = str(trends["series"].iloc[0]) if len(trends) else ""
    fig.suptitle(f"series {name}: {len(trends)} frames, {len(changes)} changes")
    return fig
