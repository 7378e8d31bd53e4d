"""Benchmark: a synthetic campaign of many spectra through the Snakemake workflow, batch jobs.

Run from the repository root on an otherwise idle machine:

    .venv/bin/python bench/bench_campaign.py                    # 1,000 spectra, K = 1..4
    .venv/bin/python bench/bench_campaign.py --spectra 40       # a quick look
    .venv/bin/python bench/bench_campaign.py --backend numpy    # the batched array backend

Each spectrum has n = 301 points on x in [0, 3], 1-3 Gaussian peaks with known parameters, a
small linear background and Gaussian noise (drawn from one seeded generator, so the campaign is
the same every run). A spectrum is *resolvable by construction* when every pair of centers is at
least two widths (sd) apart (the larger width of the pair) and every amplitude is at least five
noise sd; the rest are *hard* and reported separately.

What is measured (this is a benchmark, not a test: nothing is asserted):
* total wall time of `snakemake` (DAG, every job, the summary and overview figure);
* sampler core-seconds: the sum over every (spectrum, K) store of its chains' seconds (each chain
  runs on one thread), so the share outside the sampler is 1 - sampler core-s / (wall x cores):
  process starts, imports, I/O, Snakemake's own work and idle cores all count as overhead;
* the CPU seconds of the snakemake process itself (scheduling, output checks; not its jobs);
* spectra per minute, and the fraction whose selected K equals the true K, for the resolvable
  and the hard spectra.
Results go to bench/out/campaign.json (and the work directory, default bench/out/campaign/).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N, X0, X1 = 301, 0.0, 3.0


def draw_spectrum(rng: np.random.Generator) -> dict:
    """Known parameters of one synthetic spectrum (amplitude, center, sd per peak)."""
    k = int(rng.integers(1, 4))
    centers = np.sort(rng.uniform(0.3, 2.7, k))
    widths = rng.uniform(0.05, 0.12, k)
    amps = rng.uniform(0.4, 1.5, k)
    noise = float(rng.uniform(0.02, 0.06))
    sep = all(centers[i + 1] - centers[i] >= 2 * max(widths[i], widths[i + 1])
              for i in range(k - 1))
    return {"K": k, "peaks": [[float(a), float(c), float(w)] for a, c, w in
                              zip(amps, centers, widths)],
            "background": [float(rng.uniform(-0.1, 0.2)), float(rng.uniform(-0.03, 0.03))],
            "noise_sd": noise, "resolvable": bool(sep and amps.min() >= 5 * noise)}


def curve(spec: dict, x: np.ndarray) -> np.ndarray:
    y = spec["background"][0] + spec["background"][1] * x
    for a, c, w in spec["peaks"]:
        y = y + a * np.exp(-0.5 * ((x - c) / w) ** 2)
    return y


CONFIG = """\
manifest: spectra.tsv
batch_size: {batch}
threads_per_fit: {threads}
spectrum_figures: false
backend: {backend}
fit:
  model: {{shape: gaussian, K: [{Ks}], background: {{kind: linear}}}}
  priors:
    amplitude: {{dist: gamma, shape: 2, rate: 1}}
    center: {{dist: uniform, low: 0, high: 3}}
    width: {{dist: lognormal, mu: -2.5, sigma: 0.5}}
    background: {{dist: normal, mean: 0, sd: 1}}
  noise: {{estimate: true}}
  sampler: {{replicas: 24, ratio: 1.5, burn_in: {burn}, sweeps: {sweeps}, chains: {chains}, seed: 0,
            target_se: null}}
