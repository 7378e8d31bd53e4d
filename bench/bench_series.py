"""Benchmark: warm starts along a series (README "Series", issue 14) against cold starts.

Run from the repository root on an otherwise idle machine:

    .venv/bin/python bench/bench_series.py               # 200 frames, K = 1..3
    .venv/bin/python bench/bench_series.py --frames 40   # a quick look

The series: n = 301 points on x in [0, 3], noise sd 0.05, frames f = 0 .. N-1 with
t = f / (N - 1): a line moving from 0.8 to 1.6 (amplitude 1, sd 0.1), a line at 2.2 growing
from amplitude 0.3 to 1.2 (sd 0.12), and from t = 0.5 on a line appearing at 1.9 (amplitude
growing from 0 to 0.8, sd 0.1); one seeded generator, so the series is the same every run.
Every frame is fitted at K = 1, 2, 3 (known noise) twice, one frame after the other as a
series.warm_start campaign runs them: cold (burn-in 1000, the default) and warm (the chains
start from the previous frame's posterior draws of the same K, burn-in 250). Sampling sweeps
are the same (3000). Nothing is asserted; reported: sampler CPU seconds of both (the sum over
chains), their ratio, how often both select the same K, how often each selects the true K,
and z = (F_warm - F_cold) / combined SE per (frame, K): its sd, the share beyond 3 and the
worst five (for a comparison: two cold runs with different seeds scatter alike, see the note
of issue 14). JSON to bench/out/series.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from bayespec.inference.fit import FitSettings, fit_problems
from bayespec.inference.summary import pack_draws
from bayespec.inference.warm import with_start
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior

KS = (1, 2, 3)
NOISE = 0.05
PRIORS = {"amplitude": parse_prior({"dist": "gamma", "shape": 2, "rate": 1}, "amplitude"),
          "center": parse_prior({"dist": "uniform", "low": 0, "high": 3}, "center"),
          "width": parse_prior({"dist": "lognormal", "mu": -2.3, "sigma": 0.5}, "width")}


def series(frames: int, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray], list[int]]:
    """The axis, the frames' data and their true K."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 3, 301)
    g = lambda a, c, s: a * np.exp(-0.5 * ((x - c) / s) ** 2)  # noqa: E731
    ys, true = [], []
    for f in range(frames):
        t = f / max(frames - 1, 1)
        y = g(1.0, 0.8 + 0.8 * t, 0.1) + g(0.3 + 0.9 * t, 2.2, 0.12)
        K = 2
        if t >= 0.5:
            y = y + g(1.6 * (t - 0.5), 1.9, 0.1)
            K = 3
        ys.append(y + NOISE * rng.standard_normal(x.size))
        true.append(K)
    return x, ys, true


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--warm-burn-in", type=int, default=250)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default="bench/out/series.json")
    a = ap.parse_args()
    x, ys, true = series(a.frames)
    cold_s = FitSettings(noise_sd=NOISE, burn_in=1000, sweeps=3000, chains=4, thin=5, seed=0,
                         threads=a.threads)
    warm_s = dataclasses.replace(cold_s, burn_in=a.warm_burn_in)
    # warm the JIT cache outside the timing
    fit_problems([build_problem(x, ys[0], None, "gaussian", 1, "none", None, PRIORS)],
                 dataclasses.replace(cold_s, burn_in=100, sweeps=100))
    res = {"cold": {"cpu": 0.0, "wall": 0.0, "K": []}, "warm": {"cpu": 0.0, "wall": 0.0, "K": []}}
    zs, prev = [], None
    load0 = os.getloadavg()
    for f, y in enumerate(ys):
        probs = [build_problem(x, y, None, "gaussian", K, "none", None, PRIORS) for K in KS]
        t0 = time.perf_counter()
        cold = fit_problems(probs, cold_s)
        res["cold"]["wall"] += time.perf_counter() - t0
        if prev is None:  # the first frame starts cold in a warm series too
            warm = cold
        else:
            started = [with_start(p, pack_draws(q, w)) for p, q, w in zip(probs, prev[0], prev[1])]
            t0 = time.perf_counter()
            warm = fit_problems(started, warm_s)
            res["warm"]["wall"] += time.perf_counter() - t0
        if prev is None:
            res["warm"]["wall"] += res["cold"]["wall"]
        for name, fits in (("cold", cold), ("warm", warm)):
            res[name]["cpu"] += sum(fi.timing["chain_seconds"] for fi in fits)
            res[name]["K"].append(KS[int(np.argmin([fi.free_energy for fi in fits]))])
        if prev is not None:
            for K, c, w in zip(KS, cold, warm):
                se = np.hypot(c.free_energy_se, w.free_energy_se)
                zs.append((f, K, float((w.free_energy - c.free_energy) / se)))
        prev = (probs, warm)
        print(f"frame {f + 1}/{a.frames}: K cold {res['cold']['K'][-1]} warm "
              f"{res['warm']['K'][-1]} true {true[f]}", flush=True)
    kc, kw, kt = (np.array(res["cold"]["K"]), np.array(res["warm"]["K"]), np.array(true))
    out = {"frames": a.frames, "Ks": list(KS), "cold_burn_in": cold_s.burn_in,
           "warm_burn_in": a.warm_burn_in, "sweeps": cold_s.sweeps,
           "cold_cpu_s": res["cold"]["cpu"], "warm_cpu_s": res["warm"]["cpu"],
           "cpu_ratio_cold_over_warm": res["cold"]["cpu"] / res["warm"]["cpu"],
           "cold_wall_s": res["cold"]["wall"], "warm_wall_s": res["warm"]["wall"],
           "same_K": float(np.mean(kc == kw)), "true_K_cold": float(np.mean(kc == kt)),
           "true_K_warm": float(np.mean(kw == kt)),
           # (F_warm - F_cold) / combined SE per (frame, K): ~N(0, 1) when both agree and the
           # SEs are right; the worst ones listed for a look at those fits
           "z_sd": float(np.std([z for _, _, z in zs])),
           "z_abs_over_3": float(np.mean([abs(z) > 3 for _, _, z in zs])),
           "z_worst": sorted(zs, key=lambda t: -abs(t[2]))[:5],
           "load_before": load0, "load_after": os.getloadavg(), "cpus": os.cpu_count(),
           "python": platform.python_version()}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
