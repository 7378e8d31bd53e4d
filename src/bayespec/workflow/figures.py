"""Stage figures: the five figures of each spectrum (placeholders for a failed one) and the
campaign overview, as PNG and PDF, written atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..io.store import _sibling
from .markers import is_ok, log
from .paths import FIGURES




def _label(tree) -> str:
    """A store's candidate label: its K, or a composite's counts joined by '-'."""
    if "components" in tree.attrs:
        return "-".join(str(int(c["K"])) for c in json.loads(tree.attrs["components"]))
    return str(int(tree.attrs["K"]))


def _save_atomic(fig, stem: Path) -> list[Path]:
    """plots.save to a temporary stem, then rename each file into place."""
    from ..plots.spectrum import save

    stem.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(stem, "tmp")
    out = []
    for p in save(fig, tmp):
        dest = stem.parent / (stem.name + p.suffix)
        os.replace(p, dest)
        out.append(dest)
    return out


def _placeholder(title: str, text: str):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3))
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.62, title, ha="center", fontsize=12)
    import textwrap

    fig.text(0.5, 0.45, "\n".join(textwrap.wrap(text, 95)), ha="center", va="top", fontsize=8,
             color="C3")
    return fig


def spectrum_figures(spectrum: str, stores: Sequence[str | os.PathLike],
                     table: str | os.PathLike, info: str | os.PathLike,
                     out_dir: str | os.PathLike) -> list[Path]:
    """The five figures of one spectrum in ``out_dir`` as PNG and PDF: ``fit`` and
    ``positions`` (selected K), ``free_energy`` (F vs K), ``noise`` (F vs noise sd along the
    ladder, all K) and ``swap`` (swap acceptance per rung, all K). A failed spectrum gets
    placeholder figures that show its status line."""
    import pandas as pd

    from .. import plots
    from ..io.store import read_fit

    out_dir = Path(out_dir)
    meta = json.loads(Path(info).read_text(encoding="utf-8"))
    paths: list[Path] = []
    if not is_ok(str(meta.get("status"))):
        for name in FIGURES:
            fig = _placeholder(f"{spectrum}: no {name.replace('_', ' ')} figure",
                               str(meta.get("status")))
            paths += _save_atomic(fig, out_dir / name)
        log.warning("%s: failed spectrum, placeholder figures: %s", spectrum, meta.get("status"))
        return paths
    trees = {_label(t): t for t in (read_fit(s) for s in stores)}
    sel = str(meta.get("candidate") or int(meta["K"]))
    figs = {
        "fit": plots.fit_figure(trees[sel]),
        "free_energy": plots.free_energy_figure(pd.read_csv(table)),
        "noise": plots.noise_figure(list(trees.values())),
        "positions": plots.positions_figure(trees[sel]),
        "swap": plots.swap_figure(list(trees.values())),
    }
    figs["fit"].suptitle(spectrum, fontsize=10)
    figs["free_energy"].suptitle(spectrum, fontsize=10)
    for name in FIGURES:
        paths += _save_atomic(figs[name], out_dir / name)
    log.info("%s: wrote %s", spectrum, ", ".join(str(p) for p in paths))
    return paths


def campaign_figures(summary_tsv: str | os.PathLike, stem: str | os.PathLike) -> list[Path]:
    """The campaign overview (selected K vs true K, p(K|D), noise sd; failures marked) as
    ``stem``.png and ``stem``.pdf."""
    import pandas as pd

    from ..plots.spectrum import campaign_figure

    df = pd.read_csv(summary_tsv, sep="\t", keep_default_na=True)
    paths = _save_atomic(campaign_figure(df), Path(stem))
    log.info("campaign overview of %d spectra: %s", len(df), ", ".join(map(str, paths)))
    return paths
