"""Bayesian integration (issue 4): joint free energy against the closed form, the verdict on
synthetic two-measurement data, tie errors, and the outputs of `bayespec integrate`.

Tolerances are 3 standard errors of the engine's own estimators (batch-means SE for free
energies, sd / sqrt(ESS) for posterior moments), with the SE itself bounded so a test can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayespec.errors import ConfigError
from bayespec.inference.freeenergy import free_energy, stepping_stone_se
from bayespec.inference.integrate import integrate, joint_wbic, parse_group_config
from bayespec.io.spectrum import Spectrum
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior
from bayespec.models.ties import parse_tie
from bayespec.sampling.joint import build_joint, joint_ladder, run_joint_many

Z = 3.0


def ess(draws: np.ndarray) -> float:
    """Bulk ESS of (chain, draw) draws (ArviZ); a 1-D array is one chain."""
    import arviz_stats

    a = np.atleast_2d(np.asarray(draws, dtype=float))
    return float(arviz_stats.ess(a, chain_axis=0, draw_axis=1))


# ============================================================ Gaussian linear, closed form

def test_joint_linear_matches_closed_form():
    """y_A = a0 + s x + e (sd 0.1), y_B = b0 + s x + e (sd 0.3), shared slope s: with
    w ~ N(m0, S0), S_N^-1 = S0^-1 + sum_m X_m^T X_m / s_m^2 (DESIGN.md section 3 summed over
    the data sets); F and the posterior mean and sd of (a0, s, b0) must match."""
    rng = np.random.default_rng(5)
    xa, xb = np.linspace(-1, 1, 40), np.linspace(0, 2, 30)
    sa, sb = 0.1, 0.3
    ya = 0.5 + 1.5 * xa + sa * rng.standard_normal(xa.size)
    yb = -0.3 + 1.5 * xb + sb * rng.standard_normal(xb.size)
    spec = [(0.0, 3.0), (0.5, 2.0)]
    pri = {"background": [parse_prior({"dist": "normal", "mean": m, "sd": s}, f"b{j}")
                          for j, (m, s) in enumerate(spec)]}
    pa = build_problem(xa, ya, None, "gaussian", 0, "linear", None, pri)
    pb = build_problem(xb, yb, None, "gaussian", 0, "linear", None, pri)
    tie = parse_tie("B.background[1] = A.background[1]", "test")
    model = build_joint(["A", "B"], [pa, pb], [1 / sa ** 2, 1 / sb ** 2], [tie], {}, "test")
    assert model.free_names == ("A.background[c0]", "A.background[c1]", "B.background[c0]")
    betas = joint_ladder(model, 16, 1.5, True, 0)
    assert betas[-1] == 1.0
    outs = run_joint_many(model, betas, 500, 3000, 5, 4, 0, 2)
    ne = np.stack([o.ne for o in outs])
    log_z, se = stepping_stone_se(ne, betas)
    F = free_energy(betas, log_z, model.n, model.sum_log_w)[-1]

    XA = np.stack([np.ones_like(xa), xa, np.zeros_like(xa)], 1)
    XB = np.stack([np.zeros_like(xb), xb, np.ones_like(xb)], 1)
    m0 = np.array([0.0, 0.5, 0.0])
    S0 = np.diag([9.0, 4.0, 9.0])
    S0i = np.linalg.inv(S0)
    SNi = S0i + XA.T @ XA / sa ** 2 + XB.T @ XB / sb ** 2
    SN = np.linalg.inv(SNi)
    mN = SN @ (S0i @ m0 + XA.T @ ya / sa ** 2 + XB.T @ yb / sb ** 2)
    yy = ya @ ya / sa ** 2 + yb @ yb / sb ** 2
    F_exact = (0.5 * xa.size * np.log(2 * np.pi * sa ** 2) + 0.5 * xb.size
               * np.log(2 * np.pi * sb ** 2) + 0.5 * np.linalg.slogdet(S0)[1]
               - 0.5 * np.linalg.slogdet(SN)[1] + 0.5 * (yy + m0 @ S0i @ m0 - mN @ SNi @ mN))
    assert 0 < se[-1] < 0.2, se[-1]
    assert abs(F - F_exact) < Z * se[-1], (F, F_exact, se[-1])
    # WBIC (Watanabe 2013): the mean of -log p(D | w) at beta_W = 1 / log n, in closed form
    bw = 1.0 / np.log(xa.size + xb.size)
    Sw = np.linalg.inv(S0i + bw * (XA.T @ XA / sa ** 2 + XB.T @ XB / sb ** 2))
    mw = Sw @ (S0i @ m0 + bw * (XA.T @ ya / sa ** 2 + XB.T @ yb / sb ** 2))
    ra, rb = ya - XA @ mw, yb - XB @ mw
    W_exact = (0.5 * xa.size * np.log(2 * np.pi * sa ** 2)
               + 0.5 * xb.size * np.log(2 * np.pi * sb ** 2)
               + 0.5 * (ra @ ra / sa ** 2 + rb @ rb / sb ** 2)
               + 0.5 * np.trace((XA.T @ XA / sa ** 2 + XB.T @ XB / sb ** 2) @ Sw))
    w_ic, w_se = joint_wbic(model, betas, ne)
    assert 0 < w_se < 0.2 and abs(w_ic - W_exact) < Z * w_se, (w_ic, W_exact, w_se)

    draws = np.stack([o.theta[-1] for o in outs])  # (C, D, 3) at beta = 1
    for j in range(3):
        d = draws[..., j]
        m, s = float(d.mean()), float(d.std())
        true_sd = float(np.sqrt(SN[j, j]))
        se_m = true_sd / np.sqrt(ess(d))
        se_s = true_sd / np.sqrt(2 * ess((d - m) ** 2))
        assert abs(m - mN[j]) < Z * se_m, (j, m, mN[j], se_m)
        assert abs(s - true_sd) < Z * se_s, (j, s, true_sd, se_s)


# ============================================================ two-measurement peak data

X = np.linspace(0.0, 3.0, 151)
PRIORS = {"amplitude": {"dist": "gamma", "shape": 2, "rate": 1},
          "center": {"dist": "uniform", "low": 0, "high": 3},
          "width": {"dist": "lognormal", "mu": -2.3, "sigma": 0.5},
          "background": {"dist": "normal", "mean": 0, "sd": 1}}
SAMPLER = {"replicas": 16, "burn_in": 300, "sweeps": 1000, "chains": 4, "threads": 2,
           "thin": 5, "seed": 3}


def _peaks(params, bg, sd, seed):
    rng = np.random.default_rng(seed)
    y = np.full_like(X, bg)
    for a, c, w in params:
        y += a * np.exp(-(X - c) ** 2 / (2 * w ** 2))
    return Spectrum(X.copy(), y + sd * rng.standard_normal(X.size), None, f"synthetic{seed}")


def _group(spec_a, spec_b, ties, offsets=None, K=(2,)):
    model = {"shape": "gaussian", "K": list(K), "background": {"kind": "polynomial",
                                                                 "degree": 0}}
    d = {"datasets": {"A": {"model": model, "priors": PRIORS, "noise": {"estimate": True}},
                      "B": {"model": model, "priors": PRIORS, "noise": {"sd": 0.05}}},
         "ties": ties, "offsets": offsets or {}, "sampler": SAMPLER}
    return parse_group_config(d, "GROUP.yaml", spectra={"A": spec_a, "B": spec_b})


SHARED_TIES = ["B.center[0] = A.center[0]", "B.center[1] = A.center[1]"]


def _interval(v):
    lo, hi = np.quantile(np.ravel(v), [0.025, 0.975])
    return hi - lo


@pytest.fixture(scope="module")
def shared_result():
    a = _peaks([(1.0, 1.2, 0.10), (0.7, 1.8, 0.12)], 0.1, 0.05, 11)
    b = _peaks([(0.8, 1.2, 0.12), (1.0, 1.8, 0.10)], 0.2, 0.05, 12)
    return integrate(_group(a, b, SHARED_TIES))


def test_shared_centers_joint_wins_and_narrows(shared_result):
    res = shared_result
    t = res.table.set_index("model")
    print("\nshared centers:\n", res.table.to_string())
    d, dse = t.loc["joint", "delta"], t.loc["joint", "delta_se"]
    assert 0 < t.loc["joint", "free_energy_se"] < 0.5 and 0 < t.loc["separate",
                                                                     "free_energy_se"] < 0.5
    assert d < -Z * dse, (d, dse)
    assert t.loc["joint", "verdict"] == "joint"
    from bayespec.inference.integrate import joint_posterior

    post = joint_posterior(res.joint[res.best])
    for k in range(2):
        joint_w = _interval(post["A_center"][..., k])
        assert np.allclose(post["A_center"][..., k], post["B_center"][..., k])
        for name in ("A", "B"):
            sep = res.separate[name][0].posterior["center"][..., k]
            assert joint_w < _interval(sep), (k, name, joint_w, _interval(sep))
    # the noise of A was estimated by its own fit, B's was fixed; both recorded
    assert "A=" in t.loc["joint", "noise_sd"] and "(estimated)" in t.loc["joint", "noise_sd"]
    assert "B=0.05 (fixed" in t.loc["joint", "noise_sd"]


def test_different_centers_separate_wins():
    a = _peaks([(1.0, 1.2, 0.10), (0.7, 1.8, 0.12)], 0.1, 0.05, 21)
    b = _peaks([(0.8, 0.7, 0.12), (1.0, 2.3, 0.10)], 0.2, 0.05, 22)  # 5 widths away
    res = integrate(_group(a, b, SHARED_TIES))
    t = res.table.set_index("model")
    print("\ndifferent centers:\n", res.table.to_string())
    assert 0 < t.loc["separate", "free_energy_se"] < 0.5
    assert t.loc["joint", "delta"] > Z * t.loc["joint", "delta_se"]
    assert t.loc["joint", "verdict"] == "separate"


def test_no_ties_joint_equals_sum_of_separate():
    """Without ties the joint evidence factorises: F_joint = F_A(b_A) + F_B(b_B). The joint
    kernel keeps centers ordered (prior renormalised on the ordered region), the separate fits
    are unordered: agreement within 3 SE shows both use the same convention (no log K! gap,
    which here would be 2 log 2! = 1.39 nats)."""
    a = _peaks([(1.0, 1.2, 0.10), (0.7, 1.8, 0.12)], 0.1, 0.05, 31)
    b = _peaks([(0.8, 1.0, 0.12), (1.0, 2.0, 0.10)], 0.2, 0.05, 32)
    res = integrate(_group(a, b, []))
    t = res.table.set_index("model")
    print("\nno ties:\n", res.table.to_string())
    d, dse = t.loc["joint", "delta"], t.loc["joint", "delta_se"]
    assert 0 < dse < 0.4, dse
    assert abs(d) < Z * dse, (d, dse)


def test_outputs_written(shared_result, tmp_path):
    """integration.csv (rows joint, separate), a joint store ArviZ opens with one
    observed_data entry per data set, the separate stores, the figure."""
    import arviz_stats
    import xarray as xr

    from bayespec.inference.integrate_output import write_integration

    path = write_integration(shared_result, tmp_path)
    df = pd.read_csv(path)
    assert list(df.columns[:3]) == ["model", "free_energy", "free_energy_se"]
    assert df["model"].tolist() == ["joint", "separate"]
    tree = xr.open_datatree(tmp_path / "joint" / "K2-2.zarr", engine="zarr")
    idata = tree  # ArviZ >= 1 works on the DataTree itself (no InferenceData)
    assert set(idata.observed_data.data_vars) == {"A", "B"}
    assert idata.posterior["A_center"].dims == ("chain", "draw", "A_peak")
    assert len(arviz_stats.summary(idata, var_names=["A_center"], kind="stats")) == 2
    assert tree.attrs["complete"] is True
    for name in ("A", "B"):
        assert (tmp_path / "separate" / name / "K2.zarr").is_dir()
        assert (tmp_path / "separate" / name / "model_selection.csv").is_file()
    assert (tmp_path / "integration.png").is_file()


# ============================================================ tie errors

def _bad(ties, offsets=None, K=(2,)):
    a = _peaks([(1.0, 1.2, 0.1)], 0.0, 0.05, 1)
    with pytest.raises(ConfigError) as e:
        _group(a, a, ties, offsets, K)
    msg = str(e.value)
    assert msg.startswith("GROUP.yaml"), msg
    return msg


@pytest.mark.parametrize("ties, offsets, needle", [
    (["B.eta[0] = A.eta[0]"], None, "does not exist"),            # gaussian has no eta
    (["B.center[0] = A.wdth[0]"], None, "unknown parameter 'wdth'"),
    (["B.center[2] = A.center[0]"], None, "beyond K = 2"),
    (["C.center[0] = A.center[0]"], None, "data set 'C' is not in the group"),
    (["B.center[0] = A.center[0]", "A.center[0] = B.center[0]"], None, "cycle"),
    (["B.center[0] = A.center[0]", "B.center[0] = A.center[1]"], None, "left of two ties"),
    (["B.center[0] = A.center[0] + shift"], None, "offset 'shift' has no prior"),
    (["B.width[0] = A.width[0] + 0.1"], None, "must stay positive"),
    (["B.center[0] = A.center[0]"], {"unused": {"dist": "normal", "mean": 0, "sd": 1}},
     "used by no tie"),
    (["B.center[0] = import os"], None, "tie 'B.center[0] = import os'"),
])
def test_tie_errors(ties, offsets, needle):
    msg = _bad(ties, offsets)
    assert needle in msg, msg


def test_tie_cycle_of_three():
    msg = _bad(["B.center[0] = A.center[0]", "A.center[0] = A.center[1]",
                "A.center[1] = B.center[0]"])
    assert "cycle" in msg and "B.center[0] = A.center[0]" in msg, msg


def test_index_beyond_K_in_any_combination():
    msg = _bad(["B.center[1] = A.center[1]"], K=(1, 2))
    assert "beyond K = 1" in msg, msg


def test_cli_reports_bad_group_file(tmp_path, capsys):
    """`bayespec integrate` reads data paths relative to GROUP.yaml and exits 2 with the
    one-line cause for a bad tie (before any sampling)."""
    from bayespec.cli import main

    spec = _peaks([(1.0, 1.2, 0.1)], 0.0, 0.05, 1)
    (tmp_path / "d").mkdir()
    np.savetxt(tmp_path / "d" / "a.csv", np.c_[spec.x, spec.y], delimiter=",")
    group = tmp_path / "GROUP.yaml"
    group.write_text("datasets:\n"
                     "  A: {data: d/a.csv, model: {K: [1]}}\n"
                     "  B: {data: d/a.csv, model: {K: [1]}}\n"
                     "ties: ['B.center[0] = A.center[0] + drift']\n")
    assert main(["integrate", str(group), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{group}: ties[0]" in err or f"{group}: tie" in err, err
    assert "offset 'drift' has no prior" in err, err
    group.write_text(group.read_text().replace("d/a.csv", "d/missing.csv")
                     .replace(" + drift", ""))
    assert main(["integrate", str(group), "--out", str(tmp_path / "out")]) == 2
    assert "missing.csv: file not found" in capsys.readouterr().err
    assert not (tmp_path / "out" / "integration.csv").exists()


def test_group_reads_rows_of_a_nexus_stack(tmp_path):
    """A data set's `read` block passes reader options (here `index`: one row of a NeXus
    stack, the time-resolved case); an unknown option is named with its key path."""
    from bayespec.inference.integrate import _spectrum, load_group_config
    from test_readers import write_nexus

    specs = [_peaks([(1.0, 1.2 + 0.01 * i, 0.1)], 0.0, 0.05, i) for i in range(3)]
    write_nexus(tmp_path / "series.nxs", np.stack([s.y for s in specs]), specs[0].x)
    group = tmp_path / "GROUP.yaml"
    group.write_text("datasets:\n"
                     "  A: {data: series.nxs, read: {index: 0}, model: {K: [1]}}\n"
                     "  B: {data: series.nxs, read: {index: 2}, model: {K: [1]}}\n"
                     "ties: ['B.center[0] = A.center[0]']\n")
    cfg = load_group_config(group)
    for ds, i in zip(cfg.datasets, (0, 2)):
        np.testing.assert_array_equal(_spectrum(ds).y, specs[i].y)
    assert cfg.raw["datasets"]["B"]["read"] == {"index": 2}
    group.write_text(group.read_text().replace("read: {index: 2}", "read: {row: 2}"))
    with pytest.raises(ConfigError, match=r"datasets\.B\.read\.row: unknown key.*index"):
        load_group_config(group)

def test_incremental_energy_matches_recomputation_and_is_reproducible():
    """Every tie form at once (offset, constant, factor, equal, background; one offset moving
    two peaks of B): the energy the kernel tracks incrementally equals a from-scratch
    evaluation of the recorded draws, centers stay ordered, and the numbers do not depend on
    the thread count."""
    a = _peaks([(1.0, 1.0, 0.10), (0.7, 1.8, 0.12)], 0.1, 0.05, 41)
    b = _peaks([(0.8, 1.05, 0.12), (0.5, 1.85, 0.10)], 0.2, 0.05, 42)
    pri = {k: parse_prior(v, k, positive=k in ("amplitude", "width")) for k, v in PRIORS.items()}
    probs = [build_problem(s.x, s.y, None, "gaussian", 2, "linear", None, pri) for s in (a, b)]
    ties = [parse_tie(t, "test") for t in (
        "B.center[0] = A.center[0] + shift", "B.center[1] = A.center[1] + shift",
        "B.amplitude[1] = 0.75 * A.amplitude[1]", "B.width[0] = A.width[0]",
        "B.background[1] = A.background[1] - 0.01")]
    shift = {"shift": parse_prior({"dist": "normal", "mean": 0, "sd": 0.1}, "shift")}
    model = build_joint(["A", "B"], probs, [400.0, 400.0], ties, shift, "test")
    betas = joint_ladder(model, 8, 2.0, False, 0)
    one = run_joint_many(model, betas, 50, 200, 1, 2, 7, threads=1)
    two = run_joint_many(model, betas, 50, 200, 1, 2, 7, threads=2)
    for c1, c2 in zip(one, two):
        assert np.array_equal(c1.ne, c2.ne) and np.array_equal(c1.theta, c2.theta)
    for c in one:
        for l in (0, len(betas) // 2, len(betas) - 1):
            exact = model.energy(c.theta[l])
            np.testing.assert_allclose(c.ne[l], exact, rtol=1e-8, atol=1e-8)
            assert model.ordered(c.theta[l]).all()
    loc = model.locals(one[0].theta[-1])
    sh = one[0].theta[-1][:, model.free_names.index("shift")]
    qa, qb = model.base[0], model.base[1]
    np.testing.assert_allclose(loc[:, qb + 1], loc[:, qa + 1] + sh)      # B.center[0]
    np.testing.assert_allclose(loc[:, qb + 3], 0.75 * loc[:, qa + 3])    # B.amplitude[1]
    np.testing.assert_allclose(loc[:, qb + 7], loc[:, qa + 7] - 0.01)    # B.background[1]
