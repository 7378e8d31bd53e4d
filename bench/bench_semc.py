"""Benchmark: bayespec vs the Okada group's C++ REMC / SEMC (nabikatomohiro/SEMC) on Nagata 2012.

Run from the repository root, with a local copy of their public source (never vendored here):

    .venv/bin/python bench/bench_semc.py --semc-src /tmp/semc_src     # K = 3 and 4, 5 runs each
    .venv/bin/python bench/bench_semc.py --semc-src /tmp/semc_src --runs 10
    .venv/bin/python bench/bench_semc.py --quick --semc-src /tmp/semc_src   # smoke check
    .venv/bin/python bench/bench_semc.py                 # no source: says so, runs bayespec only

Getting the source: `git clone https://github.com/nabikatomohiro/SEMC /tmp/semc_src`, or from a
bare mirror `git --git-dir=MIRROR archive HEAD -- README.md LICENSE core spectral_deconvolution
| tar -x -C /tmp/semc_src` (only core/ and spectral_deconvolution/src/ are used).

Their code: header-only C++ (core/base_emc.hpp = replica exchange MC, "REMC"; core/base_semc.hpp
= sequential exchange MC, "SEMC"; core/base_sampling.hpp = priors, RNG), plus one driver .cpp
per problem whose main() hard-codes data file, priors and a grid of Monte Carlo settings. For
the Nagata problem (spectral_deconvolution/src/emc_spectral_deconvolution.cpp and
semc_spectral_deconvolution_gamma.cpp) the model is sum_k exp(p0) exp(-exp(p2) (x - p1)^2 / 2)
with gamma priors on exp(p0), exp(p2) and a normal prior on p1 - not this benchmark's
a ~ U(0, 3), mu ~ U(0, 3), b ~ U(20, 300). So the bench builds, in a build dir (default
bench/out/semc_build/, git-ignored), a copy of core/ and spectral_deconvolution/src/ plus a
generated driver, bench_driver.cpp, that

* `#include`s their two Nagata .cpp files unchanged (their `main` renamed away with
  `#define main ...`), so their classes SpectralDeconvolutionEMC / SpectralDeconvolutionSEMC,
  sampler, ladder construction, Robbins-Monro step adaptation and FreeEnergyCalculation are used
  as written;
* subclasses them to override only ErrorCalculation with the linear (a, mu, b) Gaussian of
  their own commented-out ErrorSpectralDeconvolutionSlow_2 (same E = sum r^2 / (2 sigma^2) / n),
  and sets the priors with their own type 1 (uniform) PriorParameter; step-size exponents,
  Robbins-Monro constants and gamma_decision are their Nagata values;
* reads x and y of bayespec's nagata_data() from a text file; prints F at full precision.

One documented patch to the COPY of core/base_sampling.hpp: their constructor seeds every
thread's mt19937 with 0 (`vector<int> random_index(thread_num);` is never filled), so runs are
identical up to OpenMP scheduling. The patch fills it with 1000 * $SEMC_SEED + thread when
SEMC_SEED is set (unset = their behaviour). The C++ runs use OMP_NUM_THREADS=1 by default
(`--semc-threads`): on a loaded 2-core machine libgomp's spinning barriers multiply the CPU
time several times over; one thread gives their lowest CPU cost. `--upstream-check` (default on)
also runs their problem as they ship it once (their data_0.txt, their priors and model, K = 3,
30 replicas, 3000 + 3000 sweeps) to check the F conversion against the issue's -244.200.

F convention: their FreeEnergyCalculation prints F_theirs = -log int exp(-n E) pi, with
n E = sum r^2 / (2 sigma^2), i.e. without the Gaussian normalising constant. bayespec's
F = -log Z with the full likelihood, so F = F_theirs + (n / 2) log(2 pi sigma^2)
(= F_theirs - 416.478 for n = 301, sigma = 0.1). Printed and compared values are converted.

bayespec: `fit_spectrum(x, y, None, "gaussian_nagata", [K], "none", None, priors,
FitSettings(noise_sd=0.1, seed=s))` (default sampler settings), one K per call, R seeds.

Error and cost: the error of F is its run-to-run standard deviation over R independent runs
(seeds 1..R for both). CPU seconds: RUSAGE_CHILDREN deltas for the C++ process,
RUSAGE_SELF deltas for bayespec (it uses threads). A Monte Carlo estimator's cost grows as
1 / error^2, so cost_per_error2 = CPU_s * sd^2 compares samplers at equal error, and the
"ratio at equal error" is C++ cost_per_error2 / bayespec cost_per_error2 (= the CPU seconds
the C++ code needs for bayespec's sd, divided by bayespec's CPU seconds). The raw CPU ratio is
printed too. With R runs an sd is uncertain by about 1 / sqrt(2 (R - 1)), so the ratio by about
twice that. Dynesty figures, when bench/out/nagata.json exists, are shown beside (not re-run;
its error is its own logzerr). This is a benchmark: it asserts nothing about time. Results go
to bench/out/semc.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_nagata import N, REFERENCE, SD, bayespec_priors, machine_info, nagata_data  # noqa: E402

HERE = Path(__file__).resolve().parent
GET_SOURCE = ("git clone https://github.com/nabikatomohiro/SEMC /tmp/semc_src  (or, from a bare "
              "mirror: git --git-dir=MIRROR archive HEAD -- README.md LICENSE core "
              "spectral_deconvolution | tar -x -C /tmp/semc_src), then pass --semc-src "
              "/tmp/semc_src")
NEEDED = ("core/base_sampling.hpp", "core/base_emc.hpp", "core/base_semc.hpp",
          "spectral_deconvolution/src/base_spectral_deconvolution.hpp",
          "spectral_deconvolution/src/emc_spectral_deconvolution.cpp",
          "spectral_deconvolution/src/semc_spectral_deconvolution_gamma.cpp")
# their constant convention -> bayespec's: F = F_theirs + (n/2) log(2 pi sigma^2)
LOG_NORM = 0.5 * N * math.log(2 * math.pi * SD ** 2)
SEED_LINE = "vector<int> random_index(thread_num);"
SEED_PATCH = (SEED_LINE + ' if(const char* s_ = getenv("SEMC_SEED")) for(int i_ = 0; i_ < '
              "thread_num; i_++) random_index[i_] = 1000*atoi(s_) + i_; "
              "/* bench_semc.py patch: per-run, per-thread seeds from $SEMC_SEED */")
UPSTREAM_F_ISSUE = (-244.200, 0.069)  # issue 15: their REMC, 30 replicas, 3000 + 3000 sweeps

DRIVER = r"""// generated by bayespec bench/bench_semc.py; uses the SEMC sources copied beside it
#include <cstdlib>
#include <cstdio>
#include <numeric>
#include <string>
#define main semc_upstream_main_remc
#include "spectral_deconvolution/src/emc_spectral_deconvolution.cpp"
#undef main
#define main semc_upstream_main_semc
#include "spectral_deconvolution/src/semc_spectral_deconvolution_gamma.cpp"
#undef main

