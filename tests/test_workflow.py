"""The Snakemake campaign workflow, run as a user runs it: `python -m snakemake` in a copy of the
workflow files (Snakefile, workflow/, scripts/, config/, envs/) in a temporary directory, with
a reduced-sweeps config so the demo campaign takes a minute or two on 2 cores.

What is checked: every expected output exists; the summary selects the true K of each demo
spectrum; the stores open with xarray and ArviZ; the report builds; a rerun does nothing; a
corrupt spectrum is reported in the summary while the others complete; kill -9 mid-run and a
rerun give results identical to an uninterrupted run; `snakemake --lint` is clean; the schemas
reject a bad id, a missing path, an unknown config key and an out-of-range value (and bayespec
rejects a bad key in the fit block); the SLURM profile and the paper config pass a dry run; the
conda env file carries the same pins as envs/requirements.txt.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "workflow", "scripts", "config", "envs")
DEMO_TRUE_K = {"nagata2012": 3, "single": 1, "pair": 2, "triplet": 3, "quartet": 4,
               "pair_b": 2}
KS = (1, 2, 3, 4)
# Reduced sweeps: enough for the demo's verdicts (Nagata's K = 3 beats K = 4 by ~1.9 nats under
# these priors; burn-in 500 lets K = 3 settle). One thread per fit so two fits share the 2 cores:
# a fit job spends as long importing as sampling, so this halves the wall time.
FAST = """\
threads_per_fit: 1
fit:
  model: {K: [1, 2, 3, 4]}
  sampler: {burn_in: 500, sweeps: 1000}
integration: {groups: {pair: {K: [2]}}}
"""


def snakemake(wd: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run Snakemake in ``wd`` with this interpreter; stdout and stderr together."""
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=wd, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def make_workdir(path: Path) -> Path:
    """A fresh copy of the workflow files (no results) plus the reduced-sweeps config."""
    path.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, path / name)
    (path / "fast.yaml").write_text(FAST)
    return path


RUN = ("--profile", "workflow/profiles/default", "--configfile", "fast.yaml")


def check(proc: subprocess.CompletedProcess, rc: int = 0) -> str:
    assert proc.returncode == rc, proc.stdout[-6000:]
    return proc.stdout


def read_summary(wd: Path) -> pd.DataFrame:
    return pd.read_csv(wd / "results" / "summary.tsv", sep="\t")


# the `demo` fixture (this campaign run once, shared with test_slurm.py) is in conftest.py


# ----------------------------------------------------------------------------- the demo run
@pytest.mark.slow
def test_every_expected_file_exists(demo):
    R = demo / "results"
    files = [R / "summary.tsv", R / "summary.parquet", R / "figures" / "campaign.png",
             R / "figures" / "campaign.pdf"]
    for sid in DEMO_TRUE_K:
        files += [R / "demo_data" / f"{sid}.csv", R / "fits" / sid / "model_selection.csv",
                  R / "select" / f"{sid}.tsv", R / "select" / f"{sid}.json",
                  demo / "logs" / "ingest" / f"{sid}.log", demo / "logs" / "select" / f"{sid}.log",
                  demo / "logs" / "figures" / f"{sid}.log"]
        files += [R / "figures" / sid / f"{n}.{e}" for n in
                  ("fit", "free_energy", "noise", "positions", "swap") for e in ("png", "pdf")]
        for d in (R / "ingest" / f"{sid}.zarr", R / "preprocess" / f"{sid}.zarr",
                  *(R / "fits" / sid / f"K{K}.zarr" for K in KS)):
            assert (d / "zarr.json").is_file(), d
        files += [demo / "logs" / "fit" / sid / f"K{K}.log" for K in KS]
    missing = [str(f) for f in files if not f.is_file() or f.stat().st_size == 0]
    assert not missing, missing
    leftovers = [str(p) for p in R.rglob(".*tmp-*")]
    assert not leftovers, leftovers


