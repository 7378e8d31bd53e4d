"""Batch jobs: the plan (grouping by fit settings, manifest order, size) and fit_many, whose
stores must equal those of one fit per spectrum bit for bit, on the Numba and NumPy backends."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayespec.errors import DataError
from bayespec.workflow import batching, campaign
from bayespec.workflow.campaign import Campaign


def _campaign(ids, size, priors=None):
    import pandas as pd

    man = pd.DataFrame({"id": ids, "path": [f"results/demo_data/{i}.csv" for i in ids],
                        "priors": priors or [None] * len(ids)})
    cfg = {"manifest": "m.tsv", "batch_size": size,
           "fit": {"model": {"K": [1, 2]}, "noise": {"estimate": True}},
           "prior_sets": {"narrow": {"center": {"dist": "uniform", "low": 0, "high": 1}}},
           "demo": {"spectra": {i: {"peaks": [[1, 0.5, 0.1]], "noise_sd": 0.1} for i in ids}}}
    return Campaign.load(cfg, man)


def test_plan_groups_by_settings_in_manifest_order_and_cuts_to_size():
    c = _campaign(["a", "b", "c", "d", "e"], 2, [None, "narrow", None, None, "narrow"])
    assert batching.batch_size(c) == 2
    assert batching.plan(c) == {"a..c": ["a", "c"], "d": ["d"], "b..e": ["b", "e"]}
    assert batching.plan(_campaign(["a", "b", "c"], 5)) == {"a..c": ["a", "b", "c"]}


def test_batch_index_round_trip_and_bad_file(tmp_path):
    p = tmp_path / "b" / "x.tsv"
    batching.write_index(p, ["a", "b"], ["r/a.zarr", tmp_path / "b.zarr"],
                         ["ok", "error: bad\tline\nmore"])
    rows = batching.read_index(p)
    assert [r["spectrum"] for r in rows] == ["a", "b"]
    assert rows[1]["store"] == str(tmp_path / "b.zarr") and "\t" not in rows[1]["status"]
    (tmp_path / "junk.tsv").write_text("a\tb\n")
    with pytest.raises(DataError, match="junk.tsv: not a bayespec batch index"):
        batching.read_index(tmp_path / "junk.tsv")
    with pytest.raises(ValueError):  # one status per spectrum
        batching.write_index(p, ["a"], ["s"], [])


def _spectrum(path, seed, centre):
    x = np.linspace(0, 1, 101)
    y = np.exp(-0.5 * ((x - centre) / 0.05) ** 2) + 0.05 * np.random.default_rng(seed).standard_normal(101)
    ds = xr.Dataset({"y": ("x", y)}, coords={"x": x}, attrs={"status": "ok", "source": str(path)})
    campaign.write_dataset_atomic(ds, path)
    return path


def _raw(backend):
    return {"model": {"K": [1], "shape": "gaussian", "background": {"kind": "constant"}},
            "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 3},
                       "center": {"dist": "uniform", "low": 0, "high": 1},
                       "width": {"dist": "lognormal", "mu": -3, "sigma": 0.5},
                       "background": {"dist": "normal", "mean": 0, "sd": 1}},
            "noise": {"sd": 0.05},
            "sampler": {"burn_in": 60, "sweeps": 100, "chains": 2, "replicas": 8,
                        "backend": backend, "threads": 1}}


def _numbers(store):
    t = xr.open_datatree(store, engine="zarr")
    out = {"F": float(t.attrs["free_energy"]), "center": t["posterior"]["center"].values,
           "log_z": t["ladder"]["log_z"].values}
    t.close()
    return out


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_fit_many_equals_one_fit_per_spectrum(tmp_path, backend, monkeypatch):
    from bayespec.sampling import batched

    sizes = []
    real = batched.batch_start  # every vectorised batch starts here (run_grouped)
    monkeypatch.setattr(batched, "batch_start",
                        lambda probs, *a, **k: sizes.append(len(probs)) or real(probs, *a, **k))
    srcs = [_spectrum(tmp_path / f"s{i}.zarr", i, c) for i, c in enumerate((0.3, 0.6, 0.45))]
    bad = tmp_path / "bad.zarr"
    campaign.write_marker(bad, "error: bad.csv: line 3: not a number", spectrum="bad",
                          stage="ingest")
    raw = _raw(backend)
    outs = [tmp_path / "many" / f"s{i}" / "K1.zarr" for i in range(3)] + [tmp_path / "many" / "bad" / "K1.zarr"]
    st = campaign.fit_many(srcs + [bad], outs, [raw] * 4, 1, threads=1,
                           spectra=["s0", "s1", "s2", "bad"])
    assert st[:3] == ["ok"] * 3 and st[3].startswith("error: bad.csv: line 3")
    assert campaign.read_status(outs[3]).startswith("error:")
    if backend == "numpy":  # the three spectra share axis, model and priors: one vectorised run
        assert sizes == [3], sizes
    for i, src in enumerate(srcs):
        one = tmp_path / "one" / f"s{i}" / "K1.zarr"
        assert campaign.fit_one(src, one, raw, 1, threads=1, spectrum=f"s{i}") == "ok"
        a, b = _numbers(outs[i]), _numbers(one)
        assert a["F"] == b["F"]
        np.testing.assert_array_equal(a["center"], b["center"])
        np.testing.assert_array_equal(a["log_z"], b["log_z"])