// linear (a, mu, b), as their commented-out ErrorSpectralDeconvolutionSlow_2
static double linear_error(const vector<vector<double> >& p, const GaussData& d, int n, int K){
    double e = 0;
    for(int i = 0; i < n; i++){
        double f = 0;
        for(int j = 0; j < K; j++){ double u = d.x[i] - p[j][1]; f += p[j][0]*exp(-p[j][2]*u*u/2); }
        e += (d.y[i] - f)*(d.y[i] - f);
    }
    return e/(2*d.sigma*d.sigma)/n;
}

#define BENCH_CLASS(NAME, BASE) \
class NAME : public BASE { \
  public: \
    int linear; \
    NAME(ModelOptions op, vector<vector<PriorParameter> > pr, GaussData d, int lin) \
        : BaseSampling(op, pr), BASE(op, pr, d), linear(lin) {} \
    double ErrorCalculation(const vector<vector<double> >& p) const override { \
        return linear ? linear_error(p, data_, op_.data_num, op_.model_dim) \
                      : BASE::ErrorCalculation(p); } \
    double F() const { return free_energy_; } \
    int Rungs() const { return op_.replica_num; } \
    double MinExchange() const { double m = 1; \
        for(int i = 0; i < op_.replica_num - 1; i++) \
            m = min(m, (double)exchange_counts_[i]/(op_.sample_num - op_.burn_in)); \
        return m; } \
};
BENCH_CLASS(BenchREMC, SpectralDeconvolutionEMC)
BENCH_CLASS(BenchSEMC, SpectralDeconvolutionSEMC)

