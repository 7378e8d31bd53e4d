"""The demo campaign through a real SLURM cluster: .ci/slurm-up.sh starts a single-node cluster
on this machine (munged, slurmctld, slurmd; Debian's SLURM), Snakemake runs the reduced demo
campaign of test_workflow.py with the profile workflow/profiles/slurm-local (the SLURM executor
plugin), and the test checks that

- every non-local job went through SLURM: a SLURM job id per job in Snakemake's log, a SLURM
  log file per job (named after its rule), and SLURM itself (squeue) reports each COMPLETED;
- jobs requesting a GPU got one from SLURM (the K = 1 fits ask for `gpu: 1` in that profile:
  sbatch --gpus=1, GRES gpu:1 in SLURM's record) while the others asked for none;
- the summary and every model-selection table equal the local run's (same config and seed ->
  same numbers, wherever the jobs ran).

A dry run checks the profile everywhere (no cluster needed). The campaign test needs root (it
installs Debian packages if missing and starts daemons). Elsewhere it is skipped with the
reason, except in CI (CI=true), where a cluster that cannot start fails it. The daemons are
stopped afterwards unless they were already running before the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from test_workflow import DEMO_TRUE_K, KS, check, make_workdir, read_summary, snakemake

ROOT = Path(__file__).resolve().parents[1]
UP = ROOT / ".ci" / "slurm-up.sh"
DOWN = ROOT / ".ci" / "slurm-down.sh"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PROFILE = ("--profile", "workflow/profiles/slurm-local", "--configfile", "fast.yaml")
# Rules that run as SLURM jobs when the summary is the target (demo_data and summarise are
# local rules); the figures are left out: they add minutes of plotting and no numbers.
SLURM_RULES = {"ingest": 1, "preprocess": 1, "fit": len(KS), "select": 1}


def _cannot_run(reason: str) -> None:
    """Skip on a developer machine, fail in CI: there the cluster must come up."""
    if IN_CI:
        pytest.fail(f"CI=true but the SLURM cluster cannot be used: {reason}")
    pytest.skip(reason)


def _cluster_answers() -> bool:
    if shutil.which("scontrol") is None:
        return False
    ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
    return ping.returncode == 0 and "UP" in ping.stdout


@pytest.fixture(scope="session")  # session: set up before (and skipped without) `demo`
def slurm_cluster():
    """The single-node cluster of .ci/slurm-up.sh, stopped again if this fixture started it."""
    if os.geteuid() != 0:
        _cannot_run("needs root to start a local SLURM cluster (.ci/slurm-up.sh)")
    if shutil.which("sbatch") is None and shutil.which("apt-get") is None:
        _cannot_run("SLURM is not installed and there is no apt-get to install it")
    was_up = _cluster_answers()
    t0 = time.perf_counter()
    up = subprocess.run(["bash", str(UP)], capture_output=True, text=True, timeout=600)
    if up.returncode != 0:
        _cannot_run(f".ci/slurm-up.sh failed (rc {up.returncode}):\n{up.stdout}{up.stderr}")
    print(f"SLURM cluster up in {time.perf_counter() - t0:.0f} s:\n{up.stdout}")
    yield
    if not was_up:
        subprocess.run(["bash", str(DOWN)], check=True, timeout=120)


def _slurm_records(job_ids: list[str]) -> dict[str, tuple[str, str]]:
    """SLURM's own record of each job: id -> (state, GPUs requested per job)."""
    out = subprocess.run(
        ["squeue", "--noheader", "--states=all", "--jobs", ",".join(job_ids),
         "--Format=JobID:|,State:|,tres-per-job:"],
        capture_output=True, text=True, timeout=60, check=True).stdout
    records = {}
    for line in out.splitlines():
        jid, state, tres = (f.strip() for f in line.split("|")[:3])
        records[jid] = (state, tres)
    return records


@pytest.mark.slow
def test_demo_campaign_through_slurm_equals_local_run(slurm_cluster, demo, tmp_path):
    wd = make_workdir(tmp_path / "slurm")
    t0 = time.perf_counter()
    out = check(snakemake(wd, "results/summary.tsv", *PROFILE, timeout=900))
    print(f"demo campaign (reduced sweeps) through SLURM: {time.perf_counter() - t0:.0f} s")
    assert "6 spectra, 0 failed" in out, out[-3000:]

    # every non-local job: a SLURM job id and a SLURM log under .snakemake/slurm_logs/rule_<rule>
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)\.?$",
                           out, re.MULTILINE)
    jobs: dict[str, tuple[str, str]] = {}  # SLURM id -> (rule, wildcards)
    for jid, log in submitted:
        m = re.search(r"/rule_(\w+?)/(\S+)/\d+\.log$", log)
        assert m and Path(log).is_file(), (jid, log)
        jobs[jid] = (m.group(1), m.group(2))
        assert f"rule {m.group(1)}:" in Path(log).read_text(), log
    n_expected = {rule: n * len(DEMO_TRUE_K) for rule, n in SLURM_RULES.items()}
    n_expected["integrate"] = 1  # the demo's integration group `pair` (its verdict is in the summary)
    n_got = {rule: sum(r == rule for r, _ in jobs.values()) for rule in n_expected}
    assert n_got == n_expected and len(jobs) == len(submitted), (n_got, out[-3000:])

    # SLURM's view: all completed; the K = 1 fits (and only they) were given a GPU
    records = _slurm_records(list(jobs))
    assert set(records) == set(jobs), set(jobs) - set(records)
    gpu_jobs = []
    for jid, (rule, wildcards) in jobs.items():
        state, tres = records[jid]
        assert state == "COMPLETED", (jid, rule, wildcards, state)
        wants_gpu = rule == "fit" and wildcards.endswith("_1")
        assert ("gpu:1" in tres) == wants_gpu, (jid, rule, wildcards, tres)
        gpu_jobs += [jid] if wants_gpu else []
    assert len(gpu_jobs) == len(DEMO_TRUE_K)

    # same config and seed as the local run -> the same numbers
    pd.testing.assert_frame_equal(read_summary(wd), read_summary(demo))
    for sid in DEMO_TRUE_K:
        table = Path("results") / "fits" / sid / "model_selection.csv"
        assert (wd / table).read_text() == (demo / table).read_text(), sid


def test_slurm_local_profile_dry_run(tmp_path):
    """Without a cluster: the profile parses, and exactly the K = 1 fits ask for a GPU."""
    wd = make_workdir(tmp_path / "dry")
    out = check(snakemake(wd, "--dry-run", *PROFILE))
    fits = re.findall(r"wildcards: id=(\S+), K=(\d+)\n\s+priority: (\d+)\n\s+resources: (.*)", out)
    assert len(fits) == len(DEMO_TRUE_K) * len(KS), out[-3000:]
    for sid, K, priority, res in fits:
        assert ("gpu=1" in res) == (K == "1") and "slurm_partition=local" in res, (sid, K, res)
        assert priority == K  # larger K first (fit_priority)
