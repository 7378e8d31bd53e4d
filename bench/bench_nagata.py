"""Benchmark: bayespec exchange Monte Carlo vs dynesty nested sampling on Nagata et al. (2012).

Run from the repository root:

    .venv/bin/python bench/bench_nagata.py              # K = 1..4 for both (a few minutes)
    .venv/bin/python bench/bench_nagata.py --quick      # K = 1 and 3 only (both samplers)
    .venv/bin/python bench/bench_nagata.py --no-dynesty # bayespec and the exp() ceilings only

Everything is measured in ONE process on the same data, so the printed ratios (dynesty /
bayespec wall time, achieved / measured exp() throughput) are comparable across machines; the
absolute seconds are not. This is a benchmark, not a test: it asserts nothing about time.
Results also go to bench/out/nagata.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
from numba import njit

from bayespec.inference.fit import FitSettings, fit_spectrum
from bayespec.models.priors import parse_prior

# ----------------------------------------------------------------------------- problem

N = 301
SD = 0.1
TRUE_PEAKS = [(0.587, 1.210, 95.689), (1.522, 1.455, 146.837), (1.183, 1.703, 164.469)]
A_HI, MU_HI, B_LO, B_HI = 3.0, 3.0, 20.0, 300.0
# Reference log Z (= -F) for this exact data set and prior. K=1 by quadrature, K=3 from long
# runs (+- 0.001); K=4 is only known to about 0.1 ("approx" below); K=2 has no reference.
REFERENCE = {1: (24.417, "quadrature"), 3: (234.307, "+-0.001"), 4: (233.3, "approx")}


def nagata_data() -> tuple[np.ndarray, np.ndarray]:
    x = np.linspace(0.0, 3.0, N)
    f = sum(a * np.exp(-b * (x - mu) ** 2 / 2) for a, mu, b in TRUE_PEAKS)
    y = f + SD * np.random.default_rng(0).standard_normal(N)
    return x, y


# ----------------------------------------------------------------------------- exp() ceilings

@njit(cache=False, nogil=True)
def _numba_exp_loop(v, out, reps):
    """out[i] = exp(v[i]), reps times: numba's scalar (libm) exp, as the kernel calls it."""
    s = 0.0
    for _ in range(reps):
        for i in range(v.shape[0]):
            out[i] = math.exp(v[i])
        s += out[0]
    return s


def _best_rate(fn, count: int, repeat: int = 5) -> float:
    """exp() calls per second: best of ``repeat`` timings of fn(), which makes ``count`` calls."""
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return count / best


def measure_exp_rates() -> dict[str, float]:
    """Single-core exp() throughput: numba scalar loop and numpy vectorised, in this process.

    Arguments span the range a Gaussian profile needs, exp(-36 .. 0).
    """
    rng = np.random.default_rng(1)
    big = -36.0 * rng.random(1_000_000)
    out = np.empty_like(big)
    small = -36.0 * rng.random(N)
    out_small = np.empty_like(small)
    _numba_exp_loop(small, out_small, 1)  # compile
    rates = {
        "numba_scalar": _best_rate(lambda: _numba_exp_loop(big, out, 10), 10 * big.size),
        "numba_scalar_n301": _best_rate(lambda: _numba_exp_loop(small, out_small, 20000),
                                        20000 * N),
        "numpy_vector": _best_rate(lambda: [np.exp(big, out=out) for _ in range(10)],
                                   10 * big.size),
    }

    def np_small():
        for _ in range(20000):
            np.exp(small, out=out_small)

    rates["numpy_vector_n301"] = _best_rate(np_small, 20000 * N)
    # the ceilings: the better of the two array sizes (in-cache n=301 loops vs long arrays)
    rates["numba_ceiling"] = max(rates["numba_scalar"], rates["numba_scalar_n301"])
    rates["numpy_ceiling"] = max(rates["numpy_vector"], rates["numpy_vector_n301"])
    return rates


# ----------------------------------------------------------------------------- bayespec

def bayespec_priors() -> dict:
    return {"amplitude": parse_prior({"dist": "uniform", "low": 0, "high": A_HI}, "a"),
            "center": parse_prior({"dist": "uniform", "low": 0, "high": MU_HI}, "c"),
            "width": parse_prior({"dist": "uniform", "low": B_LO, "high": B_HI}, "w")}


