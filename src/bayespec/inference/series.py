"""Series: the frames of a time, temperature or depth scan as one result.

Each frame has its own selected model; to tell how a line moves, grows, appears or vanishes, the
lines of successive frames must be the same lines. :func:`track_lines` links them: frame by
frame, each line of the selected model is assigned to a track (a line followed through the
series) by the assignment (Hungarian algorithm) that minimises the summed squared distance
between the line's posterior-mean center and the track's last center, in units of their FWHM.
A line farther than the larger of the two FWHMs from every free track starts a new track (a line
that moved by more than its own width between two frames is not resolved in time). Tracks are
compared with the position where they were last seen, so a frame in which a line is missing
(a weak frame selecting fewer lines) does not break its track. Composite models are tracked per
component. Tracks are numbered in order of appearance (then of center): ``line1``, ``line2`` or
``{component}1``, ...

Pure functions on the select stage's tables (workflow/series.py reads and writes the files).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..models.shapes import LINE_QUANTITIES

__all__ = ["QUANTITIES", "Frame", "track_lines", "trends_table", "changes_table",
           "sort_line_names"]

QUANTITIES = LINE_QUANTITIES


@dataclass
class Frame:
    """One frame of a series: its ``spectrum`` name, ``order`` (time, temperature, ...),
    ``status`` (ok or the error), the selected ``K`` and ``candidate`` label, its
    ``probability``, ``noise_sd``, ``free_energy``, ``dF_runner_up`` (F of the second most
    probable candidate minus the selected one's, >= 0; NaN with one candidate) and ``lines``:
    the select stage's peak table of the selected model (columns [component,] peak, quantity,
    mean, q2.5, q97.5; None for a failed frame)."""

    spectrum: str
    order: float
    status: str
    K: int | None = None
    candidate: str = ""
    probability: float = float("nan")
    noise_sd: float = float("nan")
    free_energy: float = float("nan")
    dF_runner_up: float = float("nan")
    lines: pd.DataFrame | None = None


def _line_stats(lines: pd.DataFrame, comp: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(peak indices, center means, FWHM means) of component ``comp`` ("" one shape)."""
    t = lines[lines["peak"].astype(int) >= 0]
    if "component" in t.columns:
        t = t[t["component"].fillna("").astype(str) == comp]
    piv = t.pivot_table(index="peak", columns="quantity", values="mean", aggfunc="first")
    peaks = piv.index.to_numpy(int)
    fwhm = piv["fwhm"].to_numpy(float) if "fwhm" in piv else np.full(len(peaks), np.nan)
    return peaks, piv["center"].to_numpy(float) if len(peaks) else np.zeros(0), fwhm


def _components(frames: Sequence[Frame]) -> list[str]:
    out: list[str] = []
    for f in frames:
        if f.lines is None:
            continue
        t = f.lines[f.lines["peak"].astype(int) >= 0]
        names = (t["component"].fillna("").astype(str).unique() if "component" in t.columns
                 else [""])
        for n in names:
            if n not in out:
                out.append(n)
    return out


def track_lines(frames: Sequence[Frame]) -> list[dict[tuple[str, int], str]]:
    """Per frame, {(component, peak index): track name} for the lines of its selected model
    (empty for a failed frame); see the module docstring for the rule."""
    from scipy.optimize import linear_sum_assignment

    out: list[dict[tuple[str, int], str]] = [{} for _ in frames]
    for comp in _components(frames):
        last_c: list[float] = []  # per track: last center and FWHM
        last_w: list[float] = []
        for i, f in enumerate(frames):
            if f.lines is None:
                continue
            peaks, c, w = _line_stats(f.lines, comp)
            if not len(peaks):
                continue
            assigned = np.full(len(peaks), -1)
            if last_c:
                tc, tw = np.array(last_c), np.array(last_w)
                scale = np.fmax(w[:, None], tw[None, :])
                scale = np.where(np.isfinite(scale) & (scale > 0), scale, np.inf)
                d = np.abs(c[:, None] - tc[None, :]) / scale
                cost = np.where(d <= 1.0, d ** 2, 1e6)
                rows, cols = linear_sum_assignment(cost)
                for r, t in zip(rows, cols):
                    if d[r, t] <= 1.0:
                        assigned[r] = t
            for r in np.argsort(c, kind="stable"):  # new tracks in order of center
                if assigned[r] < 0:
                    last_c.append(0.0)
                    last_w.append(0.0)
                    assigned[r] = len(last_c) - 1
            for r, t in enumerate(assigned):
                last_c[t], last_w[t] = c[r], w[r]
                out[i][(comp, int(peaks[r]))] = f"{comp or 'line'}{t + 1}"
    return out


