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


# generated example files are compared to 1e-12 relative: numpy's vectorised exp / sin differ
# in the last bit between CPUs (AVX-512 or not), which the shortest float repr then shows
FILE_RTOL = 1e-12


def _token_equal(a: str, b: str, rtol: float) -> bool:
    if a == b:
        return True
    try:
        return bool(np.isclose(float(a), float(b), rtol=rtol, atol=0.0))
    except ValueError:
        return False


def assert_same_text_numbers(ours: str, theirs: str, name: str, rtol: float = FILE_RTOL) -> None:
    """Two text files agree line by line: every token equal, or both numbers within rtol."""
    a, b = ours.splitlines(), theirs.splitlines()
    assert len(a) == len(b), f"{name}: {len(a)} lines, expected {len(b)}"
    for i, (la, lb) in enumerate(zip(a, b), 1):
        ta, tb = la.replace(",", " ").split(), lb.replace(",", " ").split()
        ok = len(ta) == len(tb) and all(_token_equal(u, v, rtol) for u, v in zip(ta, tb))
        assert ok, f"{name}: line {i} differs: {la!r} != {lb!r}"


def assert_same_hdf5(ours: Path, theirs: Path, rtol: float = FILE_RTOL) -> None:
    """Two HDF5 files hold the same groups, attributes and datasets (numbers within rtol)."""
    import h5py

    def items(path):
        out = {}
        with h5py.File(path, "r") as f:
            def visit(key, obj):
                attrs = {k: np.asarray(v).tolist() for k, v in obj.attrs.items()}
                data = obj[()] if isinstance(obj, h5py.Dataset) else None
                out[key] = (attrs, data)
            f.visititems(visit)
            out["/"] = ({k: np.asarray(v).tolist() for k, v in f.attrs.items()}, None)
        return out

    a, b = items(ours), items(theirs)
    assert sorted(a) == sorted(b), f"{ours.name}: objects {sorted(a)} != {sorted(b)}"
    for key in a:
        (aa, da), (ab, db) = a[key], b[key]
        assert aa == ab, f"{ours.name}: {key}: attributes differ"
        if da is None:
            continue
        da, db = np.asarray(da), np.asarray(db)
        if da.dtype.kind in "fc":
            assert da.shape == db.shape and np.allclose(da, db, rtol=rtol, atol=0.0), \
                f"{ours.name}: {key} differs"
        else:
            assert np.array_equal(da, db), f"{ours.name}: {key} differs"


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
