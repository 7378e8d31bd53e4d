"""Shared fixtures: the Nagata et al. (2012) synthetic spectrum; the reduced demo campaign."""

import time
from pathlib import Path

import numpy as np
import pytest

NAGATA_PEAKS = [(0.587, 1.210, 95.689), (1.522, 1.455, 146.837), (1.183, 1.703, 164.469)]


def nagata_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x = 0, 0.01, ..., 3 (n = 301); three Gaussian peaks a exp(-b (x - mu)^2 / 2); s = 0.1."""
    x = np.linspace(0, 3, 301)
    f = sum(a * np.exp(-b * (x - m) ** 2 / 2) for a, m, b in NAGATA_PEAKS)
    return x, f + 0.1 * np.random.default_rng(seed).standard_normal(301)


@pytest.fixture
def nagata():
    return nagata_data(0)


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> Path:
    """The reduced demo campaign of test_workflow.py run locally once to completion
    (uninterrupted); shared by test_workflow.py and test_slurm.py (the reference numbers)."""
    from test_workflow import RUN, check, make_workdir, snakemake

    wd = make_workdir(tmp_path_factory.mktemp("demo"))
    t0 = time.perf_counter()
    out = check(snakemake(wd, *RUN))
    print(f"demo campaign (reduced sweeps): {time.perf_counter() - t0:.0f} s")
    assert "6 spectra, 0 failed" in out, out[-3000:]
    return wd
