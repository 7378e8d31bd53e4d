"""Start-up (issue 15 item 1): what a process loads before and while it fits."""

import subprocess
import sys

HEAVY = ("numpy", "pandas", "numba", "scipy", "xarray", "zarr", "matplotlib", "snakemake")


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_cli_module_imports_nothing_heavy():
    code = ("import importlib, sys; m = importlib.import_module('bayespec.cli.main'); "
            "m.build_parser(); "
            f"print(sorted({{k.split('.')[0] for k in sys.modules}} & set({HEAVY!r})))")
    assert _run(code) == "[]"


def test_library_never_loads_plotting_stores_or_snakemake_to_fit_and_no_kernel_at_import():
    """bayespec.fit without writing loads no store (xarray, zarr), no plotting, no Snakemake,
    no arviz-stats (the convergence checks carry its estimators) and no scipy.stats or
    scipy.optimize (known noise); importing the sampler loads no Numba kernel, the fit only
    the ones it runs."""
    code = r"""
import sys
import numpy as np
import bayespec, bayespec.api, bayespec.inference.runner
from numba.core.dispatcher import Dispatcher

def compiled():
    return sorted(f"{n}.{k}" for n, m in list(sys.modules.items()) if n.startswith("bayespec.")
                  for k, v in vars(m).items() if isinstance(v, Dispatcher) and v.signatures)

assert compiled() == [], compiled()
x = np.linspace(0, 3, 121)
y = np.exp(-50 * (x - 1.5) ** 2) + 0.05 * np.random.default_rng(0).standard_normal(x.size)
bayespec.fit(x, y, {"model": {"shape": "gaussian", "K": [1], "background": {"kind": "none"}},
                    "noise": {"sd": 0.05}, "sampler": {"burn_in": 50, "sweeps": 100}},
             progress=False)
print(sorted(m for m in ("zarr", "xarray", "matplotlib", "snakemake", "arviz_stats",
                         "arviz_base", "scipy.stats", "scipy.optimize") if m in sys.modules))
print(" ".join(compiled()))
"""
    loaded, kernels = _run(code).splitlines()
    assert loaded == "[]"
    names = kernels.split()
    assert any(n.endswith(".run_chain") for n in names), names
    # only the Gaussian profile among the line shapes: the others' caches are never loaded
    shapes = [n for n in names if n.startswith("bayespec.models.shapes.")]
    assert all("gauss" in n for n in shapes), shapes


def test_command_line_process_runs(tmp_path):
    out = subprocess.run([sys.executable, "-m", "bayespec.cli", "--help"], capture_output=True,
                         text=True)
    assert out.returncode == 0 and "bayespec" in out.stdout
