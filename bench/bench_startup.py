"""Start-up benchmark: the seconds `bayespec fit` spends outside the sampler on a small problem.

    .venv/bin/python bench/bench_startup.py                          # this checkout
    .venv/bin/python bench/bench_startup.py --base /tmp/base         # and another, as ratios
    .venv/bin/python bench/bench_startup.py --reps 10 --out FILE

The problem is the Nagata (2012) spectrum of bench_nagata.py (n = 301, three Gaussians, noise sd
0.1), fitted at K = 1 with known noise, priors a ~ U(0, 3), mu ~ U(0, 3), b ~ U(20, 300),
burn-in 200 and 400 sweeps (the other sampler settings at their defaults). For each source
tree (PYTHONPATH=<tree>/src, the same interpreter), after an untimed warm-up run of each
kind (JIT cache warm, files in the page cache), alternating the trees ``--reps`` times:

* **CLI wall**: `python -m bayespec.cli fit d.csv --config fit.yaml --out DIR --no-progress`
  as a subprocess, wall seconds from spawn to exit;
* **sampler s**: the sampler's own wall seconds of that run (the store's root attr ``timing``,
  ``wall_seconds``: the run_many call);
* **overhead s**: CLI wall - sampler s, i.e. interpreter start, imports, Numba cache loading,
  reading, checks, predictive bands, store and table writing;
* **in-process**: the same fit in one warm process (runner.fit_spectrum_config on the same
  config and data, repeated): its wall and sampler seconds, i.e. what remains outside the
  sampler when nothing is imported or loaded;
* **import s**: `import bayespec.cli.main` in a fresh interpreter, minus a bare interpreter
  start (`python -c pass`).

Medians over the repetitions are reported; with ``--base`` also base / this ratios (> 1: this
checkout is faster). A benchmark, not a test: it asserts nothing. JSON goes to
bench/out/startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N, SD = 301, 0.1
TRUE_PEAKS = [(0.587, 1.210, 95.689), (1.522, 1.455, 146.837), (1.183, 1.703, 164.469)]
FIT_YAML = """\
model: {shape: gaussian_nagata, K: [1], background: {kind: none}}
priors:
  amplitude: {dist: uniform, low: 0, high: 3}
  center: {dist: uniform, low: 0, high: 3}
  width: {dist: uniform, low: 20, high: 300}
noise: {sd: 0.1}
sampler: {burn_in: 200, sweeps: 400}
"""

#: the in-process worker: one warm-up fit, then ``reps`` timed ones; prints JSON
IN_PROCESS = r"""
import json, sys, time
from bayespec.config import load_fit_config
from bayespec.io.spectrum import read_spectrum
from bayespec.inference.runner import fit_spectrum_config
data, cfg_path, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
cfg = load_fit_config(cfg_path)
out = []
for i in range(reps + 1):
    t0 = time.perf_counter()
    res = fit_spectrum_config(read_spectrum(data), cfg, data)
    wall = time.perf_counter() - t0
    if i:
        out.append({"wall": wall, "sampler": res.fits[0].timing["wall_seconds"],
                    "free_energy": res.fits[0].free_energy})
