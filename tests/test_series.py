"""Series (inference/series.py, workflow/series.py): lines followed through a synthetic stack
with known motion, growth, appearance and a gap; the manifest's series and order columns; the
stage's files from select outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayespec.errors import ConfigError
from bayespec.inference.series import Frame, changes_table, track_lines, trends_table
from bayespec.workflow import series as series_stage
from test_campaign import load, spectrum_file  # noqa: F401 (a fixture)

FWHM = 2.3548


def _lines(peaks: list[tuple[float, float, float]]) -> pd.DataFrame:
    """A select-stage peak table: (center, sd, area) per line, lines in order of center."""
    rows = []
    for k, (c, sd, area) in enumerate(sorted(peaks)):
        for q, m, s in (("center", c, 0.01), ("width", sd, 0.005), ("amplitude", area, 0.05),
                        ("area", area * sd * 2.5066, 0.05), ("fwhm", FWHM * sd, 0.01)):
            rows.append({"peak": k, "quantity": q, "mean": m, "sd": s, "q2.5": m - 2 * s,
                         "q97.5": m + 2 * s})
    rows.append({"peak": -1, "quantity": "background[c0]", "mean": 0.1, "sd": 0.01,
                 "q2.5": 0.08, "q97.5": 0.12})
    return pd.DataFrame(rows)


def _stack() -> list[Frame]:
    """12 frames: A moves 1.0 -> 2.1 (0.1 per frame, FWHM 0.47), B at 4.0 grows, C appears at
    frame 5 at 3.0, frame 3 failed, frame 8 misses B (a weak frame)."""
    frames = []
    for i in range(12):
        if i == 3:
            frames.append(Frame(f"f{i}", float(i), "error: f3.csv: line 2: not a number"))
            continue
        pk = [(1.0 + 0.1 * i, 0.2, 1.0)]
        if i != 8:
            pk.append((4.0, 0.25, 0.5 + 0.1 * i))
        if i >= 5:
            pk.append((3.0, 0.2, 0.8))
        frames.append(Frame(f"f{i}", float(i), "ok", K=len(pk), probability=0.9,
                            noise_sd=0.05, free_energy=-100.0, dF_runner_up=5.0,
                            lines=_lines(pk)))
    return frames


def test_lines_are_followed_by_position():
    frames = _stack()
    tracks = track_lines(frames)
    assert tracks[3] == {}
    for i, tr in enumerate(tracks):
        if i == 3:
            continue
        t = frames[i].lines
        c = t[t["peak"] >= 0].pivot_table(index="peak", columns="quantity",
                                          values="mean")["center"]
        names = {tr[("", k)]: c[k] for k in c.index}
        assert names["line1"] == pytest.approx(1.0 + 0.1 * i)  # the moving line keeps its name
        if i != 8:
            assert names["line2"] == pytest.approx(4.0)  # across the failed frame 3
        if i >= 5:
            assert names["line3"] == pytest.approx(3.0)  # appears, gets the next name
        assert len(names) == len(c)


def test_trends_and_changes():
    t = trends_table("s", _stack())
    assert list(t["order"]) == [float(i) for i in range(12)]
    assert t.loc[3, "status"].startswith("error") and np.isnan(t.loc[3, "line1_center"])
    np.testing.assert_allclose(t["line1_center"].drop(3), 1.0 + 0.1 * np.delete(np.arange(12), 3))
    grow = t["line2_amplitude"].drop([3, 8]).to_numpy()
    assert np.all(np.diff(grow) > 0)  # B grows
    assert t.loc[8, ["line2_center", "line2_center_lo"]].isna().all()
    assert list(t.columns[:10]) == ["series", "spectrum", "order", "status", "K", "candidate",
                                    "probability", "noise_sd", "free_energy", "dF_runner_up"]
    assert t.columns[10:16].tolist() == ["line1_center", "line1_center_lo", "line1_center_hi",
                                         "line1_width", "line1_width_lo", "line1_width_hi"]
    ch = changes_table(t)
    # C appears at 5 (K 2 -> 3); B is missing at 8 (3 -> 2) and back at 9 (2 -> 3)
    assert ch["order"].tolist() == [5.0, 8.0, 9.0]
    assert ch["appeared"].tolist() == ["line3", "", "line2"]
    assert ch["vanished"].tolist() == ["", "line2", ""]
    assert ch[["from", "to"]].values.tolist() == [["2", "3"], ["3", "2"], ["2", "3"]]


def test_a_far_jump_starts_a_new_track():
    """A line that jumps by more than its FWHM between frames is not the same line."""
    f = [Frame("a", 0.0, "ok", K=1, lines=_lines([(1.0, 0.1, 1.0)])),
         Frame("b", 1.0, "ok", K=1, lines=_lines([(2.0, 0.1, 1.0)]))]
    tr = track_lines(f)
    assert tr[0][("", 0)] == "line1" and tr[1][("", 0)] == "line2"
    ch = changes_table(trends_table("s", f))
    assert ch[["appeared", "vanished"]].values.tolist() == [["line2", "line1"]]


def test_composite_lines_are_tracked_per_component():
    def lines(bulk, oxide):
        parts = []
        for name, pk in (("bulk", bulk), ("oxide", oxide)):
            if pk:
                t = _lines(pk)
                t = t[t["peak"] >= 0]
                t.insert(0, "component", name)
                parts.append(t)
        return pd.concat(parts, ignore_index=True)

    f = [Frame("a", 0.0, "ok", K=1, candidate="1-0", lines=lines([(84.0, 0.4, 1.0)], [])),
         Frame("b", 1.0, "ok", K=2, candidate="1-1",
               lines=lines([(84.05, 0.4, 1.0)], [(84.3, 0.5, 0.3)]))]
    tr = track_lines(f)
    assert tr[1] == {("bulk", 0): "bulk1", ("oxide", 0): "oxide1"}
    ch = changes_table(trends_table("s", f))
    assert ch[["from", "to", "appeared"]].values.tolist() == [["1-0", "1-1", "oxide1"]]


# ----------------------------------------------------------------------------- manifest
def test_manifest_series_and_order(tmp_path, spectrum_file):
    rows = [{"id": f"t{i}", "path": str(spectrum_file), "series": "heat", "order": o}
            for i, o in enumerate([300, 100, 200])]
    c = load(tmp_path, rows + [{"id": "other", "path": str(spectrum_file)}])
    assert c.series == {"heat": ["t1", "t2", "t0"]}
    assert [c.order_of(k) for k in c.series["heat"]] == [100.0, 200.0, 300.0]
    outs = c.final_outputs()
    assert "results/series/heat/trends.tsv" in outs and "results/series/heat/changes.tsv" in outs


@pytest.mark.parametrize("rows,match", [
    ([{"series": "s"}], "order: a number is required"),
    ([{"series": "s", "order": 1}, {"series": "s", "order": 1}], "order: 1 is also the order"),
    ([{"order": 1}], "order: only used for rows of a series"),
    ([{"series": "s", "order": "late"}], "order: a number is required"),
])
def test_manifest_series_errors(tmp_path, spectrum_file, rows, match):
    full = [{"id": f"t{i}", "path": str(spectrum_file), **r} for i, r in enumerate(rows)]
    with pytest.raises(ConfigError, match=match):
        load(tmp_path, full)


# ----------------------------------------------------------------------------- the stage
def test_stage_writes_trends_changes_and_figure(tmp_path):
    frames = _stack()
    infos, peaks, tables = [], [], []
    for f in frames:
        info = {"spectrum": f.spectrum, "status": f.status}
        if f.status == "ok":
            info.update(K=f.K, probability=f.probability, noise_sd=f.noise_sd,
                        free_energy=f.free_energy)
            f.lines.insert(0, "K", f.K)
            f.lines.insert(0, "spectrum", f.spectrum)
            f.lines.to_csv(tmp_path / f"{f.spectrum}.tsv", sep="\t", index=False)
        else:
            (tmp_path / f"{f.spectrum}.tsv").write_text("spectrum\tK\tpeak\tquantity\tmean\n")
        pd.DataFrame({"K": [1, 2, 3], "free_energy": [-90.0, -100.0, -97.0]}).to_csv(
            tmp_path / f"{f.spectrum}.csv", index=False)
        (tmp_path / f"{f.spectrum}.json").write_text(json.dumps(info))
        infos.append(tmp_path / f"{f.spectrum}.json")
        peaks.append(tmp_path / f"{f.spectrum}.tsv")
        tables.append(tmp_path / f"{f.spectrum}.csv")
    out = tmp_path / "out"
    df = series_stage.series("s", [f.order for f in frames], infos, peaks, tables,
                             out / "trends.tsv", out / "trends.parquet", out / "changes.tsv",
                             out / "trends")
    back = pd.read_csv(out / "trends.tsv", sep="\t")
    assert back.shape == df.shape and back.loc[0, "dF_runner_up"] == pytest.approx(3.0)
    assert pd.read_parquet(out / "trends.parquet").shape == df.shape
    assert pd.read_csv(out / "changes.tsv", sep="\t")["order"].tolist() == [5.0, 8.0, 9.0]
    assert (out / "trends.png").stat().st_size > 0 and (out / "trends.pdf").stat().st_size > 0


def test_warm_start_links_each_frame_to_the_one_before(tmp_path, spectrum_file):
    rows = [{"id": f"t{i}", "path": str(spectrum_file), "series": "heat", "order": o}
            for i, o in enumerate([300, 100, 200])]
    c = load(tmp_path, rows, series={"warm_start": True, "burn_in": 100})
    assert c.warm_burn_in == 100
    assert c.warm_store("t1", 2) is None  # the first frame (order 100) starts cold
    assert c.warm_store("t2", 2) == "results/fits/t1/K2.zarr"
    assert c.warm_store("t0", 3) == "results/fits/t2/K3.zarr"
    assert load(tmp_path, rows).warm_store("t2", 2) is None  # off by default
    with pytest.raises(ConfigError, match="series.warm_start needs batch_size: 1"):
        load(tmp_path, rows, series={"warm_start": True}, batch_size=2)