def run_bayespec(x, y, Ks: list[int], target_se: float | None | str = "default") -> dict:
    """bayespec's default settings (known noise), K = Ks in one call; ``target_se`` other than
    "default" overrides the default target (None: every sweep, the fixed count of before
    target_se was the default)."""
    pri = bayespec_priors()
    # warm-up: load / compile the Numba kernel for every K, not timed
    fit_spectrum(x, y, None, "gaussian_nagata", Ks, "none", None, pri,
                 FitSettings(noise_sd=SD, sweeps=50, burn_in=50))
    s = FitSettings(noise_sd=SD) if target_se == "default" else \
        FitSettings(noise_sd=SD, target_se=target_se)
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    fits = fit_spectrum(x, y, None, "gaussian_nagata", Ks, "none", None, pri, s)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    per_k = []
    for fit in fits:
        K = fit.K
        run = int(fit.timing["sweeps"])  # sampling sweeps run (fewer where target_se stopped)
        rs = s.replicas * (s.burn_in + run) * s.chains  # replica-sweeps of this K
        swaps = np.asarray(fit.ladder.swap_acceptance, dtype=float)
        per_k.append({
            "K": K, "logz": -fit.free_energy, "free_energy": fit.free_energy,
            "se": fit.free_energy_se, "chain_seconds": fit.timing["chain_seconds"],
            "sweeps_run": run, "converged": bool(fit.diagnostics["converged"]),
            "replica_sweeps": rs,
            "param_updates": rs * 3 * K,
            # naive kernel: each center / width proposal re-evaluates one profile = n exp()
            "naive_exp": rs * 2 * K * N,
            "min_swap_acceptance": float(np.nanmin(swaps)) if swaps.size > 1 else None,
        })
    threads = s.threads or os.cpu_count() or 1
    return {"settings": {"replicas": s.replicas, "ratio": s.ratio, "burn_in": s.burn_in,
                         "sweeps": s.sweeps, "target_se": s.target_se, "chains": s.chains,
                         "thin": s.thin, "seed": s.seed, "threads": threads},
            "wall_seconds": wall, "process_cpu_seconds": cpu,
            "chain_seconds": sum(k["chain_seconds"] for k in per_k), "per_K": per_k}


CLI_YAML = """\
model: {{shape: gaussian_nagata, K: {Ks}, background: {{kind: none}}}}
priors:
  amplitude: {{dist: uniform, low: 0, high: {a}}}
  center: {{dist: uniform, low: 0, high: {mu}}}
  width: {{dist: uniform, low: {blo}, high: {bhi}}}
noise: {{sd: {sd}}}
"""


def run_cli(x, y, Ks: list[int], reps: int = 3) -> dict:
    """``bayespec fit`` of the same problem and default sampler settings as a fresh process
    (interpreter start, imports, Numba cache loading, fits, stores, tables): the wall time a
    user waits. One untimed warm-up run (caches, page cache), then the median of ``reps``."""
    import statistics
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        np.savetxt(d / "d.csv", np.c_[x, y], delimiter=",", header="x,y", comments="")
        (d / "fit.yaml").write_text(CLI_YAML.format(Ks=list(Ks), a=A_HI, mu=MU_HI, blo=B_LO,
                                                    bhi=B_HI, sd=SD))
        walls = []
        for i in range(reps + 1):
            out = d / f"out{i}"
            cmd = [sys.executable, "-m", "bayespec.cli", "fit", str(d / "d.csv"), "--config",
                   str(d / "fit.yaml"), "--out", str(out), "--no-progress"]
            t0 = time.perf_counter()
            p = subprocess.run(cmd, capture_output=True, text=True, cwd=d)
            if p.returncode != 0:
                raise SystemExit(f"bayespec fit failed ({p.returncode}):\n{p.stderr}")
            if i:
                walls.append(time.perf_counter() - t0)
    return {"reps": reps, "wall_seconds": walls, "median_wall_seconds": statistics.median(walls)}


# ----------------------------------------------------------------------------- dynesty

def make_dynesty_problem(x, y, K: int):
    const = -0.5 * N * math.log(2 * math.pi * SD ** 2)
    inv2v = 0.5 / SD ** 2
    xr = x[None, :]

    def loglike(t):
        a = t[0::3, None]
        mu = t[1::3, None]
        b = t[2::3, None]
        f = (a * np.exp(-0.5 * b * (xr - mu) ** 2)).sum(axis=0)
        r = y - f
        return const - inv2v * float(r @ r)

    lo = np.tile([0.0, 0.0, B_LO], K)
    span = np.tile([A_HI, MU_HI, B_HI - B_LO], K)

    def prior_transform(u):
        return lo + span * u

    return loglike, prior_transform


