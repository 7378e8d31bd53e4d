"""Stage series: a series' frames (manifest ``series`` rows or a stack) as one result: the
trends table (TSV and Parquet), the frames where the selected model changes, and the trends
figure (inference/series.py tracks the lines; plots/series.py draws them)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..ids import entry_name
from .figures import _save_atomic
from .markers import STATUS_OK, _write_file_atomic, _write_text, is_ok, log


def _frame(info_path: str | os.PathLike, peaks_path: str | os.PathLike,
           table_path: str | os.PathLike, order: float):
    import numpy as np
    import pandas as pd

    from ..inference.series import Frame

    info = json.loads(Path(info_path).read_text(encoding="utf-8"))
    name = entry_name(info["spectrum"])
    if not is_ok(str(info.get("status"))):
        return Frame(name, order, str(info.get("status")))
    tab = pd.read_csv(table_path)
    F = np.sort(tab["free_energy"].to_numpy(float))
    lines = pd.read_csv(peaks_path, sep="\t", keep_default_na=False,
                        dtype={"component": str} if info.get("candidate") else None)
    if "component" in lines.columns:
        lines["component"] = lines["component"].replace("", None)
    return Frame(name, order, STATUS_OK, K=int(info["K"]), candidate=info.get("candidate") or "",
                 probability=float(info["probability"]),
                 noise_sd=float(info["noise_sd"]) if info.get("noise_sd") is not None
                 else float("nan"),
                 free_energy=float(info["free_energy"]),
                 dF_runner_up=float(F[1] - F[0]) if F.size > 1 else float("nan"),
                 lines=lines)


def series(name: str, orders: Sequence[float], infos: Sequence[str | os.PathLike],
           peaks: Sequence[str | os.PathLike], tables: Sequence[str | os.PathLike],
           trends_tsv: str | os.PathLike, trends_parquet: str | os.PathLike,
           changes_tsv: str | os.PathLike, figure_stem: str | os.PathLike):
    """The outputs of series ``name`` from its frames' select outputs (``infos``, ``peaks``,
    ``tables``: select/{id}.json, select/{id}.tsv, fits/{id}/model_selection.csv, in the order
    ``orders``). A failed frame keeps its row (status, no values) and breaks no track. Returns
    the trends DataFrame."""
    from ..inference.series import changes_table, trends_table
    from ..plots.series import trends_figure

    frames = [_frame(i, p, t, float(o)) for o, i, p, t in zip(orders, infos, peaks, tables)]
    df = trends_table(name, frames)
    changes = changes_table(df)
    _write_text(trends_tsv, df.to_csv(sep="\t", index=False, float_format="%.6g"))
    _write_file_atomic(trends_parquet, lambda p: df.to_parquet(p, index=False))
    _write_text(changes_tsv, changes.to_csv(sep="\t", index=False, float_format="%.6g"))
    _save_atomic(trends_figure(df, changes), Path(figure_stem))
    nfail = int((df["status"] != STATUS_OK).sum())
    log.info("series %s: %d frames (%d failed), %d changes of the selected model or its lines%s",
             name, len(df), nfail, len(changes),
             "" if changes.empty else ":\n" + changes.to_string(index=False))
    return df