@pytest.mark.slow
def test_summary_selects_true_K(demo):
    s = read_summary(demo)
    assert list(s["spectrum"]) == list(DEMO_TRUE_K)
    assert (s["status"] == "ok").all(), s
    assert (s["K"] == s["true_K"]).all(), s[["spectrum", "K", "true_K", "probability"]]
    assert (s["K"] == s["spectrum"].map(DEMO_TRUE_K)).all()
    assert (s["probability"] > 0.5).all()
    for col in ("spectrum", "K", "probability", "noise_sd", "status", "true_K",
                "peak1_center", "peak1_center_lo", "peak1_center_hi", "peak1_width",
                "peak1_amplitude", "peak1_area_hi", "peak4_area"):
        assert col in s.columns, col
    # the four-peak spectrum has all four peaks' intervals; the one-peak spectrum only one
    q = s.set_index("spectrum")
    assert q.loc["quartet", ["peak4_center_lo", "peak4_center_hi"]].notna().all()
    assert pd.isna(q.loc["single", "peak2_center"])
    # the true centers lie inside the 95 % intervals of the one- and two-peak spectra
    assert q.loc["single", "peak1_center_lo"] < 1.5 < q.loc["single", "peak1_center_hi"]
    assert q.loc["pair", "peak2_center_lo"] < 2.0 < q.loc["pair", "peak2_center_hi"]
    # the estimated noise sd is near the true one (0.1, 0.05, 0.08, 0.05, 0.03)
    true_sd = {"nagata2012": 0.1, "single": 0.05, "pair": 0.08, "triplet": 0.05, "quartet": 0.03,
               "pair_b": 0.05}
    for sid, sd in true_sd.items():
        assert abs(q.loc[sid, "noise_sd"] / sd - 1) < 0.15, (sid, q.loc[sid, "noise_sd"])
    pq = pd.read_parquet(demo / "results" / "summary.parquet")
    assert list(pq.columns) == list(s.columns) and len(pq) == len(s)
    sel = pd.read_csv(demo / "results" / "fits" / "pair" / "model_selection.csv")
    assert list(sel.columns) == ["K", "free_energy", "free_energy_se", "noise_sd", "probability",
                                 "sweeps", "rhat_max", "ess_min", "F_chain_spread", "converged", "chi2_n", "ppc_p", "adequate",
                                 "wbic", "wbic_se"]
    assert list(sel["K"]) == list(KS) and abs(sel["probability"].sum() - 1) < 1e-5


@pytest.mark.slow
def test_integration_group(demo):
    """The demo group `pair` (pair and pair_b share their centers): integration.csv with rows
    joint and separate, the joint wins by more than 3 SE, the summary table and the joint store."""
    import arviz_stats as azs
    import xarray as xr

    d = demo / "results" / "integrate" / "pair"
    t = pd.read_csv(d / "integration.csv")
    assert list(t.columns[:3]) == ["model", "free_energy", "free_energy_se"]
    assert t["model"].tolist() == ["joint", "separate"] and (t["status"] == "ok").all()
    j = t.set_index("model").loc["joint"]
    assert j["delta"] < -3 * j["delta_se"] and j["verdict"] == "joint", t
    assert (d / "integration.png").stat().st_size > 0
    s = pd.read_csv(demo / "results" / "integration.tsv", sep="\t")
    assert s["group"].tolist() == ["pair"] and s["verdict"].tolist() == ["joint"]
    idata = xr.open_datatree(d / "joint" / "K2-2.zarr", engine="zarr")  # what ArviZ >= 1 reads
    assert set(idata.observed_data.data_vars) == {"pair", "pair_b"}
    assert len(azs.summary(idata, var_names=["pair_center"], kind="stats")) == 2
    q = read_summary(demo).set_index("spectrum")
    assert (q.loc[["pair", "pair_b"], "group_verdict"] == "joint").all()
    assert q.loc["pair", "group_delta"] == pytest.approx(j["delta"], abs=1e-3)
    assert q.loc[["single", "quartet"], "group_verdict"].isna().all()