def run_dynesty(x, y, Ks: list[int], nlive: int = 500) -> dict:
    import dynesty

    per_k = []
    for K in Ks:
        loglike, ptform = make_dynesty_problem(x, y, K)
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        sampler = dynesty.NestedSampler(loglike, ptform, 3 * K, nlive=nlive, bound="multi",
                                        sample="rslice", rstate=np.random.default_rng(0))
        sampler.run_nested(print_progress=False)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        res = sampler.results
        ncall = int(sampler.ncall)
        per_k.append({"K": K, "logz": float(res.logz[-1]), "se": float(res.logzerr[-1]),
                      "wall_seconds": wall, "process_cpu_seconds": cpu, "ncall": ncall,
                      "niter": int(res.niter), "naive_exp": ncall * K * N})
        print(f"  dynesty K={K}: {wall:8.1f} s  logZ {res.logz[-1]:9.3f} +- {res.logzerr[-1]:.3f}"
              f"  ncall {ncall}", flush=True)
    return {"settings": {"nlive": nlive, "bound": "multi", "sample": "rslice",
                         "rstate": "default_rng(0)", "dlogz": "default", "processes": 1,
                         "version": dynesty.__version__},
            "wall_seconds": sum(k["wall_seconds"] for k in per_k), "per_K": per_k}


# ----------------------------------------------------------------------------- report

def accuracy(K: int, logz: float, se: float) -> dict:
    if K not in REFERENCE:
        return {"ref": None, "err": None, "err_over_se": None, "ref_note": None}
    ref, note = REFERENCE[K]
    err = logz - ref
    return {"ref": ref, "err": err, "err_over_se": abs(err) / se if se > 0 else math.inf,
            "ref_note": note}


def fmt_acc(a: dict) -> str:
    if a["ref"] is None:
        return f"{'-':>8} {'-':>7} {'-':>7}"
    tag = "~" if a["ref_note"] == "approx" else " "
    return f"{a['ref']:8.3f} {a['err']:+7.3f} {a['err_over_se']:6.1f}{tag}"


