"""Warm starts (inference/warm.py): a fit started from another fit's posterior draws gives the
cold start's numbers within their error bars, with a shorter burn-in; it starts where told;
mismatched draws are refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bayespec.errors import ConfigError
from bayespec.inference.fit import FitSettings, fit_problems
from bayespec.inference.summary import pack_draws
from bayespec.inference.warm import warm_start, with_start
from bayespec.io.store import write_fit
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior
from bayespec.sampling.sampler import geometric_ladder, start_chain
from test_campaign import spectrum_file  # noqa: F401 (a fixture)
from test_oracles import Z

PRIORS = {"amplitude": parse_prior({"dist": "uniform", "low": 0, "high": 3}, "a"),
          "center": parse_prior({"dist": "uniform", "low": 0, "high": 3}, "c"),
          "width": parse_prior({"dist": "lognormal", "mu": -2.3, "sigma": 0.5}, "w")}


def _frame(shift: float, grow: float, seed: int):
    x = np.linspace(0, 3, 201)
    f = (1.0 * np.exp(-0.5 * ((x - 1.0 - shift) / 0.1) ** 2)
         + (0.6 + grow) * np.exp(-0.5 * ((x - 1.8) / 0.12) ** 2))
    y = f + 0.05 * np.random.default_rng(seed).standard_normal(x.size)
    return build_problem(x, y, None, "gaussian", 2, "none", None, PRIORS)


def _mean_and_mcse(draws: np.ndarray) -> tuple[float, float]:
    """Mean of (C, D) draws and its batch-means SE (5 batches per chain)."""
    C, D = draws.shape
    b = draws[:, : D - D % 5].reshape(C * 5, -1).mean(axis=1)
    return float(draws.mean()), float(b.std(ddof=1) / np.sqrt(b.size))


def test_warm_start_equals_cold_within_errors(tmp_path):
    s = FitSettings(noise_sd=0.05, burn_in=1000, sweeps=3000, chains=4, thin=2, seed=11,
                    threads=2, target_se=None)
    prev, = fit_problems([_frame(0.0, 0.0, 1)], s)
    store = tmp_path / "K2.zarr"
    write_fit(store, prev)
    here = _frame(0.04, 0.2, 2)  # the next frame: the first line moved, the second grew
    cold, = fit_problems([here], s)
    warm_prob = warm_start(here, store)
    assert warm_prob.start.shape == (4 * 3000 // 2, 6)
    np.testing.assert_array_equal(warm_prob.start, pack_draws(here, prev))
    warm, = fit_problems([warm_prob], dataclasses.replace(s, burn_in=200))
    se = np.hypot(cold.free_energy_se, warm.free_energy_se)
    assert abs(warm.free_energy - cold.free_energy) < Z * se, (warm.free_energy,
                                                               cold.free_energy, se)
    for k in range(2):
        mc, ec = _mean_and_mcse(cold.posterior["center"][..., k])
        mw, ew = _mean_and_mcse(warm.posterior["center"][..., k])
        assert abs(mc - mw) < Z * np.hypot(ec, ew), (k, mc, mw)
    assert not np.array_equal(warm.posterior["center"], cold.posterior["center"])


def test_chains_start_from_the_given_draws():
    prob = _frame(0.0, 0.0, 1)
    start = np.array([[1.0, 1.0, 0.1, 0.6, 1.8, 0.12], [0.9, 1.02, 0.11, 0.5, 1.79, 0.13]])
    betas = geometric_ladder(400.0, 8, 2.0)
    cs = start_chain(with_start(prob, start), betas, 10, 1, 3, 0)
    logsp = [p.positive for p in prob.priors]  # positive priors are sampled in log space
    u = np.where(logsp, np.exp(cs.u), cs.u)
    assert all(any(np.allclose(row, s) for s in start) for row in u)
    # the same seed picks the same rows: a frame's numbers depend on its own seed only
    again = start_chain(with_start(prob, start), betas, 10, 1, 3, 0)
    np.testing.assert_array_equal(cs.u, again.u)


def test_mismatched_draws_are_refused():
    prob = _frame(0.0, 0.0, 1)
    with pytest.raises(ConfigError, match="do not fit the model's 6 parameters"):
        with_start(prob, np.zeros((5, 3)))
    with pytest.raises(ConfigError, match="no draw lies inside the priors' support"):
        with_start(prob, np.full((5, 6), -1.0))
    kept = with_start(prob, np.array([[1.0, 1.0, 0.1, 0.6, 1.8, 0.12], [-1.0] * 6]))
    assert kept.start.shape == (1, 6)


def test_campaign_fit_job_warm_starts_from_the_previous_frame(tmp_path, spectrum_file):
    """The fit stage with warm=(previous store, burn-in): the store records its source and the
    burn-in used, and its F agrees with the cold fit's; a failed previous frame: cold start."""
    import xarray as xr

    from bayespec.workflow import campaign

    R = tmp_path / "r"
    params = {"spectrum": "s", "x_units": "eV", "y_units": "counts", "metadata": {"id": "s"}}
    assert campaign.ingest(spectrum_file, R / "i.zarr", params) == "ok"
    pp = {"spectrum": "s", "roi_min": 0.5, "roi_max": 2.5, "bin": 1, "normalise": "none"}
    assert campaign.preprocess(R / "i.zarr", R / "p.zarr", pp) == "ok"
    fit = {"model": {"shape": "gaussian", "K": [1], "background": {"kind": "constant"}},
           "priors": {"amplitude": {"dist": "gamma", "shape": 2, "rate": 1},
                      "center": {"dist": "uniform", "low": 0, "high": 3},
                      "width": {"dist": "lognormal", "mu": -1.6, "sigma": 0.5}},
           "noise": {"sd": 0.02},
           "sampler": {"burn_in": 1000, "sweeps": 3000, "replicas": 16, "seed": 4}}
    assert campaign.fit_one(R / "p.zarr", R / "a.zarr", fit, 1, threads=2, spectrum="s") == "ok"
    assert campaign.fit_one(R / "p.zarr", R / "b.zarr", fit, 1, threads=2, spectrum="s",
                            warm=(R / "a.zarr", 200)) == "ok"
    a = xr.open_datatree(R / "a.zarr", engine="zarr").attrs
    b = xr.open_datatree(R / "b.zarr", engine="zarr").attrs
    assert b["warm_start"] == str(R / "a.zarr") and "warm_start" not in a
    assert '"burn_in": 200' in b["config"]
    se = np.hypot(a["free_energy_se"], b["free_energy_se"])
    assert abs(a["free_energy"] - b["free_energy"]) < Z * se
    from bayespec.workflow import markers

    markers.write_marker(R / "bad.zarr", "error: x", spectrum="s", stage="fit", K=1)
    assert campaign.fit_one(R / "p.zarr", R / "c.zarr", fit, 1, threads=2, spectrum="s",
                            warm=(R / "bad.zarr", 200)) == "ok"
    c = xr.open_datatree(R / "c.zarr", engine="zarr").attrs
    assert "warm_start" not in c and c["free_energy"] == a["free_energy"]  # the cold numbers