@pytest.mark.slow
def test_series_scan(demo):
    """The demo's series 'scan' (single, triplet, quartet at orders 1, 2, 3): one line, then
    three (two appear beside the first), then four: the 1.5 line is gone and 0.5 / 2.6 continue
    the 0.6 / 2.4 lines, 1.2 and 1.9 are new (lines are followed by position)."""
    d = demo / "results" / "series" / "scan"
    t = pd.read_csv(d / "trends.tsv", sep="\t")
    assert t["spectrum"].tolist() == ["single", "triplet", "quartet"]
    assert t["K"].tolist() == [1, 3, 4] and t["order"].tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(t["line1_center"][:2], 1.5, atol=0.05)
    assert np.isnan(t.loc[2, "line1_center"])
    np.testing.assert_allclose(t["line2_center"][1:], [0.6, 0.5], atol=0.05)
    ch = pd.read_csv(d / "changes.tsv", sep="\t", keep_default_na=False)
    assert ch["order"].tolist() == [2.0, 3.0] and ch["vanished"].tolist() == ["", "line1"]
    assert pd.read_parquet(d / "trends.parquet").shape == t.shape
    assert (d / "trends.png").stat().st_size > 0 and (d / "trends.pdf").stat().st_size > 0


@pytest.mark.slow
def test_stores_open_with_xarray_and_arviz(demo):
    import arviz_base as azb
    import arviz_stats as azs
    import xarray as xr

    for sid, K in DEMO_TRUE_K.items():
        p = demo / "results" / "fits" / sid / f"K{K}.zarr"
        tree = xr.open_datatree(p, engine="zarr")
        idata = azb.convert_to_datatree(tree)  # ArviZ >= 1 works on the DataTree itself
        assert idata is tree and idata.posterior.sizes["peak"] == K
        assert len(azs.summary(idata, var_names=["center", "width"], kind="stats")) == 2 * K
        assert {"chain", "draw"} <= set(idata.posterior.sizes)
        assert "ladder" in tree.children and tree.attrs["complete"] is True
        assert int(tree.attrs["K"]) == K
        tree.close()
    ds = xr.open_zarr(demo / "results" / "ingest" / "pair.zarr", zarr_format=3)
    assert ds.attrs["status"] == "ok" and ds.sizes["x"] == 301 and "y" in ds


@pytest.mark.slow
def test_report_builds(demo):
    out = check(snakemake(demo, "--configfile", "fast.yaml", "--report",
                          "results/report.html"))
    rep = demo / "results" / "report.html"
    assert rep.is_file() and rep.stat().st_size > 100_000, out[-2000:]


@pytest.mark.slow
def test_rerun_is_a_noop(demo):
    before = {p: p.stat().st_mtime_ns for p in (demo / "results").rglob("*") if p.is_file()}
    out = check(snakemake(demo, *RUN))
    assert "Nothing to be done" in out, out[-3000:]
    after = {p: p.stat().st_mtime_ns for p in (demo / "results").rglob("*") if p.is_file()
             and p.name != "report.html"}
    assert all(before[p] == t for p, t in after.items())