"""


def make_campaign(wd: Path, n_spectra: int, args) -> dict[str, dict]:
    """Write the workflow files, the spectra, the manifest and the config into ``wd``."""
    if wd.exists():
        shutil.rmtree(wd)
    wd.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "scripts", "envs"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, wd / name)
    (wd / "data").mkdir()
    rng = np.random.default_rng(2026)
    x = np.linspace(X0, X1, N)
    truth, rows = {}, ["id\tpath\tformat\ttrue_K\tresolvable"]
    for i in range(n_spectra):
        sid = f"s{i:05d}"
        spec = draw_spectrum(rng)
        y = curve(spec, x) + spec["noise_sd"] * rng.standard_normal(N)
        np.savetxt(wd / "data" / f"{sid}.csv", np.column_stack([x, y]), delimiter=",",
                   header="x,y", comments="", fmt="%.8g")
        rows.append(f"{sid}\tdata/{sid}.csv\txy\t{spec['K']}\t{int(spec['resolvable'])}")
        truth[sid] = spec
    (wd / "spectra.tsv").write_text("\n".join(rows) + "\n")
    (wd / "config.yaml").write_text(CONFIG.format(
        batch=args.batch_size, threads=args.threads, backend=args.backend,
        Ks=", ".join(str(k) for k in args.Ks), burn=args.burn_in, sweeps=args.sweeps,
        chains=args.chains))
    return truth


def sampler_core_seconds(results: Path) -> tuple[float, int]:
    """Sum of chain seconds over every fit store (and how many stores were read)."""
    total, count = 0.0, 0
    for meta in results.glob("fits/*/K*.zarr/zarr.json"):
        attrs = json.loads(meta.read_text()).get("attributes", {})
        timing = attrs.get("timing")
        if timing is None:
            continue
        timing = json.loads(timing) if isinstance(timing, str) else timing
        total += float(timing.get("chain_seconds", 0.0))
        count += 1
    return total, count


def _own_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` itself, not its children (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slurm_probe_seconds() -> float | None:
    """Seconds ``scontrol show config`` takes here, None without SLURM's client tools.

    snakemake-executor-plugin-slurm runs it when Snakemake starts (every run, any executor)
    with a 10 s timeout: where the client is installed but no controller answers (this machine
    after .ci/slurm-up.sh's cluster is stopped) each Snakemake start waits that long."""
    if shutil.which("sinfo") is None or shutil.which("scontrol") is None:
        return None
    t0 = time.perf_counter()
    try:
        subprocess.run(["scontrol", "show", "config"], capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        pass
    return time.perf_counter() - t0


def _first_job_delay(log_text: str, started: datetime.datetime) -> float | None:
    """Seconds from launching snakemake to its first job's time stamp (1 s resolution)."""
    m = re.search(r"^\[(\w{3} \w{3} +\d+ [\d:]+ \d{4})\]$", log_text, re.M)
    if m is None:
        return None
    first = datetime.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
    return (first - started.replace(microsecond=0)).total_seconds()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spectra", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--Ks", type=int, nargs="+", default=[1, 2, 3, 4])
    ap.add_argument("--burn-in", type=int, default=750)
    ap.add_argument("--sweeps", type=int, default=500)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="sampler threads per fit job")
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--backend", default="numba")
    ap.add_argument("--workdir", type=Path, default=ROOT / "bench" / "out" / "campaign")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "campaign.json")
    args = ap.parse_args()

    wd = args.workdir.resolve()
    truth = make_campaign(wd, args.spectra, args)
    probe = slurm_probe_seconds()
    if probe is not None and probe > 1:
        print(f"note: `scontrol show config` takes {probe:.1f} s here (SLURM client, no "
              "controller); the SLURM executor plugin waits that long at every Snakemake start")
    load0 = os.getloadavg()
    started = datetime.datetime.now()
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--configfile",
           "config.yaml", "--keep-going"]
    t0 = time.perf_counter()
    with open(wd / "snakemake.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=wd, stdout=log, stderr=subprocess.STDOUT, text=True)
        smk_core_s = 0.0
        while proc.poll() is None:
            smk_core_s = _own_cpu_seconds(proc.pid) or smk_core_s
            time.sleep(0.5)
    wall = time.perf_counter() - t0
    load1 = os.getloadavg()
    if proc.returncode != 0:
        print((wd / "snakemake.log").read_text()[-4000:])
        print(f"snakemake failed (exit {proc.returncode}); log: {wd / 'snakemake.log'}")
        return 1
    import pandas as pd

    s = pd.read_csv(wd / "results" / "summary.tsv", sep="\t").set_index("spectrum")
    core_s, n_stores = sampler_core_seconds(wd / "results")
    res = pd.Series({sid: t["resolvable"] for sid, t in truth.items()})
    ok = s["K"] == s["true_K"]
    overhead = 1.0 - core_s / (wall * args.cores)
    report = {
        "spectra": args.spectra, "Ks": args.Ks, "batch_size": args.batch_size,
        "backend": args.backend, "cores": args.cores, "threads_per_fit": args.threads,
        "burn_in": args.burn_in, "sweeps": args.sweeps, "chains": args.chains,
        "wall_s": wall, "sampler_core_s": core_s, "fit_stores": n_stores,
        "snakemake_process_core_s": smk_core_s,
        "first_job_after_s": _first_job_delay((wd / "snakemake.log").read_text(), started),
        "slurm_probe_s": probe,
        "overhead_share": overhead, "spectra_per_minute": args.spectra / wall * 60,
        "failed": int((s["status"] != "ok").sum()),
        "resolvable": int(res.sum()), "hard": int((~res).sum()),
        "true_K_rate_resolvable": float(ok[res[res].index].mean()),
        "true_K_rate_hard": float(ok[res[~res].index].mean()) if (~res).any() else None,
        "true_K_rate_all": float(ok.mean()),
        "loadavg_before": load0, "loadavg_after": load1,
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform()},
    }
    wrong = s.loc[~ok & res.reindex(s.index).astype(bool), ["K", "true_K", "probability"]]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{args.spectra} spectra x K {args.Ks}, batch_size {args.batch_size}, "
          f"{args.backend}, {args.cores} cores")
    print(f"  wall {wall:.0f} s ({args.spectra / wall * 60:.1f} spectra/min); sampler "
          f"{core_s:.0f} core-s over {n_stores} stores; outside the sampler "
          f"{100 * overhead:.1f} % of {wall * args.cores:.0f} core-s; the snakemake process "
          f"itself {smk_core_s:.0f} core-s; first job {report['first_job_after_s']} s after the "
          f"start")
    print(f"  true K: resolvable {report['true_K_rate_resolvable']:.3f} of {report['resolvable']}"
          f", hard {report['true_K_rate_hard']} of {report['hard']}; failed {report['failed']}")
    print(f"  load average before {load0[0]:.2f}, after {load1[0]:.2f}")
    if len(wrong):
        print("  resolvable spectra with the wrong K:\n" + wrong.to_string())
    print(f"  JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
