"""Model selection over K: the free-energy table and p(K | D)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .freeenergy import model_probabilities
from .result import KFit

BASE_COLUMNS = ["K", "free_energy", "free_energy_se", "noise_sd", "probability"]
#: convergence and goodness of fit per candidate (KFit.diagnostics; README "Convergence and
#: goodness of fit"), after the base columns and any K_<component> columns
CHECK_COLUMNS = ["sweeps", "rhat_max", "ess_min", "F_chain_spread", "converged", "chi2_n",
                 "ppc_p", "adequate"]
#: WBIC (Watanabe 2013) beside F, from the same ladder (freeenergy.wbic): the last columns
CRITERION_COLUMNS = ["wbic", "wbic_se"]
COLUMNS = BASE_COLUMNS + CHECK_COLUMNS + CRITERION_COLUMNS  # a one-shape model's table's


def check_values(diagnostics: Mapping[str, Any]) -> dict[str, Any]:
    """The CHECK_COLUMNS of one candidate from its diagnostics (KFit.diagnostics, or the
    store's ``diagnostics`` attr read back): floats, booleans (None when absent) and the
    sweeps run (an int; NaN for a store written before they were recorded)."""
    out: dict[str, Any] = {}
    for c in CHECK_COLUMNS:
        v = diagnostics.get(c)
        if c in ("converged", "adequate"):
            out[c] = None if v is None else bool(v)
        elif c == "sweeps":
            out[c] = float("nan") if v is None else int(v)
        else:
            out[c] = float("nan") if v is None else float(v)
    return out


def selection_table(fits: list[KFit]) -> pd.DataFrame:
    """One row per candidate: K (its total number of peaks), F (at the known noise, or
    minimised over the noise precision), its SE, the noise sd used or estimated, and
    p(candidate | D) under a uniform prior over the candidates; for a composite model one more
    column ``K_<component>`` per component, in model order; then the checks (CHECK_COLUMNS)
    and WBIC with its SE (CRITERION_COLUMNS)."""
    df = pd.DataFrame({
        "K": [f.K for f in fits],
        "free_energy": [f.free_energy for f in fits],
        "free_energy_se": [f.free_energy_se for f in fits],
        "noise_sd": [f.noise_sd for f in fits],
    })
    df["probability"] = model_probabilities(df["free_energy"].to_numpy())
    names = list(fits[0].components) if fits and fits[0].components else []
    for name in names:
        df[f"K_{name}"] = [f.components[name]["K"] for f in fits]
    checks = pd.DataFrame([check_values(f.diagnostics) for f in fits], columns=CHECK_COLUMNS)
    for c in CHECK_COLUMNS:
        df[c] = checks[c].to_numpy()
    df["wbic"] = [f.wbic for f in fits]
    df["wbic_se"] = [f.wbic_se for f in fits]
    return df[BASE_COLUMNS + [f"K_{n}" for n in names] + CHECK_COLUMNS + CRITERION_COLUMNS]


def format_table(df: pd.DataFrame) -> str:
    """The selection table as CSV text with stable formatting (what model_selection.csv holds)."""
    return df.to_csv(index=False, float_format="%.6g")


def candidate_labels(table: pd.DataFrame) -> list[str]:
    """Each row's candidate label, the name of its store K<label>.zarr: K, or for a composite
    model (K_<component> columns) the counts joined by '-'."""
    cols = [c for c in table.columns if c.startswith("K_")]
    if not cols:
        return [str(int(k)) for k in table["K"]]
    return ["-".join(str(int(v)) for v in row) for row in table[cols].to_numpy()]


def pick(table: pd.DataFrame, K: int | str | None = None) -> tuple[int, str]:
    """(row index, label) of the selected candidate (largest probability) or of ``K``: a K,
    or a candidate label ('1-2'); ValueError naming the choices when it is not one row."""
    labels = candidate_labels(table)
    if K is None:
        i = int(table["probability"].to_numpy().argmax())
        return i, labels[i]
    text = str(K)
    if text in labels:
        return labels.index(text), text
    hits = [i for i, k in enumerate(table["K"]) if text.isdigit() and int(k) == int(text)]
    if len(hits) == 1:
        return hits[0], labels[hits[0]]
    if hits:
        raise ValueError(f"K={K}: several candidates have {K} peaks "
                         f"({', '.join(labels[i] for i in hits)}); give the label")
    raise ValueError(f"K={K}: not fitted; the candidates are {', '.join(labels)}")

