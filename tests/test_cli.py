"""The CLI contract: files, columns, printed table, exit codes and one-line errors."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayespec.cli import main
from bayespec.io.store import read_fit, to_inference_data
from conftest import nagata_data

FIT = """model:
  shape: gaussian_nagata
  K: [1, 2, 3]
  background: {kind: none}
priors:
  amplitude: {dist: uniform, low: 0, high: 3}
  center: {dist: uniform, low: 0, high: 3}
  width: {dist: uniform, low: 20, high: 300}
noise: {sd: 0.1}
sampler: {burn_in: 300, sweeps: 600, thin: 3, seed: 5}
"""


@pytest.fixture
def files(tmp_path):
    x, y = nagata_data(0)
    data = tmp_path / "d.csv"
    np.savetxt(data, np.c_[x, y], delimiter=",", header="x,y", comments="")
    cfg = tmp_path / "fit.yaml"
    cfg.write_text(FIT)
    return data, cfg, tmp_path / "out"


def test_fit_writes_stores_and_table(files, capsys):
    data, cfg, out = files
    assert main(["fit", str(data), "--config", str(cfg), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = pd.read_csv(out / "model_selection.csv")
    assert list(table.columns) == ["K", "free_energy", "free_energy_se", "noise_sd", "probability",
                                   "sweeps", "rhat_max", "ess_min", "F_chain_spread", "converged", "chi2_n", "ppc_p", "adequate",
                                   "wbic", "wbic_se"]
    assert table["K"].tolist() == [1, 2, 3]
    assert np.isclose(table["probability"].sum(), 1.0)
    assert table.loc[table["free_energy"].idxmin(), "K"] == 3
    assert "selected K = 3" in printed
    assert np.allclose(table["noise_sd"], 0.1)
    for K in (1, 2, 3):
        tree = read_fit(out / f"K{K}.zarr")
        assert tree["posterior"]["center"].dims == ("chain", "draw", "peak")
        assert tree["posterior"].sizes["peak"] == K
        c = np.asarray(tree["posterior"]["center"])
        assert np.all(np.diff(c, axis=-1) >= 0)  # relabelled by center
        assert "ladder" in tree.children and "predictive" in tree.children
        assert tree.attrs["seed"] == 5 and "numba" in tree.attrs["versions"]
        idata = to_inference_data(tree)
        assert idata.posterior["amplitude"].shape[:2] == (4, 200)
    # a plain xarray reader sees the same
    raw = xr.open_datatree(out / "K3.zarr", engine="zarr")
    # the table keeps 6 significant digits: a relative rounding error up to 5e-6
    assert float(raw.attrs["free_energy"]) == table.loc[2, "free_energy"] or np.isclose(
        raw.attrs["free_energy"], table.loc[2, "free_energy"], rtol=1e-5)
    assert main(["summary", str(out)]) == 0
    s = capsys.readouterr().out
    assert "selected K = 3" in s and "center" in s and "q97.5" in s


def test_same_seed_same_numbers(files, tmp_path):
    data, cfg, out = files
    assert main(["fit", str(data), "--config", str(cfg), "--out", str(out), "--peaks", "1"]) == 0
    assert main(["fit", str(data), "--config", str(cfg), "--out", str(tmp_path / "o2"),
                 "--peaks", "1", "--threads", "1"]) == 0
    a = (out / "model_selection.csv").read_text()
    b = (tmp_path / "o2" / "model_selection.csv").read_text()
    assert a == b
    pa = read_fit(out / "K1.zarr")["posterior"]["center"].values
    pb = read_fit(tmp_path / "o2" / "K1.zarr")["posterior"]["center"].values
    assert np.array_equal(pa, pb)


@pytest.mark.parametrize("content, needle", [
    ("x,y\n0,1\n1,nan\n2,3\n3,4\n", "line 3"),
    ("x,y\n0,1\n2,2\n1,3\n3,4\n", "line 4"),
    ("x,y\n0,1\n1,2\n1,3\n3,4\n", "line"),
    ("", "empty"),
    ("0,1,2,3\n1,2,3,4\n", "column"),
])
def test_bad_data_exits_with_one_line_cause(files, capsys, content, needle):
    _, cfg, out = files
    bad = out.parent / "bad.csv"
    bad.write_text(content)
    assert main(["fit", str(bad), "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "bad.csv" in err and needle in err.lower(), err
    assert not out.exists() or not any(out.iterdir())


def test_too_few_points(files, capsys):
    _, cfg, out = files
    small = out.parent / "small.csv"
    small.write_text("".join(f"{i},{i % 3}\n" for i in range(7)))
    assert main(["fit", str(small), "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "parameters" in err and "small.csv" in err
    assert not (out / "model_selection.csv").exists()


def test_bad_config_key(files, capsys):
    data, cfg, out = files
    cfg.write_text(FIT.replace("sampler: {", "sampler: {sweep: 10, "))
    assert main(["fit", str(data), "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "sampler.sweep" in err and "fit.yaml" in err


def test_impossible_prior(files, capsys):
    data, cfg, out = files
    cfg.write_text(FIT.replace("width: {dist: uniform, low: 20, high: 300}",
                               "width: {dist: normal, mean: 100, sd: 10}"))
    assert main(["fit", str(data), "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "priors.width" in err and "positive" in err


def test_fit_one_row_of_a_nexus_stack(files, tmp_path, capsys):
    """--index picks one spectrum of a NeXus 2-D stack; without it the error names --index."""
    from test_readers import write_nexus

    x, y = nagata_data(0)
    _, y2 = nagata_data(1)
    stack = write_nexus(tmp_path / "series.nxs", np.stack([y2, y, y2]), x)
    _, cfg, out = files
    cfg.write_text(FIT.replace("K: [1, 2, 3]", "K: [1]").replace("sweeps: 600", "sweeps: 60")
                   .replace("burn_in: 300", "burn_in: 30"))
    assert main(["fit", str(stack), "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "series.nxs" in err and "stack of 3 spectra" in err and "--index" in err, err
    assert main(["fit", str(stack), "--index", "1", "--config", str(cfg), "--out", str(out)]) == 0
    np.testing.assert_array_equal(read_fit(out / "K1.zarr")["observed_data"]["y"], y)
    # an option the file's format does not take is refused, naming the format that takes it
    data = files[0]
    assert main(["fit", str(data), "--index", "1", "--config", str(cfg), "--out",
                 str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "d.csv" in err and "index" in err and "nexus" in err, err


def test_checkpoint_names_keep_stack_rows_apart(tmp_path):
    from bayespec.inference.runner import checkpoint_path

    assert checkpoint_path("a/s.nxs", tmp_path).name == "s.checkpoint.npz"
    names = {checkpoint_path("a/s.nxs", tmp_path, {"index": i, "format": None}).name
             for i in range(3)}
    assert names == {f"s.index-{i}.checkpoint.npz" for i in range(3)}
    assert checkpoint_path("s.nxs", tmp_path, {"nxdata": "/entry/a b"}).name == \
        "s.nxdata-_entry_a_b.checkpoint.npz"
