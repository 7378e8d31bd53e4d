"""A/B benchmark: the same workloads on two source trees, in one command, as CPU-time ratios.

    .venv/bin/python bench/bench_ab.py --base /path/to/old/checkout --head .   [--rounds 3]

Each workload runs in a fresh subprocess with PYTHONPATH=<tree>/src (and its own Numba cache
directory, warmed by an untimed first round), alternating base and head for ``--rounds``
rounds so that drifts of the machine's load hit both alike. Reported: the median CPU seconds
(process time, one thread: robust to other processes on the machine) of each side and the ratio
head / base (< 1: head faster). A benchmark, not a test: it asserts nothing. JSON goes to
bench/out/ab.json.

Workloads (the imports are resolved inside the worker, so both trees' layouts work):
  nagata_K3   fit_spectrum on the Nagata 2012 spectrum, K = 3, default sampler, 1 thread
  joint       a two-data-set Gaussian group (pseudo-Voigt, a tie), joint + separate fits
  config      1,000 parse_fit_config calls of a typical FIT.yaml
  au4f        the joint kernel on the measured Au 4f spectrum (examples/measured/au4f.yaml,
              bulk + 1 surface doublet of Doniach-Sunjic * Gaussian lines on a Tougaard
              background, Poisson): one chain, 24 rungs, block moves, 200 + 200 sweeps
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

WORKER = r'''
import importlib, sys, time
import numpy as np

def imp(*names):
    for n in names:
        try:
            return importlib.import_module(n)
        except ImportError:
            continue
    raise ImportError(names)

def nagata_K3():
    fit = imp("bayespec.inference.fit", "bayespec.fit")
    pri = imp("bayespec.models.priors", "bayespec.priors")
    x = np.linspace(0.0, 3.0, 301)
    f = sum(a * np.exp(-b * (x - mu) ** 2 / 2) for a, mu, b in
            [(0.587, 1.210, 95.689), (1.522, 1.455, 146.837), (1.183, 1.703, 164.469)])
    y = f + 0.1 * np.random.default_rng(0).standard_normal(301)
    p = {"amplitude": pri.parse_prior({"dist": "uniform", "low": 0, "high": 3}, "a"),
         "center": pri.parse_prior({"dist": "uniform", "low": 0, "high": 3}, "c"),
         "width": pri.parse_prior({"dist": "uniform", "low": 20, "high": 300}, "w")}
    s = fit.FitSettings(noise_sd=0.1, threads=1)
    return fit.fit_spectrum(x, y, None, "gaussian_nagata", [3], "none", None, p, s)[0].free_energy

def joint():
    integ = imp("bayespec.inference.integrate", "bayespec.integrate")
    io = imp("bayespec.io.spectrum", "bayespec.io")
    rng = np.random.default_rng(3)
    x = np.linspace(0, 10, 120)
    g = lambda a, c, s: a * np.exp(-0.5 * ((x - c) / s) ** 2)
    ya = g(1.0, 4.0, 0.6) + g(0.6, 6.0, 0.5) + 0.05 * rng.standard_normal(x.size)
    yb = g(0.8, 4.1, 0.6) + 0.08 * rng.standard_normal(x.size)
    sp = {"A": io.Spectrum(x, ya, None, "A"), "B": io.Spectrum(x, yb, None, "B")}
    m = {"shape": "pseudo_voigt", "background": {"kind": "constant"}}
    d = {"datasets": {"A": {"model": {**m, "K": [2]}}, "B": {"model": {**m, "K": [1]},
                                                          "noise": {"sd": 0.08}}},
         "ties": ["B.width[0] = A.width[0]"],
         "sampler": {"replicas": 16, "burn_in": 1000, "sweeps": 3000, "chains": 2, "seed": 4,
                     "threads": 1}}
    return integ.integrate(integ.parse_group_config(d, "ab", spectra=sp)).joint[0].free_energy

def config():
    cfgm = imp("bayespec.config")
    d = {"model": {"shape": "pseudo_voigt", "K": [1, 2, 3], "background": {"kind": "linear"}},
         "priors": {"center": {"dist": "uniform", "low": 0, "high": 10}},
         "noise": {"estimate": True}, "sampler": {"sweeps": 2000, "seed": 3}}
    for _ in range(1000):
        cfgm.parse_fit_config(d, "FIT.yaml")
    return 0.0

def au4f():
    import pathlib
    bs = imp("bayespec")
    here = pathlib.Path(bs.__file__).resolve().parents[2] / "examples" / "measured"
    sys.path.insert(0, str(here))
    import spectra
    cfgm = imp("bayespec.config")
    run = imp("bayespec.inference.runner")
    io = imp("bayespec.io.spectrum")
    jm = imp("bayespec.sampling.joint")
    cfg = cfgm.load_fit_config(here / "au4f.yaml")
    x, y, _ = spectra.load("au4f")
    c = run.composite_candidates(io.Spectrum(x=x, y=y, sd=None, path="au4f"), cfg, "au4f")[1]
    m = jm.with_block_moves(c.model)
    out = jm.run_joint_one(m, np.geomspace(1e-6, 1.0, 24), 200, 200, 1, 1, 0)
    return float(np.mean(out.ne[-1]))

name = sys.argv[1]
t0 = time.process_time()
v = globals()[name]()
print(time.process_time() - t0, v)
'''

WORKLOADS = ("nagata_K3", "joint", "config", "au4f")


def run(tree: Path, name: str, cache: Path) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"), NUMBA_CACHE_DIR=str(cache),
               NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", WORKER, name], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", required=True, type=Path, help="the baseline checkout")
    ap.add_argument("--head", default=Path("."), type=Path, help="the checkout to compare")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=list(WORKLOADS), choices=WORKLOADS)
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "ab.json"))
    a = ap.parse_args()
    trees = {"base": a.base.resolve(), "head": a.head.resolve()}
    with tempfile.TemporaryDirectory() as tmp:
        caches = {k: Path(tmp) / k for k in trees}
        res: dict = {}
        for name in a.only:
            for side in trees:  # warm-up: compile and cache the kernels
                run(trees[side], name, caches[side])
            times: dict[str, list[float]] = {"base": [], "head": []}
            values = {}
            for _ in range(a.rounds):
                for side in trees:
                    t, v = run(trees[side], name, caches[side])
                    times[side].append(t)
                    values[side] = v
            mb, mh = statistics.median(times["base"]), statistics.median(times["head"])
            res[name] = {"base_s": times["base"], "head_s": times["head"], "ratio": mh / mb,
                         "value_base": values["base"], "value_head": values["head"]}
            print(f"{name:10s} base {mb:8.3f} s  head {mh:8.3f} s  head/base {mh / mb:6.3f}  "
                  f"(value base {values['base']!r}, head {values['head']!r})", flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps({"trees": {k: str(v) for k, v in trees.items()},
                                       "rounds": a.rounds, "results": res}, indent=2))


if __name__ == "__main__":
    main()