int main(int argc, char** argv){
    if(argc != 9){
        fprintf(stderr, "usage: %s remc|semc bench|upstream K DATA REPLICAS|PARALLEL BURN_IN "
                "SAMPLE_NUM GAMMA\n", argv[0]);
        return 2;
    }
    string method = argv[1], problem = argv[2];
    int K = atoi(argv[3]);
    int L = atoi(argv[5]), burn = atoi(argv[6]), samples = atoi(argv[7]);
    int lin = problem == "bench";
    ModelOptions op;
    op.gamma_decision = atof(argv[8]);
    op.model_dim = K;
    op.parameter_nums = vector<int>(K, 3);
    op.robbins_parameter.M = method == "remc" ? 20 : 50;  // their Nagata values
    op.robbins_parameter.p_goal = 0.5;
    op.robbins_parameter.N_0 = 15;
    op.robbins_parameter.c = 4.0;
    GaussData data;
    data.sigma = 0.1;
    ifstream f(argv[4]);
    double xv, yv;
    while(f >> xv >> yv){ data.x.push_back(xv); data.y.push_back(yv); }
    op.data_num = data.x.size();
    if(op.data_num == 0){ fprintf(stderr, "no data read from %s\n", argv[4]); return 3; }
    op.stepsize_parameter = vector<vector<vector<double> > >(
        K, {{0.5, (double)op.data_num}, {1.2, (double)op.data_num}, {0.3, (double)op.data_num}});
    vector<vector<PriorParameter> > prior(K, vector<PriorParameter>(3));
    for(int i = 0; i < K; i++){
        if(lin){  // type 1 = uniform [first, second]
            prior[i][0].type = 1; prior[i][0].parameter = {0.0, @A_HI@};
            prior[i][1].type = 1; prior[i][1].parameter = {0.0, @MU_HI@};
            prior[i][2].type = 1; prior[i][2].parameter = {@B_LO@, @B_HI@};
        }else{    // their Nagata priors, as in their main()
            prior[i][0].type = 2; prior[i][0].parameter = {5.0, 5.0};
            prior[i][1].type = 0; prior[i][1].parameter = {1.5, sqrt(0.2)};
            prior[i][2].type = 2; prior[i][2].parameter = {5.0, 0.04};
        }
    }
    op.burn_in = burn;
    op.sample_num = samples;
    timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double F, mx; int rungs;
    if(method == "remc"){
        op.replica_num = L;
        BenchREMC s(op, prior, data, lin); s.Execution(); s.FreeEnergyCalculation();
        F = s.F(); mx = s.MinExchange(); rungs = s.Rungs();
    }else{
        op.replica_num = 0; op.parallel_num = L;
        BenchSEMC s(op, prior, data, lin); s.Execution(); s.FreeEnergyCalculation();
        F = s.F(); mx = s.MinExchange(); rungs = s.Rungs();
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const char* seed = getenv("SEMC_SEED");
    printf("semc_bench method=%s problem=%s K=%d n=%d F=%.10f rungs=%d min_exchange=%.4f "
           "seconds=%.3f threads=%d seed=%s\n", method.c_str(), problem.c_str(), K, op.data_num,
           F, rungs, mx, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec)/1e9,
           omp_get_max_threads(), seed ? seed : "none");
    return 0;
}
"""


# ----------------------------------------------------------------------------- their output

_FE = re.compile(r"^free_energy:\s*(\S+)\s*$", re.M)
_BENCH = re.compile(r"^semc_bench (.*)$", re.M)


def parse_semc_output(text: str) -> dict:
    """Parse the driver's stdout: their own `free_energy: X` line (6 significant digits, their
    constant convention) and the driver's `semc_bench key=value ...` line (F at full precision).

    Returns {"F_theirs": float, "F_printed": float | None, "F": bayespec-convention float,
    plus the semc_bench fields (K, n, rungs, min_exchange, seconds, threads, method, ...)}.
    Raises ValueError when neither line is there or F is not finite.
    """
    out: dict = {}
    m = _FE.findall(text)
    out["F_printed"] = float(m[-1]) if m else None
    b = _BENCH.findall(text)
    if b:
        for kv in b[-1].split():
            k, _, v = kv.partition("=")
            try:
                out[k] = int(v)
            except ValueError:
                try:
                    out[k] = float(v)
                except ValueError:
                    out[k] = v
        out["F_theirs"] = float(out.pop("F"))
    elif out["F_printed"] is not None:
        out["F_theirs"] = out["F_printed"]
    else:
        raise ValueError("no 'free_energy:' or 'semc_bench' line in the SEMC output")
    if not math.isfinite(out["F_theirs"]):
        raise ValueError(f"SEMC free energy is not finite: {out['F_theirs']}")
    n = out.get("n", N)
    out["F"] = out["F_theirs"] + 0.5 * n * math.log(2 * math.pi * SD ** 2)
    return out


# ----------------------------------------------------------------------------- build

def find_source(path: str | None) -> tuple[Path | None, str]:
    """(source dir, '') if usable, else (None, why)."""
    if not path:
        return None, "SEMC source not given"
    p = Path(path)
    missing = [f for f in NEEDED if not (p / f).is_file()]
    if not p.is_dir() or missing:
        return None, (f"SEMC source not found at {p}"
                      + (f" (missing {', '.join(missing)})" if p.is_dir() else ""))
    return p, ""


def gxx_version() -> str | None:
    gxx = shutil.which("g++")
    if not gxx:
        return None
    r = subprocess.run([gxx, "--version"], capture_output=True, text=True)
    return r.stdout.splitlines()[0] if r.returncode == 0 and r.stdout else None


def build(src: Path, build_dir: Path) -> tuple[Path, dict]:
    """Copy the needed part of their tree, patch the copy's seeding, write the driver, compile."""
    if build_dir.exists():
        shutil.rmtree(build_dir)
    (build_dir / "spectral_deconvolution").mkdir(parents=True)
    shutil.copytree(src / "core", build_dir / "core")
    shutil.copytree(src / "spectral_deconvolution" / "src",
                    build_dir / "spectral_deconvolution" / "src")
    hpp = build_dir / "core" / "base_sampling.hpp"
    text = hpp.read_text()
    if text.count(SEED_LINE) != 1:
        raise RuntimeError(f"seed patch: expected one '{SEED_LINE}' in {hpp}; their source "
                           "changed, adapt bench_semc.SEED_LINE")
    hpp.write_text(text.replace(SEED_LINE, SEED_PATCH))
    from bench_nagata import A_HI, B_HI, B_LO, MU_HI
    drv = DRIVER
    for k, v in {"A_HI": A_HI, "MU_HI": MU_HI, "B_LO": B_LO, "B_HI": B_HI}.items():
        drv = drv.replace(f"@{k}@", repr(float(v)))
    (build_dir / "bench_driver.cpp").write_text(drv)
    exe = build_dir / "bench_driver"
    cmd = ["g++", "bench_driver.cpp", "-O3", "-fopenmp", "-o", exe.name]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=build_dir, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("g++ failed:\n" + r.stderr[-3000:])
    return exe, {"command": " ".join(cmd), "cwd": str(build_dir),
                 "seconds": time.perf_counter() - t0,
                 "patch": f"core/base_sampling.hpp: '{SEED_LINE}' -> seeds from $SEMC_SEED"}