# ----------------------------------------------------------------------------- robustness
@pytest.mark.slow
def test_corrupt_spectrum_is_reported_and_the_rest_complete(demo, tmp_path):
    wd = tmp_path / "corrupt"
    shutil.copytree(demo, wd, symlinks=True)  # finished campaign + Snakemake's metadata
    (wd / "data").mkdir()
    (wd / "data" / "broken.csv").write_text("x,y\n0.0,1.0\n0.1,2.0\n0.2,abc\n0.3,1.0\n")
    with open(wd / "config" / "spectra.tsv", "a") as fh:
        fh.write("broken\tdata/broken.csv\txy\n")
    out = check(snakemake(wd, *RUN, "--keep-going"))
    s = read_summary(wd).set_index("spectrum")
    assert s.loc["broken", "status"].startswith("error: data/broken.csv: line 4")
    assert "abc" in s.loc["broken", "status"]
    assert pd.isna(s.loc["broken", "K"])
    assert (s.drop("broken")["status"] == "ok").all()
    assert (s.drop("broken")["K"] == s.drop("broken")["true_K"]).all()
    # the other spectra were not refitted, and their numbers are unchanged
    ref = read_summary(demo).set_index("spectrum")
    pd.testing.assert_frame_equal(s.drop("broken")[ref.columns], ref, check_dtype=False)
    assert "1 failed" in out and "broken" in out and "results/summary.tsv" in out
    log = (wd / "logs" / "ingest" / "broken.log").read_text()
    assert "data/broken.csv: line 4" in log
    assert s.loc["broken", "log"] == "logs/ingest/broken.log"
    assert (wd / "results" / "figures" / "broken" / "fit.png").is_file()
    assert (wd / "results" / "figures" / "campaign.png").is_file()