def trends_table(series: str, frames: Sequence[Frame]) -> pd.DataFrame:
    """One row per frame in order: series, spectrum, order, status, K, candidate, probability,
    noise_sd, free_energy, dF_runner_up, then per track and quantity ``{track}_{q}`` (posterior
    mean) with ``_lo``/``_hi`` (95 % interval), NaN where the frame lacks the line."""
    tracks = track_lines(frames)
    rows, cols, names = [], [], []
    for f, tr in zip(frames, tracks):
        r = {"series": series, "spectrum": f.spectrum, "order": f.order, "status": f.status,
             "K": f.K, "candidate": f.candidate, "probability": f.probability,
             "noise_sd": f.noise_sd, "free_energy": f.free_energy,
             "dF_runner_up": f.dF_runner_up}
        if f.lines is not None:
            t = f.lines[f.lines["peak"].astype(int) >= 0]
            has_comp = "component" in t.columns
            for _, row in t.iterrows():
                q = row["quantity"]
                if q not in QUANTITIES:
                    continue
                comp = str(row["component"]) if has_comp and pd.notna(row["component"]) else ""
                name = tr[(comp, int(row["peak"]))]
                if name not in names:
                    names.append(name)
                for suffix, col in (("", "mean"), ("_lo", "q2.5"), ("_hi", "q97.5")):
                    key = f"{name}_{q}{suffix}"
                    r[key] = float(row[col])
                    if key not in cols:
                        cols.append(key)
        rows.append(r)
    df = pd.DataFrame(rows)
    lead = ["series", "spectrum", "order", "status", "K", "candidate", "probability", "noise_sd",
            "free_energy", "dF_runner_up"]
    order = [f"{n}_{q}{s}" for n in sort_line_names(names) for q in QUANTITIES
             for s in ("", "_lo", "_hi") if f"{n}_{q}{s}" in cols]
    df = df.reindex(columns=lead + order)
    df["K"] = pd.to_numeric(df["K"], errors="coerce").astype("Int64")
    return df


def sort_line_names(names: list[str]) -> list[str]:
    """Line names (``line2``, ``bulk1``, ``peak3``) sorted by their prefix (in order of first
    appearance) then number: the order of a table's per-line columns."""
    import re

    def split(n: str) -> tuple[str, int]:
        m = re.fullmatch(r"(.*?)(\d+)", n)
        return (m.group(1), int(m.group(2))) if m else (n, 0)

    first = list(dict.fromkeys(split(n)[0] for n in names))
    return sorted(names, key=lambda n: (first.index(split(n)[0]), split(n)[1]))


def changes_table(trends: pd.DataFrame) -> pd.DataFrame:
    """The frames where the selected model changes from the previous successful frame, or a
    track appears or vanishes: order, spectrum, from, to (candidate labels, or K), probability
    (of the new selection), appeared, vanished (track names joined by ',')."""
    ok = trends[trends["status"] == "ok"]
    track_names = sort_line_names(list(dict.fromkeys(
        c[: -len("_center")] for c in trends.columns if c.endswith("_center"))))
    rows = []
    prev = None
    for _, r in ok.iterrows():
        label = r["candidate"] if r["candidate"] else str(r["K"])
        here = {n for n in track_names if pd.notna(r.get(f"{n}_center"))}
        if prev is not None:
            p_label, p_here = prev
            appeared = [n for n in track_names if n in here and n not in p_here]
            vanished = [n for n in track_names if n in p_here and n not in here]
            if label != p_label or appeared or vanished:
                rows.append({"order": r["order"], "spectrum": r["spectrum"], "from": p_label,
                             "to": label, "probability": r["probability"],
                             "appeared": ",".join(appeared), "vanished": ",".join(vanished)})
        prev = (label, here)
    return pd.DataFrame(rows, columns=["order", "spectrum", "from", "to", "probability",
                                       "appeared", "vanished"])
