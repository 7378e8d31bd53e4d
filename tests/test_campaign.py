"""bayespec.workflow.campaign, the library side of the Snakemake workflow, in-process: manifest and
config checks with their messages, config merging, demo data, the `columns` reader, error
markers through every stage, and one tiny spectrum through all stages."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import assert_same_text_numbers
from bayespec.errors import ConfigError, DataError
from bayespec.workflow import campaign, markers

ROOT = Path(__file__).resolve().parents[1]


def demo_config() -> dict:
    return yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def write_manifest(path: Path, rows: list[dict]) -> Path:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["\t".join(cols)] + ["\t".join("" if r.get(c) is None else str(r[c]) for c in cols)
                                 for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def spectrum_file(tmp_path) -> Path:
    x = np.linspace(0, 3, 61)
    y = np.exp(-((x - 1.5) ** 2) / (2 * 0.2 ** 2)) + 0.02 * np.random.default_rng(1).standard_normal(61)
    p = tmp_path / "s.csv"
    p.write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y)))
    return p


def load(tmp_path, rows, **cfg_over):
    cfg = demo_config()
    cfg.update(cfg_over)
    cfg["manifest"] = str(write_manifest(tmp_path / "m.tsv", rows))
    return campaign.Campaign.load(cfg)


# ----------------------------------------------------------------------------- manifest
def test_load_manifest_types_cells_and_keeps_lines(tmp_path):
    p = tmp_path / "m.tsv"
    p.write_text("# comment\nid\tpath\tK\ttrue_K\troi_min\tx_col\n\n"
                 "a\tf.csv\t1-3\t2\t0.5\t\nb\tg.csv\t4\t\tx\tenergy\n")
    df = campaign.load_manifest(p)
    assert df.attrs["lines"] == [4, 5]
    a, b = df.to_dict("records")
    assert a == {"id": "a", "path": "f.csv", "K": "1-3", "true_K": 2, "roi_min": 0.5,
                 "x_col": None}
    assert b["K"] == 4 and b["true_K"] is None and b["roi_min"] == "x" and b["x_col"] == "energy"


def test_campaign_resolves_demo_rows_and_overrides(tmp_path, spectrum_file):
    c = load(tmp_path, [
        {"id": "nagata2012", "path": "results/demo_data/nagata2012.csv", "true_K": 3},
        {"id": "mine", "path": spectrum_file, "K": "2,3", "shape": "gaussian_nagata",
         "priors": "nagata2012", "noise_sd": 0.05, "seed": 7},
    ])
    assert c.ids == ["nagata2012", "mine"] and c.demo_ids == ["nagata2012"]
    assert c.Ks("nagata2012") == [1, 2, 3, 4, 5] and c.Ks("mine") == [2, 3]
    p = c.fit_params("mine", 3)
    assert p["model"]["K"] == [3] and p["model"]["shape"] == "gaussian_nagata"
    assert p["priors"]["width"] == {"dist": "gamma", "shape": 5, "rate": 0.04}
    assert p["priors"]["background"]["dist"] == "normal"  # merged over fit.priors
    assert p["noise"] == {"sd": 0.05, "estimate": False} and p["sampler"]["seed"] == 7
    assert p["sampler"]["threads"] is None
    assert c.true_K() == {"nagata2012": 3, "mine": None}
    assert c.fit_resources() == {"mem_mb": 2000, "runtime": 60}
    assert "results/fits/mine/model_selection.csv" in c.final_outputs()


@pytest.mark.parametrize("row, message", [
    ({"id": "a/b", "path": "x"}, "id 'a/b' is not allowed"),
    ({"id": "..", "path": "x"}, "id '..' is not allowed"),
    ({"id": "a", "path": "nowhere.csv"}, "line 2 (id 'a'): path: nowhere.csv does not exist"),
    ({"id": "a", "path": "results/demo_data/a.csv"}, "only when 'a' is listed under demo.spectra"),
    ({"id": "a", "path": "SPEC", "roi_min": 2, "roi_max": 1}, "roi_min (2) must be smaller"),
    ({"id": "a", "path": "SPEC", "priors": "nope"}, "no prior set 'nope'"),
    ({"id": "a", "path": "SPEC", "K": "5-2"}, "model.K: range '5-2' is empty"),
    ({"id": "a", "path": "SPEC", "x_col": "x"}, "x_col: only used with format 'columns'"),
    ({"id": "a", "path": "SPEC", "format": "columns", "x_col": "e"}, "y_col: required"),
])
def test_campaign_rejects_bad_rows(tmp_path, spectrum_file, row, message):
    row = {k: (str(spectrum_file) if v == "SPEC" else v) for k, v in row.items()}
    with pytest.raises(ConfigError, match=None) as e:
        load(tmp_path, [row])
    assert message in str(e.value), str(e.value)


def test_campaign_rejects_duplicates_and_column_typos(tmp_path, spectrum_file):
    with pytest.raises(ConfigError, match=r"line 3 \(id 'A'\): duplicated id \(also on line 2"):
        load(tmp_path, [{"id": "a", "path": spectrum_file}, {"id": "A", "path": spectrum_file}])
    with pytest.raises(ConfigError, match="column 'tru_K' is not a manifest column; did you "
                                          "mean 'true_K'"):
        load(tmp_path, [{"id": "a", "path": spectrum_file, "tru_K": 2}])
    c = load(tmp_path, [{"id": "a", "path": spectrum_file, "temperature": 300}])
    assert c.ingest_params("a")["metadata"]["temperature"] == "300"  # kept as metadata


def test_config_checks_name_the_key(tmp_path, spectrum_file):
    rows = [{"id": "a", "path": spectrum_file}]
    cfg = demo_config()
    cfg["fit"]["sampler"]["sweps"] = 3
    with pytest.raises(ConfigError, match="config 'fit' block: sampler.sweps: unknown key; did "
                                          "you mean 'sweeps'"):
        load(tmp_path, rows, fit=cfg["fit"])
    with pytest.raises(ConfigError, match="prior_sets.bad: .*priors.width.*gamma"):
        load(tmp_path, rows, prior_sets={"bad": {"width": {"dist": "gamma", "shape": -1,
                                                            "rate": 1}}})
    cfg = demo_config()
    cfg["fit"]["sampler"]["backend"] = "numpy"
    with pytest.raises(ConfigError, match="set the backend in one place"):
        load(tmp_path, rows, fit=cfg["fit"], backend="cupy")


def test_gpu_resource_only_for_gpu_backend(tmp_path, spectrum_file):
    rows = [{"id": "a", "path": spectrum_file}]
    assert "gpu" not in load(tmp_path, rows, backend="numba").fit_resources()
    assert "gpu" not in load(tmp_path, rows, backend="auto").fit_resources()
    c = load(tmp_path, rows, backend="cupy")
    assert c.fit_resources()["gpu"] == 1 and c.fit_params("a", 1)["sampler"]["backend"] == "cupy"


def test_replace_whole_undoes_key_merging():
    cfg = {"fit": {"priors": {"center": {"dist": "normal", "mean": 1.5, "sd": 0.4,
                                         "low": 0, "high": 3}, "width": {"dist": "x"}},
                   "noise": {"estimate": True, "sd": 0.1}, "sampler": {"seed": 3, "sweeps": 9}},
           "demo": {"spectra": {"a": {"peaks": [], "noise_sd": 1, "seed": 5}}}}
    over = {"fit": {"priors": {"center": {"dist": "normal", "mean": 1.5, "sd": 0.4}},
                    "noise": {"sd": 0.1}, "sampler": {"seed": 3}},
            "demo": {"spectra": {"a": {"peaks": [], "noise_sd": 1}}}}
    campaign.replace_whole(cfg, over)
    assert cfg["fit"]["priors"] == {"center": {"dist": "normal", "mean": 1.5, "sd": 0.4},
                                    "width": {"dist": "x"}}
    assert cfg["fit"]["noise"] == {"sd": 0.1}
    assert cfg["fit"]["sampler"] == {"seed": 3, "sweeps": 9}  # merged as usual
    assert cfg["demo"]["spectra"]["a"] == {"peaks": [], "noise_sd": 1}


def test_schema_error_message_names_line_id_and_key(tmp_path):
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    df = campaign.load_manifest(write_manifest(tmp_path / "m.tsv", [
        {"id": "ok", "path": "a.csv"}, {"id": "bad id", "path": "b.csv"}]))
    schema = ROOT / "workflow" / "schemas" / "spectra.schema.yaml"
    with pytest.raises(WorkflowError) as e:
        validate(df, str(schema))
    msg = campaign.schema_error_message(e.value, "m.tsv", df)
    assert msg.startswith("m.tsv: line 3 (id 'bad id'): id: 'bad id' does not match"), msg
    ve = jsonschema.ValidationError("x is bad", validator="minimum", path=["threads_per_fit"],
                                    schema={"description": "why"})
    assert campaign.schema_error_message(ve, "config") == "config: threads_per_fit: x is bad (why)"


# ----------------------------------------------------------------------------- demo data
def test_demo_nagata_reproduces_the_bundled_example(tmp_path):
    cfg = demo_config()
    nag = {"x": cfg["demo"]["x"], **cfg["demo"]["spectra"]["nagata2012"]}
    out = campaign.write_demo_csv(tmp_path / "n.csv", "nagata2012", nag)
    ours = [line for line in out.read_text().splitlines() if not line.startswith("#")]
    example = ROOT / "examples" / "demo" / "nagata2012.csv"
    if not example.exists():
        pytest.skip("examples/demo/nagata2012.csv not bundled")
    theirs = [line for line in example.read_text().splitlines() if not line.startswith("#")]
    assert_same_text_numbers("\n".join(ours), "\n".join(theirs), example.name)
    x, y = campaign.demo_curve({"x": {"start": 0, "stop": 1, "n": 11}, "shape": "lorentzian",
                                "peaks": [[2.0, 0.5, 0.1]], "background": [1.0], "noise_sd": 1e-12})
    assert np.allclose(y[5], 3.0) and np.allclose(x, np.linspace(0, 1, 11))


# ----------------------------------------------------------------------------- columns format
def test_read_columns_by_name_and_number(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("# scan 7\ntime\tenergy\tcounts\terr\n1\t3.0\t10\t1\n2\t2.0\t20\t2\n"
                 "3\t1.0\t30\t3\n")
    s = campaign.read_columns(p, "energy", 3, "err")
    assert s.x.tolist() == [1.0, 2.0, 3.0] and s.y.tolist() == [30, 20, 10]  # reversed axis
    assert s.sd.tolist() == [3, 2, 1]
    with pytest.raises(DataError, match=r"t.tsv: line 2: no column 'enrgy' \(x_col\) in the "
                                        r"header; did you mean 'energy'"):
        campaign.read_columns(p, "enrgy", "counts")
    p.write_text("e,c\n1,2\n2,x\n")
    with pytest.raises(DataError, match=r"line 3, column 2 \(c\): cannot read 'x'"):
        campaign.read_columns(p, "e", "c")
    p.write_text("e,c\n1,2\n1,3\n")
    with pytest.raises(DataError, match="lines 2 and 3: duplicated x"):
        campaign.read_columns(p, 1, 2)


# ----------------------------------------------------------------------------- markers
def test_bad_file_becomes_a_marker_that_every_stage_passes_on(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n0,1\n1,inf\n")
    R = tmp_path / "results"
    st = campaign.ingest(bad, R / "ingest" / "b.zarr", {"spectrum": "b"}, log_path="logs/i.log")
    assert st.startswith(f"error: {bad}: line 3") and "\n" not in st
    assert campaign.read_status(R / "ingest" / "b.zarr") == st
    assert campaign.preprocess(R / "ingest" / "b.zarr", R / "pre" / "b.zarr", {}) == st
    stores = []
    for K in (1, 2):
        out = R / "fits" / "b" / f"K{K}.zarr"
        assert campaign.fit_one(R / "pre" / "b.zarr", out, {}, K, spectrum="b") == st
        stores.append(out)
    from bayespec.io.store import read_fit

    with pytest.raises(DataError, match="no 'complete' marker"):
        read_fit(stores[0])  # a marker is never mistaken for a fit
    info = campaign.select(stores, R / "t.csv", R / "p.tsv", R / "i.json", "b")
    assert info["status"] == st and info["stage"] == "ingest" and info["log"] == "logs/i.log"
    assert (R / "t.csv").read_text().strip() == ("K,free_energy,free_energy_se,noise_sd,probability,"
                                                 "sweeps,rhat_max,ess_min,F_chain_spread,converged,"
                                                 "chi2_n,ppc_p,adequate,wbic,wbic_se")
    campaign.spectrum_figures("b", stores, R / "t.csv", R / "i.json", R / "fig")
    assert sorted(p.name for p in (R / "fig").iterdir()) == sorted(
        f"{n}.{e}" for n in campaign.FIGURES for e in ("png", "pdf"))
    df = campaign.summarise([R / "i.json"], [R / "p.tsv"], R / "s.tsv", R / "s.parquet",
                            true_K={"b": 2})
    assert df.loc[0, "status"] == st and pd.isna(df.loc[0, "K"]) and df.loc[0, "true_K"] == 2
    rep = campaign.failure_report(R / "s.tsv", "logs")
    assert "1 spectra, 1 failed" in rep and "b: error:" in rep and "[log: logs/i.log]" in rep
    assert not list(R.rglob(".*tmp-*"))


def test_region_of_interest_too_small_is_a_marker(tmp_path, spectrum_file):
    R = tmp_path / "results"
    assert campaign.ingest(spectrum_file, R / "i.zarr", {"spectrum": "s"}) == "ok"
    st = campaign.preprocess(R / "i.zarr", R / "p.zarr",
                             {"spectrum": "s", "roi_min": 1.0, "roi_max": 1.1, "min_points": 10})
    assert st.startswith(f"error: {spectrum_file}: region of interest [1, 1.1] with bin 1 "
                         f"leaves 3 point(s)")


# ----------------------------------------------------------------------------- all stages
def test_one_spectrum_through_every_stage(tmp_path, spectrum_file):
    import arviz_stats as azs
    import xarray as xr

    R = tmp_path / "r"
    params = {"spectrum": "s", "x_units": "eV", "y_units": "counts", "metadata": {"id": "s"}}
    assert campaign.ingest(spectrum_file, R / "i.zarr", params) == "ok"
    ds = xr.open_zarr(R / "i.zarr", zarr_format=3)
    assert ds.attrs["x_units"] == "eV" and ds.sizes["x"] == 61 and len(ds.attrs["sha256"]) == 64
    pp = {"spectrum": "s", "roi_min": 0.5, "roi_max": 2.5, "bin": 2, "normalise": "max"}
    assert campaign.preprocess(R / "i.zarr", R / "p.zarr", pp) == "ok"
    pre = xr.open_zarr(R / "p.zarr", zarr_format=3)
    assert pre.sizes["x"] == 20 and float(abs(pre["y"]).max()) == pytest.approx(1.0)
    fit = {"model": {"shape": "gaussian", "K": [1], "background": {"kind": "constant"}},
           "priors": {"amplitude": {"dist": "gamma", "shape": 2, "rate": 1},
                      "center": {"dist": "uniform", "low": 0, "high": 3},
                      "width": {"dist": "lognormal", "mu": -1.6, "sigma": 0.5}},
           "sampler": {"burn_in": 100, "sweeps": 200, "replicas": 12, "seed": 4}}
    stores = [R / "f" / f"K{K}.zarr" for K in (1, 2)]
    for K, out in zip((1, 2), stores):
        assert campaign.fit_one(R / "p.zarr", out, fit, K, threads=1, spectrum="s") == "ok"
    info = campaign.select(stores, R / "t.csv", R / "pk.tsv", R / "i.json", "s")
    assert info["status"] == "ok" and info["K"] in (1, 2)
    t = pd.read_csv(R / "t.csv")
    assert list(t["K"]) == [1, 2] and t["probability"].sum() == pytest.approx(1)
    idata = xr.open_datatree(stores[0], engine="zarr")  # what ArviZ >= 1 works on
    assert idata.posterior.sizes["peak"] == 1
    assert len(azs.summary(idata, var_names=["center"], kind="stats")) == 1
    paths = campaign.spectrum_figures("s", stores, R / "t.csv", R / "i.json", R / "fig")
    assert len(paths) == 10 and all(p.stat().st_size > 0 for p in paths)
    df = campaign.summarise([R / "i.json"], [R / "pk.tsv"], R / "s.tsv", R / "s.parquet")
    assert {"peak1_center", "peak1_center_lo", "peak1_center_hi", "peak1_area"} <= set(df.columns)
    assert df.loc[0, "peak1_center_lo"] < 1.5 < df.loc[0, "peak1_center_hi"]
    # model-averaged columns: over K = 1, 2 with the table's probabilities
    assert df.loc[0, "K_avg"] == pytest.approx(float((t["K"] * t["probability"]).sum()),
                                               rel=1e-5)
    assert df.loc[0, "peak1_p"] == pytest.approx(1.0)
    assert (df.loc[0, "peak1_center_avg_lo"] < df.loc[0, "peak1_center_avg"]
            < df.loc[0, "peak1_center_avg_hi"])
    cols = list(df.columns)
    assert cols.index("peak1_area_hi") < cols.index("K_avg") < cols.index("converged")
    assert pd.read_parquet(R / "s.parquet").shape == df.shape
    campaign.campaign_figures(R / "s.tsv", R / "campaign")
    assert (R / "campaign.png").is_file() and (R / "campaign.pdf").is_file()
    assert "1 spectra, 0 failed" in campaign.failure_report(R / "s.tsv")
    # the same seed gives the same store numbers again (what kill-and-resume relies on)
    again = R / "again.zarr"
    campaign.fit_one(R / "p.zarr", again, fit, 1, threads=2, spectrum="s")
    a, b = xr.open_datatree(stores[0], engine="zarr"), xr.open_datatree(again, engine="zarr")
    assert a.attrs["free_energy"] == b.attrs["free_energy"]
    np.testing.assert_array_equal(a["posterior"]["center"].values, b["posterior"]["center"].values)


def test_logged_writes_messages_and_tracebacks(tmp_path):
    log = tmp_path / "l" / "job.log"
    with pytest.raises(RuntimeError):
        with campaign.logged(log) as lg:
            lg.info("hello")
            print("printed")
            raise RuntimeError("boom")
    text = log.read_text()
    assert "hello" in text and "printed" in text and "RuntimeError: boom" in text


def test_write_dataset_atomic_leaves_nothing_on_failure(tmp_path, monkeypatch):
    import xarray as xr

    ds = xr.Dataset({"y": ("x", np.arange(3.0))})
    dest = tmp_path / "d.zarr"
    campaign.write_dataset_atomic(ds, dest)
    real = markers.os.replace

    def boom(a, b):
        if str(a).endswith(".zarr") is False and ".tmp-" in str(a):
            raise OSError("disk full")
        return real(a, b)

    monkeypatch.setattr(markers.os, "replace", boom)
    with pytest.raises(OSError):
        campaign.write_dataset_atomic(ds + 1, dest)
    monkeypatch.undo()
    assert xr.open_zarr(dest, zarr_format=3)["y"].values.tolist() == [0, 1, 2]  # old intact
    assert [p.name for p in tmp_path.iterdir()] == ["d.zarr"]
    info = json.loads(json.dumps({"ok": campaign.read_status(dest)}))
    assert info == {"ok": "error: " + f"{dest}: incomplete store (no 'complete' attr)"}


def test_preprocess_linear_subtraction(tmp_path):
    import xarray as xr

    x = np.linspace(0, 3, 61)
    y = 0.5 + 0.2 * x + np.exp(-0.5 * ((x - 1.5) / 0.1) ** 2)
    src = tmp_path / "in.zarr"
    campaign.write_dataset_atomic(xr.Dataset({"y": ("x", y)}, coords={"x": x},
                                             attrs={"status": "ok"}), src)
    out = tmp_path / "out.zarr"
    pp = {"spectrum": "s", "bin": 1, "normalise": "none", "subtract": "linear",
          "edge_points": 5, "min_points": 10}
    assert campaign.preprocess(src, out, pp) == campaign.STATUS_OK
    ds = xr.open_zarr(out)
    np.testing.assert_allclose(ds["y"].values, y - 0.5 - 0.2 * x, atol=1e-9)
    assert ds.attrs["subtract"] == "linear"
    np.testing.assert_allclose(ds.attrs["subtracted_line"], [0.5, 0.2], atol=1e-9)


def test_likelihood_column_selects_poisson_per_spectrum(tmp_path, spectrum_file):
    """A row with likelihood poisson fits raw counts (the campaign's noise block does not apply
    to it); its other rows keep the Gaussian likelihood; non-count data fail that spectrum
    only, naming the file and the line."""
    counts = tmp_path / "counts.csv"
    rng = np.random.default_rng(0)
    x = np.linspace(0, 3, 61)
    y = rng.poisson(20 + 200 * np.exp(-((x - 1.5) ** 2) / (2 * 0.2 ** 2)))
    counts.write_text("x,y\n" + "".join(f"{float(a)!r},{int(b)}\n" for a, b in zip(x, y)))
    c = load(tmp_path, [{"id": "g", "path": spectrum_file},
                        {"id": "p", "path": counts, "likelihood": "poisson",
                         "priors": "counts"},
                        {"id": "bad", "path": spectrum_file, "likelihood": "poisson"}],
             prior_sets={"counts": {  # counts need count-sized priors and a positive mean
                 "amplitude": {"dist": "uniform", "low": 0, "high": 500},
                 "background": [{"dist": "uniform", "low": 1, "high": 100},
                                {"dist": "normal", "mean": 0, "sd": 0.3}]}})
    pg, pp = c.fit_params("g", 1), c.fit_params("p", 1)
    assert pg["model"].get("likelihood", "gaussian") == "gaussian"
    assert pg["noise"]["estimate"] is True
    assert pp["model"]["likelihood"] == "poisson" and not pp.get("noise")
    raw = {**pp, "sampler": {**pp["sampler"], "burn_in": 50, "sweeps": 60, "chains": 2,
                             "threads": 1}}
    for sid, path in (("p", counts), ("bad", spectrum_file)):
        ing, pre = tmp_path / f"{sid}.ing.zarr", tmp_path / f"{sid}.pre.zarr"
        campaign.ingest(path, ing, c.ingest_params(sid))
        campaign.preprocess(ing, pre, c.preprocess_params(sid))
        st = campaign.fit_one(pre, tmp_path / sid / "K1.zarr", raw, 1, threads=1, spectrum=sid)
        if sid == "p":
            assert st == "ok"
        else:
            assert st.startswith(f"error: {spectrum_file}: x = ") and "negative count" in st
