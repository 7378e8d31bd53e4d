"""Figures from real (tiny) fits: each renders, saves PNG + PDF, and draws what it says."""

import threading

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

from bayespec import plots  # noqa: E402
from bayespec.cli import main  # noqa: E402
from bayespec.io.store import read_fit  # noqa: E402
from conftest import nagata_data  # noqa: E402

# linear background so that K = 0 has parameters; a short ladder and few sweeps keep it fast
FIT = """model:
  shape: gaussian_nagata
  K: [0, 1, 2]
  background: {kind: linear}
priors:
  amplitude: {dist: uniform, low: 0, high: 3}
  center: {dist: uniform, low: 0, high: 3}
  width: {dist: uniform, low: 20, high: 300}
noise: {estimate: true}
sampler: {replicas: 12, ratio: 1.8, burn_in: 100, sweeps: 300, thin: 3, chains: 2, seed: 3}
"""


@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    d = tmp_path_factory.mktemp("plots")
    x, y = nagata_data(0)
    data = d / "d.csv"
    np.savetxt(data, np.c_[x, y], delimiter=",", header="x,y", comments="")
    (d / "fit.yaml").write_text(FIT)
    assert main(["fit", str(data), "--config", str(d / "fit.yaml"), "--out", str(d / "out")]) == 0
    return d / "out"


@pytest.fixture(scope="module")
def trees(outdir):
    return {K: read_fit(outdir / f"K{K}.zarr") for K in (0, 1, 2)}


def _saved(fig, stem):
    paths = plots.save(fig, stem)
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    for p in paths:
        assert p.is_file() and p.stat().st_size > 1000
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    return paths


def _components(fig):
    return [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "component"]


@pytest.mark.parametrize("K", [0, 1, 2])
def test_fit_figure(trees, tmp_path, K):
    fig = plots.fit_figure(trees[K])
    assert isinstance(fig, Figure)
    _saved(fig, tmp_path / f"fit{K}")
    assert len(_components(fig)) == K + 1  # each peak and the background
    main_ax, res_ax = fig.axes[:2]
    assert f"K = {K}" in main_ax.get_title() and "noise sd" in main_ax.get_title()
    assert "F = " in main_ax.get_title()
    assert len(main_ax.collections) >= 2  # credible and predictive bands
    # the residual panel holds y - f_mean
    t = trees[K]
    res = t["observed_data"]["y"].values - t["predictive"]["f_mean"].values
    pts = [ln for ln in res_ax.get_lines() if ln.get_marker() == "o"]
    assert np.allclose(pts[0].get_ydata(), res)


def test_fit_figure_without_predictive(trees, tmp_path):
    fig = plots.fit_figure(trees[2].drop_nodes("predictive"))
    _saved(fig, tmp_path / "nopred")
    assert _components(fig) == []


def test_fit_figure_accepts_a_path(outdir):
    assert len(_components(plots.fit_figure(outdir / "K1.zarr"))) == 2


def test_free_energy_figure(outdir, tmp_path):
    table = pd.read_csv(outdir / "model_selection.csv")
    fig = plots.free_energy_figure(table)
    _saved(fig, tmp_path / "fe")
    ax, axp = fig.axes
    assert len(axp.patches) == len(table)  # one bar per K
    sel = int(table.loc[table["probability"].idxmax(), "K"])
    assert f"selected K = {sel}" in [t.get_text() for t in ax.get_legend().get_texts()]
    # the NaN-free case and a table with a NaN row both render
    bad = table.copy()
    bad.loc[0, ["free_energy", "free_energy_se"]] = np.nan
    plots.free_energy_figure(bad)


def test_noise_figure(trees, tmp_path):
    fig = plots.noise_figure(list(trees.values()))
    _saved(fig, tmp_path / "noise")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert all(f"K = {K}" in labels for K in trees)
    stars = [ln for ln in ax.get_lines() if ln.get_marker() == "*" and len(ln.get_xdata())]
    assert len(stars) == 3
    assert np.isclose(stars[0].get_xdata()[0], trees[0].attrs["noise_sd"])
    one = plots.noise_figure(trees[1])  # a single tree
    assert len(one.axes[0].get_legend().get_texts()) == 2


def test_positions_figure(trees, tmp_path):
    fig = plots.positions_figure(trees[2])
    _saved(fig, tmp_path / "pos")
    ax = fig.axes[0]
    hists = [p for p in ax.patches if p.get_gid() == "position"]
    assert len(hists) == 2  # one per peak
    assert len({tuple(p.get_facecolor()[:3]) for p in hists}) == 2
    empty = plots.positions_figure(trees[0])
    _saved(empty, tmp_path / "pos0")
    assert "no peaks" in empty.axes[0].texts[0].get_text()


def test_swap_figure(trees, tmp_path):
    fig = plots.swap_figure(list(trees.values()))
    _saved(fig, tmp_path / "swap")
    ax = fig.axes[0]
    warn = [ln for ln in ax.get_lines() if np.allclose(ln.get_ydata(), plots.SWAP_WARN)]
    assert warn
    data_lines = [ln for ln in ax.get_lines() if ln.get_marker() == "o"]
    assert len(data_lines) == 3
    n_rung = trees[1]["ladder"].sizes["rung"]
    assert len(data_lines[0].get_xdata()) == n_rung - 1  # last rung's NaN dropped


def test_ladder_nans_are_tolerated(trees):
    t = trees[1].copy()
    lad = t["ladder"].to_dataset()
    f = lad["free_energy"].values.copy()
    f[3:5] = np.nan
    s = lad["swap_acceptance"].values.copy()
    s[:] = np.nan
    t["ladder"] = lad.assign(free_energy=("rung", f), swap_acceptance=("rung", s))
    plots.noise_figure(t).canvas.draw()
    plots.swap_figure(t).canvas.draw()


def test_campaign_figure(tmp_path):
    n = 6
    df = pd.DataFrame({
        "spectrum": [f"s{i}" for i in range(n)],
        "K": [1, 2, 3, np.nan, 2, 3],
        "probability": [0.9, 0.8, 0.6, np.nan, 0.99, 0.7],
        "noise_sd": [0.1, 0.11, 0.09, np.nan, 0.1, 0.12],
        "status": ["ok", "ok", "ok", "failed", "ok", "ok"],
        "true_K": [1, 2, 2, 3, 2, 3],
    })
    fig = plots.campaign_figure(df)
    _saved(fig, tmp_path / "campaign")
    axk, axp, axs = fig.axes[:3]
    failed = [ln for ln in axk.get_lines() if ln.get_gid() == "failed"]
    assert len(failed) == 1 and list(failed[0].get_xdata()) == [3]
    assert "4/5" in fig.get_suptitle()
    assert len([b for b in axp.patches if b.get_gid() == "probability"]) == n - 1
    _saved(plots.campaign_figure(df.drop(columns="true_K")), tmp_path / "campaign2")


def test_figures_for_dir_and_write(outdir, tmp_path):
    paths = plots.write_figures(outdir, tmp_path / "figs")
    assert {p.name for p in paths} == {f"{n}.{e}" for n in
                                       ("fit", "free_energy", "noise", "positions", "swap")
                                       for e in ("png", "pdf")}
    assert all(p.stat().st_size > 0 for p in paths)
    with pytest.raises(Exception, match="K=7"):
        plots.figures_for_dir(outdir, K=7)


def test_thread_safe(trees, tmp_path):
    errors = []

    def work(i):
        try:
            plots.save(plots.fit_figure(trees[i % 3]), tmp_path / f"t{i}")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert len(list(tmp_path.glob("t*.png"))) == 3