@pytest.mark.slow
def test_kill_and_resume_gives_identical_results(demo, tmp_path):
    """kill -9 the whole process group once fit stores appear, rerun: the numbers equal the
    uninterrupted demo run's. (Two of the demo spectra keep it short; each spectrum's fits
    depend only on its own data and seed, so their rows must match the full run's exactly.)"""
    wd = make_workdir(tmp_path / "killed")
    keep = ("single", "pair")
    m = wd / "config" / "spectra.tsv"
    rows = m.read_text().splitlines()
    m.write_text("\n".join([rows[0], *(r for r in rows[1:] if r.split("\t")[0] in keep)]) + "\n")
    cmd = [sys.executable, "-m", "snakemake", *RUN]
    with open(wd / "first.log", "w") as fh:
        proc = subprocess.Popen(cmd, cwd=wd, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while len(list((wd / "results" / "fits").glob("*/K*.zarr"))) < 2:
                assert proc.poll() is None, (wd / "first.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "no fit store appeared"
                time.sleep(0.1)
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not (wd / "results" / "summary.tsv").exists()
    assert len(list((wd / "results" / "fits").glob("*/K*.zarr"))) < 2 * len(KS)
    check(snakemake(wd, "--unlock", "--configfile", "fast.yaml"))
    out = check(snakemake(wd, *RUN, "--rerun-incomplete"))
    assert "2 spectra, 0 failed" in out, out[-3000:]
    # the group verdict needs pair_b, which this reduced manifest leaves out
    ref = read_summary(demo).set_index("spectrum").loc[list(keep)]
    ref = ref.drop(columns=["group_verdict", "group_delta", "group_delta_se"])
    got = read_summary(wd).set_index("spectrum")
    pd.testing.assert_frame_equal(got.dropna(axis=1, how="all"), ref.dropna(axis=1, how="all"))
    for sid in keep:
        a = (demo / "results" / "fits" / sid / "model_selection.csv").read_text()
        assert (wd / "results" / "fits" / sid / "model_selection.csv").read_text() == a
        a = (demo / "results" / "select" / f"{sid}.tsv").read_text()
        assert (wd / "results" / "select" / f"{sid}.tsv").read_text() == a
    leftovers = [str(p) for p in (wd / "results").rglob(".*tmp-*")]
    assert not leftovers, leftovers
    assert "Nothing to be done" in check(snakemake(wd, *RUN))


# ----------------------------------------------------------------------------- static checks
def test_lint_is_clean(tmp_path):
    wd = make_workdir(tmp_path / "lint")
    out = check(snakemake(wd, "--lint"))
    assert "Congratulations, your workflow is in a good condition!" in out, out


def test_slurm_profile_dry_run(tmp_path):
    wd = make_workdir(tmp_path / "slurm")
    out = check(snakemake(wd, "--dry-run", "--profile", "workflow/profiles/slurm"))
    assert re.search(r"fit\s+30", out), out[-3000:]  # 6 demo spectra x 5 K
    assert "gpu=" not in out  # numba backend: no GPU request
    out = check(snakemake(wd, "--dry-run", "--profile", "workflow/profiles/slurm",
                          "--config", "backend=cupy"))
    assert "gpu=1" in out, out[-3000:]


def test_paper_config_dry_run(tmp_path):
    wd = make_workdir(tmp_path / "paper")
    out = check(snakemake(wd, "--dry-run", "--configfile", "config/paper.yaml"))
    assert re.search(r"fit\s+6\b", out), out[-3000:]
    assert "results/paper/fits/nagata2012/K6.zarr" in out
    assert "results/paper/figures/nagata2012/free_energy.png" in out


def _rejected(wd: Path, *args: str) -> str:
    out = check(snakemake(wd, "--dry-run", *args), rc=1)
    return out


def test_schema_rejects_bad_id(tmp_path):
    wd = make_workdir(tmp_path / "badid")
    m = wd / "config" / "spectra.tsv"
    m.write_text(m.read_text().replace("\npair\t", "\n../pair\t"))
    out = _rejected(wd)
    assert "config/spectra.tsv: line 4 (id '../pair'): id:" in out, out[-2000:]
    assert "does not match" in out


def test_schema_rejects_missing_path(tmp_path):
    wd = make_workdir(tmp_path / "nopath")
    with open(wd / "config" / "spectra.tsv", "a") as fh:
        fh.write("extra\tdata/not_there.csv\txy\n")
    out = _rejected(wd)
    assert "config/spectra.tsv: line 8 (id 'extra'): path: data/not_there.csv does not exist" \
        in out, out[-2000:]


def test_schema_rejects_unknown_config_key(tmp_path):
    wd = make_workdir(tmp_path / "badkey")
    (wd / "bad.yaml").write_text("threads_per_fitt: 2\n")
    out = _rejected(wd, "--configfile", "bad.yaml")
    assert "unknown key threads_per_fitt; did you mean 'threads_per_fit'?" in out, out[-2000:]


def test_schema_rejects_out_of_range_value(tmp_path):
    wd = make_workdir(tmp_path / "range")
    (wd / "bad.yaml").write_text("threads_per_fit: 0\n")
    out = _rejected(wd, "--configfile", "bad.yaml")
    assert "threads_per_fit: 0 is less than the minimum of 1" in out, out[-2000:]
    m = wd / "config" / "spectra.tsv"
    lines = m.read_text().splitlines()
    lines[2] = lines[2].replace("\t0\t3\t", "\t0\t-3\t")  # single: roi_max below roi_min
    m.write_text("\n".join(lines) + "\n")
    out = _rejected(wd)
    assert "line 3 (id 'single'): roi_min (0) must be smaller than roi_max (-3)" in out


def test_bad_key_in_fit_block_gets_bayespec_message(tmp_path):
    wd = make_workdir(tmp_path / "fitkey")
    (wd / "bad.yaml").write_text("fit:\n  sampler: {sweps: 10}\n")
    out = _rejected(wd, "--configfile", "bad.yaml")
    assert "sampler.sweps: unknown key; did you mean 'sweeps'?" in out or \
        "sampler.sweps" in out, out[-2000:]
    assert "did you mean 'sweeps'" in out


# ----------------------------------------------------------------------------- environments
def _pins(lines) -> dict[str, str]:
    out = {}
    for line in lines:
        line = line.strip().lstrip("- ").strip()
        if not line or line.startswith("#") or "==" not in line:
            continue
        name, ver = line.split("==", 1)
        out[re.sub(r"[-_.]+", "-", name).lower()] = ver.strip()
    return out


def test_conda_env_matches_requirements():
    import yaml

    env = yaml.safe_load((ROOT / "envs" / "bayespec.yaml").read_text())
    deps = env["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    conda_pins = _pins(pip)
    req_pins = _pins((ROOT / "envs" / "requirements.txt").read_text().splitlines())
    only_req = {k: v for k, v in req_pins.items() if k not in conda_pins}
    only_env = {k: v for k, v in conda_pins.items() if k not in req_pins}
    differ = {k: (req_pins[k], conda_pins[k]) for k in req_pins.keys() & conda_pins.keys()
              if req_pins[k] != conda_pins[k]}
    assert not (only_req or only_env or differ), (
        f"envs/bayespec.yaml and envs/requirements.txt disagree: only in requirements "
        f"{only_req}, only in the conda env {only_env}, different (requirements, conda) "
        f"{differ}")
    assert "python=3.11" in deps and "pip" in deps


# ----------------------------------------------------------------------------- batch jobs
@pytest.mark.slow
def test_batch_jobs_give_the_unbatched_numbers(demo, tmp_path):
    """batch_size 2: one job per batch and stage (per batch and K for the fit); the summary
    rows equal the per-spectrum run's exactly, and a bad spectrum fails alone in its batch."""
    wd = make_workdir(tmp_path / "batched")
    rows = (ROOT / "config" / "spectra.tsv").read_text().splitlines()
    keep = [rows[0]] + [r for r in rows[1:] if r.split("\t")[0] in ("nagata2012", "single",
                                                                    "pair")]
    (wd / "data").mkdir()
    (wd / "data" / "broken.csv").write_text("x,y\n0.0,1.0\n0.1,2.0\n0.2,abc\n0.3,1.0\n")
    (wd / "config" / "spectra.tsv").write_text("\n".join(keep + ["broken\tdata/broken.csv\txy"])
                                               + "\n")
    (wd / "fast.yaml").write_text(FAST + "batch_size: 2\n")
    out = check(snakemake(wd, *RUN))
    assert "1 failed" in out
    jobs = re.findall(r"rule (\w+):", out)
    assert sorted(j for j in jobs if j.startswith("fit")) == sorted(
        [f"fit_batch_{b}" for b in (0, 1) for _ in KS]), jobs
    assert not {"ingest", "preprocess", "fit", "select"} & set(jobs), jobs
    s = read_summary(wd).set_index("spectrum")
    ref = read_summary(demo).set_index("spectrum").loc[["nagata2012", "single", "pair"]]
    # the group verdict needs pair_b, which this manifest leaves out
    ref = ref.drop(columns=["group_verdict", "group_delta", "group_delta_se"])
    cols = [c for c in ref.columns if c in s.columns]
    assert ref.drop(columns=cols).isna().all().all()  # peak columns only the quartet has
    pd.testing.assert_frame_equal(s.loc[ref.index, cols], ref[cols], check_dtype=False)
    assert s.loc["broken", "status"].startswith("error: data/broken.csv: line 4")
    assert s.loc["broken", "log"] == "logs/ingest/batch/pair..broken.log"
    assert (wd / "logs" / "fit" / "batch" / "nagata2012..single" / "K3.log").is_file()
    # the batch index the next stage depends on: one row per spectrum, with its status
    from bayespec.workflow.batching import read_index

    rows = read_index(wd / "results" / "batches" / "ingest" / "pair..broken.tsv")
    assert [r["spectrum"] for r in rows] == ["pair", "broken"]
    assert rows[0]["status"] == "ok" and rows[1]["status"].startswith("error: data/broken.csv")
    rows = read_index(wd / "results" / "batches" / "fit" / "nagata2012..single" / "K3.tsv")
    assert [(r["spectrum"], r["status"]) for r in rows] == [("nagata2012", "ok"),
                                                            ("single", "ok")]
    assert rows[0]["store"] == "results/fits/nagata2012/K3.zarr"
