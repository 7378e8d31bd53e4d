"""The mixed-format campaign (config/formats.yaml: a CSV, an .xye, an XDI and a 3-pattern NeXus
stack from examples/formats/) run end-to-end with Snakemake as a user runs it, with reduced
sweeps; then a truncated HDF5 file added to the finished campaign fails only its spectrum.

Checked: the summary has every entry, the stack's as series[0..2]; every spectrum selects the
K its file was generated with, and the generated peak centers lie within 4 posterior sd; the
stores record the reader's metadata and the preprocessing steps; the truncated file is reported
in the summary naming the file, and the other spectra are neither refitted nor changed. (Other
bad files fail their ingest alike: tests/test_readers.py, tests/test_formats_campaign.py.)
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from test_workflow import ROOT, check, make_workdir, snakemake

# K 1-2 (every true K is 1 or 2); burn-in long enough for the XDI's 8970 eV axis
FAST = """\
threads_per_fit: 1
fit:
  model: {K: [1, 2]}
  sampler: {replicas: 16, burn_in: 1500, sweeps: 600, chains: 2}
"""
RUN = ("--profile", "workflow/profiles/default", "--configfile", "config/formats.yaml",
       "fast.yaml")
SPECTRA = ["xps", "pattern", "cu", "series[0]", "series[1]", "series[2]"]


@pytest.fixture(scope="module")
def formats(tmp_path_factory) -> Path:
    wd = make_workdir(tmp_path_factory.mktemp("formats"))
    shutil.copytree(ROOT / "examples" / "formats", wd / "examples" / "formats")
    (wd / "fast.yaml").write_text(FAST)
    t0 = time.perf_counter()
    out = check(snakemake(wd, *RUN))
    print(f"formats campaign (reduced sweeps): {time.perf_counter() - t0:.0f} s")
    assert "6 spectra, 0 failed" in out, out[-3000:]
    return wd


def summary(wd: Path) -> pd.DataFrame:
    return pd.read_csv(wd / "results" / "formats" / "summary.tsv", sep="\t")


@pytest.mark.slow
def test_every_entry_is_fitted_with_its_true_K(formats):
    s = summary(formats)
    assert list(s["spectrum"]) == SPECTRA
    assert (s["status"] == "ok").all(), s
    assert (s["K"] == s["true_K"]).all(), s[["spectrum", "K", "true_K", "probability"]]
    R = formats / "results" / "formats"
    for key in ("series@0", "series@1", "series@2"):  # stack rows: '@' in file names
        assert (R / "fits" / key / "model_selection.csv").is_file()
        assert (R / "figures" / key / "fit.png").is_file()
    # known truth: each generated peak center within 4 posterior sd (95 % interval / 3.92) of
    # the posterior mean
    q = s.set_index("spectrum")
    for sid, k, true in (("pattern", 1, 22.0), ("pattern", 2, 24.0), ("cu", 1, 8976.0),
                         ("xps", 1, 1.5), ("series[2]", 1, 12.0), ("series[2]", 2, 14.0)):
        c = f"peak{k}_center"
        sd = (q.loc[sid, c + "_hi"] - q.loc[sid, c + "_lo"]) / 3.92
        assert abs(q.loc[sid, c] - true) < 4 * sd, (sid, k, q.loc[sid, c], sd)


@pytest.mark.slow
def test_stores_record_reading_and_preprocessing(formats):
    import xarray as xr

    R = formats / "results" / "formats"
    ds = xr.open_zarr(R / "preprocess" / "xps.zarr", zarr_format=3)
    steps = json.loads(ds.attrs["preprocessing"])
    assert [(s["step"], s.get("kind")) for s in steps] == [("binding_energy", None),
                                                           ("subtract", "shirley")]
    assert ds.attrs["axis_reversed"] is True and "background" in ds
    ds = xr.open_zarr(R / "ingest" / "series@2.zarr", zarr_format=3)
    assert ds.attrs["spectrum"] == "series[2]" and ds.attrs["index"] == 2
    assert json.loads(ds.attrs["file_metadata"])["time"] == 120.0
    ds = xr.open_zarr(R / "preprocess" / "cu.zarr", zarr_format=3)
    assert json.loads(ds.attrs["preprocessing"]) == [] and ds.attrs["format"] == "xdi"


@pytest.mark.slow
def test_truncated_hdf5_fails_only_its_spectrum(formats, tmp_path):
    wd = tmp_path / "bad"
    shutil.copytree(formats, wd, symlinks=True)  # finished campaign + Snakemake's metadata
    d = wd / "data"
    d.mkdir()
    raw = (wd / "examples" / "formats" / "series.nxs").read_bytes()
    (d / "cut.nxs").write_bytes(raw[: len(raw) // 2])
    with open(wd / "config" / "formats.tsv", "a") as fh:
        fh.write("cut\tdata/cut.nxs\t\t\t\t\t\t\t2\n")
    fits = wd / "results" / "formats" / "fits"
    before = {p: p.stat().st_mtime_ns for p in fits.rglob("*") if p.is_file()}
    out = check(snakemake(wd, *RUN, "--keep-going"))
    s = summary(wd).set_index("spectrum")
    assert s.loc["cut", "status"].startswith("error: data/cut.nxs: cannot open as HDF5")
    assert "truncated" in s.loc["cut", "status"] and pd.isna(s.loc["cut", "K"])
    assert "7 spectra, 1 failed" in out and "cut" in out
    ref = summary(formats).set_index("spectrum")
    pd.testing.assert_frame_equal(s.loc[SPECTRA, ref.columns], ref, check_dtype=False)
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # nothing refitted