def machine_info() -> dict:
    model = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    vers = {"python": platform.python_version()}
    for pkg in ("bayespec", "numpy", "numba", "llvmlite", "dynesty"):
        try:
            vers[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return {"cpu": model, "cores": os.cpu_count(), "platform": platform.platform(),
            "versions": vers}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="K = 1 and 3 only (both samplers)")
    ap.add_argument("--no-dynesty", action="store_true", help="skip dynesty")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "nagata.json"))
    a = ap.parse_args(argv)
    Ks = [1, 3] if a.quick else [1, 2, 3, 4]
    x, y = nagata_data()
    info = machine_info()
    print(f"bench_nagata: n={N}, sd={SD}, K={Ks}; {info['cpu']}, {info['cores']} cores; "
          f"{' '.join(f'{k} {v}' for k, v in info['versions'].items())}", flush=True)

    load0 = os.getloadavg()
    print(f"load average before: {load0[0]:.2f} (other processes on the machine distort every "
          f"number below; ratios are measured in this process, back to back)", flush=True)
    print("measuring exp() ceilings ...", flush=True)
    rates = measure_exp_rates()
    print("running bayespec (default sampler settings, all cores) ...", flush=True)
    bs = run_bayespec(x, y, Ks)
    print("running bayespec with every sweep (target_se: null, the fixed count of before "
          "target_se 0.1 was the default) ...", flush=True)
    fixed = run_bayespec(x, y, Ks, target_se=None)
    print("running `bayespec fit` (CLI, fresh processes, default settings) ...", flush=True)
    cli = run_cli(x, y, Ks)
    dy = None
    if not a.no_dynesty:
        print("running dynesty (nlive 500, rslice, multi, single process) ...", flush=True)
        dy = run_dynesty(x, y, Ks)

    st = bs["settings"]
    cores = st["threads"]
    load1 = os.getloadavg()
    # CPU share: process CPU seconds / (wall * threads); well below 1 means other processes
    # competed for the cores and the timings are not trustworthy
    bs["cpu_share"] = bs["process_cpu_seconds"] / (bs["wall_seconds"] * cores)
    if dy:
        dy["cpu_share"] = (sum(d["process_cpu_seconds"] for d in dy["per_K"])
                           / dy["wall_seconds"])
    print()
    print(f"bayespec: replicas {st['replicas']}, ratio {st['ratio']}, burn_in {st['burn_in']}, "
          f"sweeps {st['sweeps']} (maximum), target_se {st['target_se']}, chains "
          f"{st['chains']}, threads {cores}")
    print("replica-sweeps = replicas * (burn_in + sweeps) * chains per K (one sweep of one "
          "replica = 3K Metropolis updates);")
    print("naive exp = replica-sweeps * 2K * n (every center/width proposal re-evaluates one "
          "profile); dynesty naive exp = ncall * K * n")
    print()
    hdr = (f"{'K':>2} | {'bayespec logZ':>13} {'SE':>6} {'ref':>8} {'err':>7} {'|e|/SE':>7} "
           f"{'chain s':>7} {'min swap':>8} {'sweeps':>6} {'conv':>4}")
    if dy:
        hdr += (f" | {'dynesty logZ':>12} {'logzerr':>7} {'err':>7} {'|e|/SE':>7} "
                f"{'wall s':>7} {'ncall':>9}")
    print(hdr)
    print("-" * len(hdr))
    dk = {d["K"]: d for d in dy["per_K"]} if dy else {}
    for k in bs["per_K"]:
        k["accuracy"] = accuracy(k["K"], k["logz"], k["se"])
        ms = k["min_swap_acceptance"]
        line = (f"{k['K']:>2} | {k['logz']:13.3f} {k['se']:6.3f} {fmt_acc(k['accuracy'])} "
                f"{k['chain_seconds']:7.2f} {ms if ms is None else f'{ms:8.3f}'} "
                f"{k['sweeps_run']:6d} {'yes' if k['converged'] else 'no':>4}")
        if dy:
            d = dk[k["K"]]
            d["accuracy"] = accuracy(d["K"], d["logz"], d["se"])
            acc = fmt_acc(d["accuracy"]).split(maxsplit=1)[1] if d["accuracy"]["ref"] else \
                f"{'-':>7} {'-':>7}"
            line += (f" | {d['logz']:12.3f} {d['se']:7.3f} {acc} {d['wall_seconds']:7.1f} "
                     f"{d['ncall']:9d}")
        print(line)
    if 4 in Ks:
        print("(~: K=4 reference known only to about 0.1, so its |e|/SE is indicative only)")

    # throughput
    rs = sum(k["replica_sweeps"] for k in bs["per_K"])
    pu = sum(k["param_updates"] for k in bs["per_K"])
    nx = sum(k["naive_exp"] for k in bs["per_K"])
    wall, csec = bs["wall_seconds"], bs["chain_seconds"]
    thr = {
        "replica_sweeps_per_s_wall": rs / wall,
        "replica_sweeps_per_s_per_core": rs / csec,
        "param_updates_per_s_wall": pu / wall,
        "naive_exp_per_s_wall": nx / wall,
        "naive_exp_per_s_per_core": nx / csec,
    }
    thr["frac_numba_scalar_ceiling"] = thr["naive_exp_per_s_per_core"] / rates["numba_ceiling"]
    thr["frac_numpy_vector_ceiling"] = thr["naive_exp_per_s_per_core"] / rates["numpy_ceiling"]
    bs["throughput"] = thr
    print()
    print(f"bayespec wall (K={Ks} together, {cores} threads): {wall:.2f} s; "
          f"chain seconds (sum over tasks) {csec:.2f} s; "
          f"process CPU {bs['process_cpu_seconds']:.2f} s")
    print(f"  total replica-sweeps {rs:.3g}: {thr['replica_sweeps_per_s_wall']:.3g}/s wall, "
          f"{thr['replica_sweeps_per_s_per_core']:.3g}/s per core "
          f"({thr['param_updates_per_s_wall']:.3g} Metropolis updates/s wall)")
    print(f"  naive-equivalent exp/s achieved: {thr['naive_exp_per_s_wall']:.3g} wall, "
          f"{thr['naive_exp_per_s_per_core']:.3g} per core")
    print(f"  measured exp rates (one core): numba scalar {rates['numba_scalar']:.3g}/s on 1e6 "
          f"arrays, {rates['numba_scalar_n301']:.3g}/s on n=301; numpy vectorised "
          f"{rates['numpy_vector']:.3g}/s on 1e6, {rates['numpy_vector_n301']:.3g}/s on n=301 "
          f"(ceiling = the better of each pair)")
    print(f"  achieved / ceiling per core: {thr['frac_numba_scalar_ceiling']:.2f}x numba scalar, "
          f"{thr['frac_numpy_vector_ceiling']:.2f}x numpy vectorised "
          f"(>1 means faster than any naive exp-bound kernel could be)")

    summary = {"Ks": Ks, "bayespec_wall_s": wall, "bayespec_chain_s": csec,
               "load_average_before_after": [load0[0], load1[0]],
               "cpu_share": {"bayespec": bs["cpu_share"], "dynesty": dy and dy["cpu_share"]}}
    if dy:
        dwall = dy["wall_seconds"]
        dnx = sum(d["naive_exp"] for d in dy["per_K"])
        summary.update({
            "dynesty_wall_s": dwall,
            "ratio_wall": dwall / wall,
            "ratio_per_core": dwall / csec,
            "dynesty_ncall": sum(d["ncall"] for d in dy["per_K"]),
            "dynesty_naive_exp_per_s": dnx / dwall,
        })
        print(f"  dynesty (1 process): {sum(d['ncall'] for d in dy['per_K']) / dwall:.3g} "
              f"likelihood calls/s, naive exp/s {dnx / dwall:.3g} "
              f"({dnx / dwall / rates['numpy_ceiling']:.2f}x numpy vectorised ceiling)")
    print()
    print("the same K, every sweep (target_se: null; the default before target_se 0.1):")
    for k in fixed["per_K"]:
        acc = accuracy(k["K"], k["logz"], k["se"])
        print(f"{k['K']:>2} | {k['logz']:13.3f} {k['se']:6.3f} {fmt_acc(acc)} "
              f"{k['chain_seconds']:7.2f} {'':8} {k['sweeps_run']:6d} "
              f"{'yes' if k['converged'] else 'no':>4}")
    fixed["wall_ratio_to_default"] = fixed["wall_seconds"] / wall
    summary["fixed_sweeps"] = {"wall_s": fixed["wall_seconds"],
                               "chain_s": fixed["chain_seconds"],
                               "ratio_wall": fixed["wall_ratio_to_default"],
                               "ratio_chain_s": fixed["chain_seconds"] / csec}
    print(f"  every sweep / default (target_se {st['target_se']}): "
          f"{fixed['wall_ratio_to_default']:.2f}x wall, "
          f"{fixed['chain_seconds'] / csec:.2f}x chain seconds")
    print(f"  `bayespec fit` CLI wall K={Ks} (fresh process, median of {cli['reps']}): "
          f"{cli['median_wall_seconds']:.2f} s")
    summary["cli_wall_s"] = cli["median_wall_seconds"]
    if dy:
        summary["ratio_cli_wall"] = dy["wall_seconds"] / cli["median_wall_seconds"]
    print()
    print("SUMMARY")
    print(f"  bayespec total wall K={Ks}: {wall:8.2f} s  ({cores} threads; {csec:.2f} core-s)")
    if dy:
        print(f"  dynesty  total wall K={Ks}: {summary['dynesty_wall_s']:8.2f} s  (1 process)")
        print(f"  ratio dynesty/bayespec: {summary['ratio_wall']:.1f}x wall, "
              f"{summary['ratio_per_core']:.1f}x per core (dynesty wall / bayespec chain-seconds), "
              f"{summary['ratio_cli_wall']:.1f}x against the CLI's wall (start-up included)")
    for name, res in (("bayespec", bs), ("dynesty", dy)):
        if not res:
            continue
        parts = []
        for k in res["per_K"]:
            acc = k.get("accuracy") or accuracy(k["K"], k["logz"], k["se"])
            if acc["ref"] is not None:
                tag = "~" if acc["ref_note"] == "approx" else ""
                parts.append(f"K={k['K']} err {acc['err']:+.3f} ({acc['err_over_se']:.1f}{tag} SE)")
        print(f"  {name} accuracy vs reference logZ: " + "; ".join(parts))
    shares = f"bayespec {bs['cpu_share']:.2f}" + (f", dynesty {dy['cpu_share']:.2f}" if dy else "")
    print(f"  CPU share (process CPU / (wall * threads)): {shares}; load average "
          f"{load0[0]:.2f} before, {load1[0]:.2f} after")
    if bs["cpu_share"] < 0.9 or (dy and dy["cpu_share"] < 0.9):
        print("  WARNING: CPU share < 0.9: other processes competed for the cores; rerun on an "
              "idle machine before trusting the times and ratios")
    summary["accuracy"] = {
        name: {k["K"]: k.get("accuracy") for k in res["per_K"]}
        for name, res in (("bayespec", bs), ("dynesty", dy)) if res}

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": info, "data": {"n": N, "sd": SD, "peaks": TRUE_PEAKS,
                                         "priors": {"a": [0, A_HI], "mu": [0, MU_HI],
                                                    "b": [B_LO, B_HI]}},
               "reference_logz": {k: {"value": v, "note": n} for k, (v, n) in REFERENCE.items()},
               "exp_rates_per_s": rates, "bayespec": bs, "bayespec_fixed_sweeps": fixed,
               "bayespec_cli": cli,
               "dynesty": dy, "summary": summary,
               "argv": sys.argv[1:]}
    out.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