def source_commit(src: Path) -> str | None:
    r = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True,
                       text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def run_cpp(exe: Path, args: list, seed: int, threads: int) -> dict:
    env = dict(os.environ, SEMC_SEED=str(seed), OMP_NUM_THREADS=str(threads))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([str(exe)] + [str(a) for a in args], cwd=exe.parent, env=env,
                       capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if r.returncode != 0:
        raise RuntimeError(f"{exe.name} {args} exited {r.returncode}: {r.stderr[-2000:]}")
    out = parse_semc_output(r.stdout)
    out.update(seed=seed, wall_seconds=wall,
               cpu_seconds=(r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime))
    return out


# ----------------------------------------------------------------------------- bayespec

def run_bayespec_once(x, y, K: int, seed: int, st: dict) -> dict:
    from bayespec.inference.fit import FitSettings, fit_spectrum
    kw = {k: v for k, v in st.items() if v is not None}
    s = FitSettings(noise_sd=SD, seed=seed, **kw)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    (fit,) = fit_spectrum(x, y, None, "gaussian_nagata", [K], "none", None, bayespec_priors(), s)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {"seed": seed, "F": float(fit.free_energy), "se": float(fit.free_energy_se),
            "wall_seconds": wall,
            "cpu_seconds": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
            "sweeps_run": int(fit.timing["sweeps"]),  # < sweeps where target_se stopped it
            "settings": {"replicas": s.replicas, "burn_in": s.burn_in, "sweeps": s.sweeps,
                         "target_se": s.target_se, "chains": s.chains,
                         "threads": s.threads or os.cpu_count()}}


def warm_bayespec(x, y, Ks):
    from bayespec.inference.fit import FitSettings, fit_spectrum
    fit_spectrum(x, y, None, "gaussian_nagata", Ks, "none", None, bayespec_priors(),
                 FitSettings(noise_sd=SD, sweeps=50, burn_in=50))


# ----------------------------------------------------------------------------- summary

def summarise(runs: list[dict], K: int) -> dict:
    F = np.array([r["F"] for r in runs])
    cpu = np.array([r["cpu_seconds"] for r in runs])
    wall = np.array([r["wall_seconds"] for r in runs])
    sd = float(F.std(ddof=1)) if F.size > 1 else math.nan
    s = {"runs": len(runs), "F_mean": float(F.mean()), "sd": sd,
         "sem": sd / math.sqrt(F.size) if F.size > 1 else math.nan,
         "cpu_s": float(cpu.mean()), "wall_s": float(wall.mean()),
         "cost_per_error2": float(cpu.mean()) * sd ** 2}
    if "se" in runs[0]:
        s["se_mean"] = float(np.mean([r["se"] for r in runs]))
    if K in REFERENCE:
        s["F_ref"] = -REFERENCE[K][0]
        s["ref_note"] = REFERENCE[K][1]
        s["bias"] = s["F_mean"] - s["F_ref"]
    return s


def dynesty_from_nagata_json(path: Path) -> dict:
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    out = {}
    for k in ((d.get("dynesty") or {}).get("per_K") or []):
        out[int(k["K"])] = {"F": -k["logz"], "se": k["se"], "cpu_s": k["process_cpu_seconds"],
                            "wall_s": k["wall_seconds"],
                            "cost_per_error2": k["process_cpu_seconds"] * k["se"] ** 2}
    return out


def fnum(v, w=9, p=3):
    return f"{'-':>{w}}" if v is None or (isinstance(v, float) and math.isnan(v)) \
        else f"{v:{w}.{p}f}"


def xfmt(v, w):
    return f"{'-':>{w}}" if v is None else f"{f'{v:.3g}x':>{w}}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--semc-src", default=None, help="local copy of nabikatomohiro/SEMC")
    ap.add_argument("--runs", type=int, default=5, help="independent runs per sampler and K")
    ap.add_argument("--K", type=int, nargs="+", default=[3, 4])
    ap.add_argument("--quick", action="store_true",
                    help="smoke check: 2 runs, K = 3, short C++ and bayespec runs")
    ap.add_argument("--methods", default="remc,semc", help="C++ samplers: remc, semc or both")
    ap.add_argument("--semc-threads", type=int, default=1, help="OMP_NUM_THREADS for the C++ runs")
    ap.add_argument("--remc-replicas", type=int, default=30)
    ap.add_argument("--remc-burn-in", type=int, default=3000)
    ap.add_argument("--remc-samples", type=int, default=3000, help="sweeps after burn-in")
    ap.add_argument("--semc-parallel", type=int, default=50, help="SEMC parallel_num")
    ap.add_argument("--semc-burn-in", type=int, default=10000)
    ap.add_argument("--semc-samples", type=int, default=10000, help="samples after burn-in")
    ap.add_argument("--gamma", type=float, default=0.5, help="their gamma_decision")
    ap.add_argument("--no-upstream-check", action="store_true",
                    help="skip the one run of their problem as shipped (F convention check)")
    ap.add_argument("--no-bayespec", action="store_true", help="skip the bayespec half")
    ap.add_argument("--bayespec-sweeps", type=int, default=None)
    ap.add_argument("--bayespec-burn-in", type=int, default=None)
    ap.add_argument("--bayespec-threads", type=int, default=None)
    ap.add_argument("--build-dir", default=str(HERE / "out" / "semc_build"))
    ap.add_argument("--out", default=str(HERE / "out" / "semc.json"))
    ap.add_argument("--nagata-json", default=str(HERE / "out" / "nagata.json"),
                    help="bench_nagata.py output to show dynesty beside (not re-run)")
    a = ap.parse_args(argv)
    if a.quick:
        a.runs = min(a.runs, 2)
        a.K = [3]
        a.remc_burn_in = a.remc_samples = 1000
        a.semc_burn_in = a.semc_samples = 2000
        a.no_upstream_check = True
        a.bayespec_sweeps = a.bayespec_sweeps or 1000
        a.bayespec_burn_in = a.bayespec_burn_in or 300
    methods = [m for m in a.methods.split(",") if m]
    x, y = nagata_data()
    info = machine_info()
    print(f"bench_semc: n={N}, sd={SD}, K={a.K}, {a.runs} runs each; {info['cpu']}, "
          f"{info['cores']} cores", flush=True)
    load0 = os.getloadavg()
    print(f"load average before: {load0[0]:.2f}", flush=True)
    print(f"F convention: bayespec F = -log Z (full Gaussian likelihood); their printed F "
          f"lacks (n/2) log(2 pi sd^2) = {LOG_NORM:.3f}, added to every C++ value below",
          flush=True)

    payload: dict = {"machine": info, "argv": sys.argv[1:] if argv is None else list(argv),
                     "log_norm_constant": LOG_NORM, "runs": a.runs, "Ks": a.K}
    cpp: dict = {}
    src, why = find_source(a.semc_src)
    gxx = gxx_version() if src else None
    if src is None:
        print(f"{why}: {GET_SOURCE}. Running the bayespec half only.", flush=True)
        payload["semc"] = {"skipped": why}
    elif gxx is None:
        print("g++ not found (g++ --version failed): cannot build the SEMC code; install g++ "
              "(Debian: apt-get install g++). Running the bayespec half only.", flush=True)
        payload["semc"] = {"skipped": "no g++"}
    else:
        try:
            exe, binfo = build(src, Path(a.build_dir))
        except (RuntimeError, OSError) as e:
            print(f"SEMC build failed, running the bayespec half only: {e}", flush=True)
            payload["semc"] = {"skipped": f"build failed: {e}"}
            exe = None
        if exe is not None:
            binfo.update(gxx=gxx, source=str(src), commit=source_commit(src))
            print(f"built {exe} ({gxx}; {binfo['command']}; {binfo['seconds']:.1f} s); "
                  f"patched copy: {binfo['patch']}", flush=True)
            data_file = Path(a.build_dir) / "nagata_xy.txt"
            data_file.write_text("".join(f"{float(u)!r} {float(v)!r}\n" for u, v in zip(x, y)))
            settings = {
                "remc": {"replicas": a.remc_replicas, "burn_in": a.remc_burn_in,
                         "sample_num": a.remc_burn_in + a.remc_samples},
                "semc": {"parallel_num": a.semc_parallel, "burn_in": a.semc_burn_in,
                         "sample_num": a.semc_burn_in + a.semc_samples},
            }
            payload["semc"] = {"build": binfo, "threads": a.semc_threads,
                               "gamma_decision": a.gamma, "settings": settings, "runs": {}}
            if not a.no_upstream_check:
                up = Path(a.build_dir) / "upstream_xy.txt"
                ys = (src / "spectral_deconvolution" / "input" / "data_0.txt").read_text().split()
                up.write_text("".join(f"{0.01 * i!r} {v}\n" for i, v in enumerate(ys)))
                print("upstream check: their REMC on their own problem (data_0.txt, their "
                      "priors and model), K=3, 30 replicas, 3000 + 3000 ...", flush=True)
                u = run_cpp(exe, ["remc", "upstream", 3, up.name, 30, 3000, 6000, a.gamma], 1,
                            a.semc_threads)
                print(f"  printed {u['F_printed']} (their convention) -> F = {u['F']:.3f} "
                      f"(issue 15: {UPSTREAM_F_ISSUE[0]} +- sd {UPSTREAM_F_ISSUE[1]}); "
                      f"{u['cpu_seconds']:.1f} CPU s", flush=True)
                payload["semc"]["upstream_check"] = u
            for m in methods:
                st = settings[m]
                L = st["replicas"] if m == "remc" else st["parallel_num"]
                for K in a.K:
                    runs = []
                    for seed in range(1, a.runs + 1):
                        r = run_cpp(exe, [m, "bench", K, data_file.name, L, st["burn_in"],
                                          st["sample_num"], a.gamma], seed, a.semc_threads)
                        runs.append(r)
                        print(f"  C++ {m.upper()} K={K} seed {seed}: F {r['F']:.3f} "
                              f"(printed {r['F_printed']}), {r['cpu_seconds']:.1f} CPU s, "
                              f"{r['rungs']} rungs, min exchange {r['min_exchange']:.2f}",
                              flush=True)
                    cpp[(m, K)] = summarise(runs, K)
                    payload["semc"]["runs"][f"{m}_K{K}"] = runs

    bs: dict = {}
    if not a.no_bayespec:
        st = {"sweeps": a.bayespec_sweeps, "burn_in": a.bayespec_burn_in,
              "threads": a.bayespec_threads}
        print("bayespec: warm-up (JIT), then default sampler settings, one K per fit ...",
              flush=True)
        warm_bayespec(x, y, a.K)
        allruns = {}
        for K in a.K:
            runs = []
            for seed in range(1, a.runs + 1):
                r = run_bayespec_once(x, y, K, seed, st)
                runs.append(r)
                print(f"  bayespec K={K} seed {seed}: F {r['F']:.3f} +- {r['se']:.3f}, "
                      f"{r['cpu_seconds']:.2f} CPU s, {r['wall_seconds']:.2f} s wall", flush=True)
            bs[K] = summarise(runs, K)
            allruns[f"K{K}"] = runs
        payload["bayespec"] = {"settings": runs[0]["settings"], "runs": allruns}

    load1 = os.getloadavg()
    dy = dynesty_from_nagata_json(Path(a.nagata_json))
    rows = []
    for K in a.K:
        if K in bs:
            rows.append(("bayespec", K, bs[K]))
        for m in methods:
            if (m, K) in cpp:
                rows.append((f"C++ {m.upper()}", K, cpp[(m, K)]))
        if K in dy:
            rows.append(("dynesty*", K, dict(dy[K], F_mean=dy[K]["F"], sd=math.nan,
                                             se_mean=dy[K]["se"], runs=1)))
    print()
    hdr = (f"{'sampler':<10} {'K':>2} {'R':>3} {'F mean':>9} {'sd':>7} {'SE':>7} {'F ref':>9} "
           f"{'bias':>7} {'CPU s':>8} {'wall s':>7} {'CPU*sd^2':>9} {'vs bayespec':>11} "
           f"{'CPU ratio':>9}")
    print(hdr)
    print("-" * len(hdr))
    for name, K, s in rows:
        err = s["sd"] if not math.isnan(s["sd"]) else s.get("se_mean", math.nan)
        cpe = s["cpu_s"] * err ** 2
        s["cost_per_error2"] = cpe
        ratio = craw = None
        if name != "bayespec" and K in bs and bs[K]["cost_per_error2"] > 0:
            ratio = cpe / bs[K]["cost_per_error2"]
            craw = s["cpu_s"] / bs[K]["cpu_s"]
            s["ratio_equal_error"] = ratio
            s["ratio_cpu"] = craw
        ref = -REFERENCE[K][0] if K in REFERENCE else None
        bias = None if ref is None else s["F_mean"] - ref
        tag = "~" if K in REFERENCE and REFERENCE[K][1] == "approx" else " "
        print(f"{name:<10} {K:>2} {s['runs']:>3} {fnum(s['F_mean'])} {fnum(s['sd'], 7)} "
              f"{fnum(s.get('se_mean'), 7)} {fnum(ref)}{tag}{fnum(bias, 7)} "
              f"{fnum(s['cpu_s'], 8, 2)} {fnum(s['wall_s'], 7, 2)} {fnum(cpe, 9, 4)} "
              f"{xfmt(ratio, 11)} {xfmt(craw, 9)}")
    print("sd: run-to-run standard deviation of F over R seeds (the error used); SE: the "
          "sampler's own mean reported SE;\nCPU*sd^2: cost at unit error (CPU s x sd^2); "
          "'vs bayespec' = that / bayespec's (ratio at equal error); CPU ratio = raw CPU s "
          "ratio.\n~: K=4 reference known only to ~0.1. F ref = -log Z reference of "
          "bench_nagata.")
    if dy:
        print(f"*dynesty: from {a.nagata_json} (bench_nagata.py, one run, not re-run here): "
              "error = its logzerr, CPU s = its process CPU.")
    bshare = None
    if bs:
        cpu = sum(s["cpu_s"] for s in bs.values())
        wall = sum(s["wall_s"] for s in bs.values())
        th = payload["bayespec"]["settings"]["threads"]
        bshare = cpu / (wall * th)
    cshare = None
    if cpp:
        cshare = (sum(s["cpu_s"] for s in cpp.values())
                  / (sum(s["wall_s"] for s in cpp.values()) * a.semc_threads))
    print(f"\nCPU share (CPU / (wall x threads)): bayespec {fnum(bshare, 4, 2)}, "
          f"C++ {fnum(cshare, 4, 2)} ({a.semc_threads} OpenMP thread(s)); load average "
          f"{load0[0]:.2f} before, {load1[0]:.2f} after")
    if (bshare is not None and bshare < 0.9) or (cshare is not None and cshare < 0.9):
        print("WARNING: CPU share < 0.9: other processes competed for the cores")
    if a.runs > 1:
        rel = 100 / math.sqrt(2 * (a.runs - 1))
        print(f"note: with R = {a.runs} each sd is uncertain by ~{rel:.0f}% and the equal-error "
              f"ratio (a ratio of two sd^2) by ~{2 * math.sqrt(2) * rel:.0f}%")
    else:
        print("note: R = 1 gives no sd")
    if src is None:
        print(f"\n{why}: the C++ half was not run ({GET_SOURCE}).")
    summary = {"bayespec": {str(k): v for k, v in bs.items()},
               "cpp": {f"{m}_K{k}": v for (m, k), v in cpp.items()},
               "dynesty_from_nagata_json": {str(k): v for k, v in dy.items()},
               "load_average_before_after": [load0[0], load1[0]],
               "cpu_share": {"bayespec": bshare, "cpp": cshare}}
    payload["summary"] = summary
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
