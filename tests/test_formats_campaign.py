"""The mixed-format campaign in-process: the example files are reproducible, the manifest
expands a NeXus stack into id[i] entries (files id@i), per-row reader and preprocessing
columns are validated with messages naming the line, and ingest records what it read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import assert_same_hdf5, assert_same_text_numbers
from bayespec.errors import ConfigError
from bayespec.io import readers
from bayespec.workflow import campaign

ROOT = Path(__file__).resolve().parents[1]
EX = ROOT / "examples" / "formats"
IDS = ["xps", "pattern", "cu", "series@0", "series@1", "series@2"]


def formats_config(tmp_path: Path, manifest: str | None = None) -> dict:
    """config.yaml with formats.yaml over it (priors replaced whole, as Snakemake does)."""
    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    over = yaml.safe_load((ROOT / "config" / "formats.yaml").read_text())
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            for kk, vv in v.items():
                if isinstance(vv, dict) and isinstance(cfg[k].get(kk), dict):
                    cfg[k][kk].update(vv)
                else:
                    cfg[k][kk] = vv
        else:
            cfg[k] = v
    if manifest is not None:
        p = tmp_path / "m.tsv"
        p.write_text(manifest)
        cfg["manifest"] = str(p)
    else:
        cfg["manifest"] = str(ROOT / "config" / "formats.tsv")
    return cfg


@pytest.fixture
def in_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # manifest paths are relative to the repository root


def test_example_files_are_reproduced_by_their_generator(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_formats", EX / "make_formats.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(tmp_path)
    for name in ("xps.csv", "pattern.xye", "cu.xdi"):
        assert_same_text_numbers((tmp_path / name).read_text(), (EX / name).read_text(), name)
    assert_same_hdf5(tmp_path / "series.nxs", EX / "series.nxs")


def test_examples_read_back_their_known_content():
    r = readers.read(EX / "cu.xdi", mu="transmission")
    assert r.n == 121 and r.x_units == "eV" and r.metadata["xdi.Element.symbol"] == "Cu"
    assert abs(np.median(r.y) - 0.3) < 0.01  # the flat mu level the generator used
    r = readers.read(EX / "series.nxs", index=2)
    assert r.metadata["time"] == 120.0 and r.x_units == "1/nm"
    np.testing.assert_array_equal(r.sd, np.full(121, 0.03))
    r = readers.read(EX / "xps.csv")
    assert r.reversed and r.x[0] == 7.0 and r.x[-1] == 10.0


def test_manifest_expands_the_stack(tmp_path, in_root):
    c = campaign.Campaign.load(formats_config(tmp_path))
    assert c.ids == IDS
    row = c.rows["series@1"]
    assert row["id"] == "series[1]" and row["_index"] == 1
    ip = c.ingest_params("series@1")
    assert ip["spectrum"] == "series[1]" and ip["index"] == 1 and ip["format"] == "nexus"
    assert c.ingest_params("cu")["mu"] == "transmission"
    assert c.ingest_params("pattern")["format"] == "diffraction"  # by extension
    pre = c.preprocess_params("xps")
    assert pre["binding_energy"] == 10.0 and pre["subtract"] == "shirley"
    assert c.preprocess_params("cu")["subtract"] == "none"
    assert c.fit_stores("series@2") == ["results/formats/fits/series@2/K1.zarr",
                                        "results/formats/fits/series@2/K2.zarr",
                                        "results/formats/fits/series@2/K3.zarr"]
    assert c.true_K()["series@0"] == 2
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "spectra.schema.yaml").read_text())
    assert campaign.FORMATS == tuple(readers.FORMATS) == tuple(
        schema["properties"]["format"]["enum"])
    assert campaign.entry_name("series@12") == "series[12]" and campaign.entry_name("a.1") == "a.1"
    import re

    assert re.fullmatch(campaign.ENTRY_PATTERN, "series@1")
    assert not re.fullmatch(campaign.ENTRY_PATTERN, "series[1]")


HEAD = "id\tpath\tformat\tmu\tindex\tsubtract\tx_col\n"


@pytest.mark.parametrize("row, message", [
    ("s\texamples/formats/series.nxs\t\t\t0,2\t\t\n", None),
    ("s\texamples/formats/series.nxs\t\t\t3\t\t\n", "line 2 (id 's'): index: row 3 is out of "
                                                     "range; the stack has rows 0..2"),
    ("s\texamples/formats/series.nxs\t\t\t1-x\t\t\n", "index: '1-x'; give row numbers"),
    ("s\texamples/formats/xps.csv\t\t\t1\t\t\n", "index: only used with stack files"),
    ("s\texamples/formats/xps.csv\t\ttransmission\t\t\t\n", "mu: not used by format 'xy'"),
    ("s\texamples/formats/cu.xdi\t\t\t\tspline\t\n", "line 2 (id 's'): preprocess: subtract: "
                                                     "'spline'; choose one of"),
    ("s\texamples/formats/cu.xdi\txdl\t\t\t\t\n", "format 'xdl' is unknown; did you mean 'xdi'"),
    ("s\texamples/formats/cu.xdi\t\t\t\t\tenergy\n", "x_col: only used with format 'columns'"),
])
def test_row_checks(tmp_path, in_root, row, message):
    cfg = formats_config(tmp_path, HEAD + row)
    if message is None:
        c = campaign.Campaign.load(cfg)
        assert c.ids == ["s@0", "s@2"] and c.rows["s@2"]["id"] == "s[2]"
        return
    with pytest.raises(ConfigError) as e:
        campaign.Campaign.load(cfg)
    assert message in str(e.value), str(e.value)


def test_truncated_stack_stays_one_entry_that_fails_at_ingest(tmp_path, in_root):
    bad = tmp_path / "cut.nxs"
    data = (EX / "series.nxs").read_bytes()
    bad.write_bytes(data[: len(data) // 3])
    cfg = formats_config(tmp_path, f"id\tpath\nok\texamples/formats/pattern.xye\ncut\t{bad}\n")
    c = campaign.Campaign.load(cfg)
    assert c.ids == ["ok", "cut"]
    R = tmp_path / "r"
    st = campaign.ingest(c.source("cut"), R / "cut.zarr", c.ingest_params("cut"))
    assert st.startswith(f"error: {bad}: cannot open as HDF5") and "truncated" in st
    assert campaign.ingest(c.source("ok"), R / "ok.zarr", c.ingest_params("ok")) == "ok"


def test_ingest_records_reader_metadata(tmp_path, in_root):
    import xarray as xr

    c = campaign.Campaign.load(formats_config(tmp_path))
    R = tmp_path / "r"
    for sid in IDS:
        assert campaign.ingest(c.source(sid), R / f"{sid}.zarr", c.ingest_params(sid)) == "ok"
    ds = xr.open_zarr(R / "series@1.zarr", zarr_format=3)
    assert ds.attrs["spectrum"] == "series[1]" and ds.attrs["index"] == 1
    assert ds.attrs["format"] == "nexus" and ds.attrs["x_units"] == "1/nm"
    meta = json.loads(ds.attrs["file_metadata"])
    assert meta["time"] == 60.0 and meta["signal"] == "/entry/data/intensity"
    assert "sd" in ds
    ds = xr.open_zarr(R / "xps.zarr", zarr_format=3)
    assert ds.attrs["axis_reversed"] is True and ds.attrs["x_units"] == "eV"
    ds = xr.open_zarr(R / "cu.zarr", zarr_format=3)
    assert json.loads(ds.attrs["file_metadata"])["mu"] == "transmission"
    assert ds.attrs["format"] == "xdi"
    # preprocessing of the XPS row: binding energy, then the Shirley background
    assert campaign.preprocess(R / "xps.zarr", R / "xps_pre.zarr",
                               c.preprocess_params("xps")) == "ok"
    pre = xr.open_zarr(R / "xps_pre.zarr", zarr_format=3)
    steps = json.loads(pre.attrs["preprocessing"])
    assert [s["step"] for s in steps] == ["binding_energy", "subtract"]
    assert pre["x"].values[0] == pytest.approx(0.0) and pre["x"].values[-1] == pytest.approx(3.0)
    # the generator's step runs 0.2 -> 0.5; end levels are 5-point means of noise sd 0.03
    assert abs(steps[1]["start_level"] - 0.2) < 4 * 0.03 / np.sqrt(5)
    assert abs(steps[1]["end_level"] - 0.5) < 4 * 0.03 / np.sqrt(5)
    shutil.rmtree(R)


def test_manifest_expands_a_multi_element_mca(tmp_path, in_root):
    """A GSE MCA row is a stack: one entry per detector element (index selects some)."""
    mca = "tests/data/xrf-srm1832/srm1832.mca"
    c = campaign.Campaign.load(formats_config(tmp_path, HEAD + f"xrf\t{mca}\t\t\t\t\t\n"))
    assert c.ids == [f"xrf@{i}" for i in range(4)]
    ip = c.ingest_params("xrf@2")
    assert ip["format"] == "gse_mca" and ip["index"] == 2 and ip["spectrum"] == "xrf[2]"
    c = campaign.Campaign.load(formats_config(tmp_path, HEAD + f"xrf\t{mca}\t\t\t1,3\t\t\n"))
    assert c.ids == ["xrf@1", "xrf@3"]
    rec = readers.read(mca, ip["format"], index=ip["index"])
    assert rec.x_units == "eV" and rec.n == 2048
