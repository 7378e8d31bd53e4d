"""Model selection over K: the free-energy table and p(K | D)."""

from __future__ import annotations

import pandas as pd

from .freeenergy import model_probabilities
from ..result import KFit

COLUMNS = ["K", "free_energy", "free_energy_se", "noise_sd", "probability"]


def selection_table(fits: list[KFit]) -> pd.DataFrame:
    """One row per K: F (at the known noise, or minimised over the noise precision), its SE,
    the noise sd used or estimated, and p(K | D) under a uniform prior over the K values."""
    df = pd.DataFrame({
        "K": [f.K for f in fits],
        "free_energy": [f.free_energy for f in fits],
        "free_energy_se": [f.free_energy_se for f in fits],
        "noise_sd": [f.noise_sd for f in fits],
    })
    df["probability"] = model_probabilities(df["free_energy"].to_numpy())
    return df[COLUMNS]


def format_table(df: pd.DataFrame) -> str:
    """The selection table as CSV text with stable formatting (what model_selection.csv holds)."""
    return df.to_csv(index=False, float_format="%.6g")