print(json.dumps(out))
"""

IMPORT = ("import time; t = time.perf_counter(); import bayespec.cli.main; "
          "print(time.perf_counter() - t)")


def write_problem(d: Path) -> tuple[Path, Path]:
    x = np.linspace(0.0, 3.0, N)
    f = sum(a * np.exp(-b * (x - mu) ** 2 / 2) for a, mu, b in TRUE_PEAKS)
    y = f + SD * np.random.default_rng(0).standard_normal(N)
    data, cfg = d / "d.csv", d / "fit.yaml"
    np.savetxt(data, np.c_[x, y], delimiter=",", header="x,y", comments="")
    cfg.write_text(FIT_YAML)
    return data, cfg


def env_for(tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree / "src")
    env.pop("NUMBA_DISABLE_JIT", None)
    return env


def store_timing(store: Path) -> dict:
    """The root attr ``timing`` of a store (zarr v3: zarr.json's attributes; else zarr)."""
    meta = store / "zarr.json"
    if meta.is_file():
        attrs = json.loads(meta.read_text()).get("attributes", {})
    else:
        import zarr

        attrs = dict(zarr.open_group(str(store), mode="r").attrs)
    t = attrs["timing"]
    return json.loads(t) if isinstance(t, str) else t


def cli_run(tree: Path, data: Path, cfg: Path, out: Path) -> dict:
    cmd = [sys.executable, "-m", "bayespec.cli", "fit", str(data), "--config", str(cfg),
           "--out", str(out), "--no-progress"]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env_for(tree), cwd=out.parent, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{tree}: bayespec fit failed ({p.returncode}):\n{p.stderr}")
    sampler = store_timing(out / "K1.zarr")["wall_seconds"]
    return {"wall": wall, "sampler": sampler, "overhead": wall - sampler}


def in_process(tree: Path, data: Path, cfg: Path, reps: int) -> list[dict]:
    p = subprocess.run([sys.executable, "-c", IN_PROCESS, str(data), str(cfg), str(reps)],
                       env=env_for(tree), capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def import_time(tree: Path) -> float:
    env = env_for(tree)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
    bare = time.perf_counter() - t0
    p = subprocess.run([sys.executable, "-c", IMPORT], env=env, capture_output=True,
                       text=True, check=True)
    return float(p.stdout.strip()), bare


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", help="another checkout (e.g. a git worktree of the unchanged "
                                   "tree), measured in the same run")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions (default 5)")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "startup.json"))
    a = ap.parse_args(argv)
    trees = {"this": ROOT}
    if a.base:
        trees = {"base": Path(a.base).resolve(), **trees}
    print(f"bench_startup: K=1 Nagata problem, burn_in 200, sweeps 400; {a.reps} reps; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}", flush=True)
    res: dict[str, dict] = {n: {"cli": [], "imports": [], "bare": []} for n in trees}
    with tempfile.TemporaryDirectory(prefix="bench_startup_") as tmp:
        data, cfg = write_problem(Path(tmp))
        for name, tree in trees.items():  # warm-up: JIT cache, page cache; not timed
            cli_run(tree, data, cfg, Path(tmp) / f"warm_{name}")
            import_time(tree)
        for r in range(a.reps):  # alternate the trees so that load drifts hit both alike
            for name, tree in trees.items():
                res[name]["cli"].append(cli_run(tree, data, cfg, Path(tmp) / f"{name}_{r}"))
                imp, bare = import_time(tree)
                res[name]["imports"].append(imp)
                res[name]["bare"].append(bare)
        for name, tree in trees.items():
            res[name]["in_process"] = in_process(tree, data, cfg, a.reps)

    summary = {}
    for name, d in res.items():
        ip = d["in_process"]
        summary[name] = {
            "tree": str(trees[name]),
            "cli_wall_s": med(d["cli"], "wall"),
            "cli_sampler_s": med(d["cli"], "sampler"),
            "overhead_s": med(d["cli"], "overhead"),
            "in_process_wall_s": med(ip, "wall"),
            "in_process_sampler_s": med(ip, "sampler"),
            "in_process_outside_sampler_s": statistics.median(r["wall"] - r["sampler"]
                                                               for r in ip),
            "import_cli_main_s": statistics.median(d["imports"]),
            "bare_interpreter_s": statistics.median(d["bare"]),
            "free_energy": ip[0]["free_energy"],
        }
    print()
    cols = [("cli_wall_s", "CLI wall"), ("cli_sampler_s", "sampler"),
            ("overhead_s", "overhead"), ("in_process_wall_s", "in-proc wall"),
            ("in_process_sampler_s", "in-proc sampler"),
            ("import_cli_main_s", "import cli.main"), ("bare_interpreter_s", "python -c pass")]
    print(f"{'tree':>6} | " + " ".join(f"{h:>15}" for _, h in cols) + f" | {'F':>10}")
    for name, s in summary.items():
        print(f"{name:>6} | " + " ".join(f"{s[k]:15.3f}" for k, _ in cols)
              + f" | {s['free_energy']:10.4f}")
    ratios = None
    if "base" in summary:
        b, t = summary["base"], summary["this"]
        ratios = {k: b[k] / t[k] for k, _ in cols if t[k] > 0}
        print(f"{'base/this':>6} | " + " ".join(f"{ratios.get(k, float('nan')):14.2f}x"
                                            for k, _ in cols))
        if b["free_energy"] != t["free_energy"]:
            print(f"NOTE: the free energies differ: {b['free_energy']!r} vs "
                  f"{t['free_energy']!r}")
    print("(seconds, medians; overhead = CLI wall - the sampler's own wall time in that run)")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "ratios_base_over_this": ratios,
                               "runs": res, "reps": a.reps, "cores": os.cpu_count(),
                               "python": sys.version, "argv": sys.argv[1:]},
                              indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
