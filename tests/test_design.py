"""Experiment design (`bayespec design`, inference/design.py) against the closed form.

The Gaussian linear case of issue 14: y = c0 + c1 x (the truth) against y = c1 x, known noise,
normal priors. Both free energies have the closed form of DESIGN.md section 3 on every
replicate's simulated data, so the engine's F of each model, the difference dF and the selected
model are checked replicate by replicate, in units of the engine's own SEs. The 24 F and 12 dF
comparisons share one tolerance with a family-wise error of 1 % (Bonferroni: the normal
quantile of 1 - 0.01 / (2 * 36), 3.45 SE), so the test fails when the engine is off, not when
one of many fair comparisons lands at 3.1 SE. Plus the files, the seeds and the errors of a
bad DESIGN.yaml.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from bayespec.cli.main import main
from bayespec.errors import ConfigError
from bayespec.inference.design import crossing, parse_design, run_design, simulate, true_curve
from scipy import stats

from test_oracles import Z, linear_closed_form

Z_FAMILY = float(stats.norm.isf(0.01 / (2 * 36)))  # 36 comparisons, family-wise 1 %

SAMPLER = {"burn_in": 500, "sweeps": 2000, "chains": 4, "threads": 2}
PRIOR = {"dist": "normal", "mean": 0, "sd": 3}
DESIGN = {
    "models": {
        "line": {"model": {"K": [0], "background": {"kind": "linear"}},
                 "priors": {"background": [PRIOR, PRIOR]}, "noise": {"sd": 1.0},
                 "sampler": SAMPLER},
        "origin": {"model": {"K": [0], "background": {"kind": "linear"}},
                   "priors": {"background": [{"dist": "fixed", "value": 0}, PRIOR]},
                   "noise": {"sd": 1.0}, "sampler": SAMPLER}},
    "truth": {"model": "line", "K": 0, "params": {"background": [0.3, 1.0]}},
    "axis": {"start": 0, "stop": 1, "num": 30},
    "levels": {"noise_sd": [0.05, 0.15, 0.5]},
    "replicates": 4, "seed": 3}


@pytest.fixture(scope="module")
def linear_design():
    cfg = parse_design(DESIGN, "design.yaml")
    return cfg, run_design(cfg, progress=False)


def test_free_energies_match_the_closed_form(linear_design):
    cfg, res = linear_design
    x = cfg.x
    X = {"line": np.c_[np.ones_like(x), x], "origin": x[:, None]}
    m0 = {"line": np.zeros(2), "origin": np.zeros(1)}
    S0 = {"line": 9.0 * np.eye(2), "origin": 9.0 * np.eye(1)}
    rec = res.records
    assert len(rec) == 3 * 4 * 2
    for (level, r), g in rec.groupby(["level", "replicate"]):
        i = cfg.levels.index(level)
        y = simulate(cfg, i, r)
        exact = {m: linear_closed_form(X[m], y, level, m0[m], S0[m])[0] for m in X}
        g = g.set_index("model")
        for m in X:
            f, se = g.loc[m, "free_energy"], g.loc[m, "free_energy_se"]
            assert abs(f - exact[m]) < Z_FAMILY * se, (level, r, m, f, exact[m])
        d_exact = exact["line"] - exact["origin"]
        d = g.loc["line", "free_energy"] - g.loc["origin", "free_energy"]
        se = np.hypot(g.loc["line", "free_energy_se"], g.loc["origin", "free_energy_se"])
        assert abs(d - d_exact) < Z_FAMILY * se
        if abs(d_exact) > Z * se:  # a clear case: the engine selects what the closed form does
            assert bool(g.loc["line", "selected"]) == (d_exact < 0)
    s = res.summary.set_index("level")
    # 0.05: the offset 0.3 is obvious; 0.5: the Occam factor favours the simpler line
    assert s.loc[0.05, "p_select_true"] == 1.0 and s.loc[0.5, "p_true_mean"] < 0.5
    assert list(s.index) == [0.05, 0.15, 0.5]


def test_true_curve_and_seeds(linear_design):
    cfg, _ = linear_design
    np.testing.assert_allclose(true_curve(cfg), 0.3 + cfg.x, rtol=1e-12)
    a = simulate(cfg, 1, 2)
    assert np.array_equal(a, simulate(cfg, 1, 2)) and not np.array_equal(a, simulate(cfg, 1, 3))
    # a replicate's data do not depend on the other levels
    other = parse_design({**DESIGN, "levels": {"noise_sd": [0.05, 0.15]}}, "d")
    assert np.array_equal(simulate(other, 1, 2), a)


def test_crossing_is_log_interpolated():
    cfg = parse_design(DESIGN, "d")
    s = pd.DataFrame({"level": [0.05, 0.15, 0.5], "p_select_true": [1.0, 0.9, 0.2]})
    c = crossing(s, cfg)  # from 0.15 (0.9) to 0.05 (1.0): 0.95 half way in log
    assert c == pytest.approx(np.sqrt(0.05 * 0.15))
    assert crossing(s.assign(p_select_true=[0.5, 0.4, 0.1]), cfg) is None


def test_cli_writes_the_tables_and_the_figure(tmp_path):
    import yaml

    d = copy.deepcopy(DESIGN)
    d["levels"] = {"noise_sd": [0.05, 0.5]}
    d["replicates"] = 2
    for m in d["models"].values():
        m["sampler"] = {"burn_in": 200, "sweeps": 400, "chains": 2, "threads": 1}
    (tmp_path / "design.yaml").write_text(yaml.safe_dump(d))
    assert main(["design", str(tmp_path / "design.yaml"), "--out", str(tmp_path / "o"),
                 "--no-progress"]) == 0
    for f in ("design_summary.csv", "design_records.csv", "design.json", "design.png",
              "design.pdf"):
        assert (tmp_path / "o" / f).stat().st_size > 0, f
    s = pd.read_csv(tmp_path / "o" / "design_summary.csv")
    assert list(s["level"]) == [0.05, 0.5] and set(s["replicates"]) == {2}


def test_peak_design_reports_widths_and_coverage():
    """A one-peak truth against K = 2: interval widths and coverage columns per true line."""
    d = {"models": {"peaks": {
        "model": {"shape": "gaussian", "K": [1, 2], "background": {"kind": "none"}},
        "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 5},
                   "center": {"dist": "uniform", "low": 0, "high": 3},
                   "width": {"dist": "lognormal", "mu": -2.0, "sigma": 0.5}},
        "noise": {"sd": 0.1}, "sampler": {"burn_in": 300, "sweeps": 600, "chains": 2,
                                          "threads": 2}}},
        "truth": {"K": 1, "params": {"amplitude": [1.0], "center": [1.5], "width": [0.15]}},
        "axis": {"start": 0, "stop": 3, "num": 121}, "levels": {"noise_sd": [0.05, 0.2]},
        "replicates": 2, "seed": 1, "report": {"quantities": ["center", "area"]}}
    res = run_design(parse_design(d, "d"), progress=False)
    s = res.summary.set_index("level")
    assert {"width_peak1_center", "covered_peak1_center", "width_peak1_area"} <= set(s.columns)
    assert s.loc[0.05, "width_peak1_center"] < s.loc[0.2, "width_peak1_center"]
    assert s.loc[0.05, "p_select_true"] == 1.0


@pytest.mark.parametrize("change,match", [
    (lambda d: d.update(extra=1), "unknown key"),
    (lambda d: d["truth"].update(K=3), "truth.K: 3 is not a candidate"),
    (lambda d: d["truth"].pop("model"), "truth.model: required with several models"),
    (lambda d: d.update(levels={"noise_sd": [0.1, -1]}), r"levels.noise_sd\[1\]"),
    (lambda d: d.update(levels={"counting_time": [1.0]}), "likelihood gaussian does not go"),
    (lambda d: d.update(axis={"start": 1, "stop": 0, "num": 5}), "stop"),
    (lambda d: d["truth"].update(params={"background": [0.3]}), r"no value for background\[c1\]"),
    (lambda d: d["truth"].update(params={"background": [0.3, 1.0], "center": [1.0]}),
     r"center\[0\] not in candidate"),
])
def test_bad_design_files_name_the_key(change, match):
    d = copy.deepcopy(DESIGN)
    change(d)
    with pytest.raises(ConfigError, match=match):
        cfg = parse_design(d, "design.yaml")
        true_curve(cfg)


def test_counting_time_design_with_poisson_counts():
    """Counts ~ Poisson(t * f): a line on a flat level is found more surely, and its position
    more narrowly, the longer one counts."""
    d = {"models": {"xps": {
        "model": {"shape": "gaussian", "K": [0, 1], "background": {"kind": "constant"},
                  "likelihood": "poisson"},
        "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 400},
                   "center": {"dist": "uniform", "low": 0, "high": 10},
                   "width": {"dist": "lognormal", "mu": -0.7, "sigma": 0.5},
                   "background": [{"dist": "uniform", "low": 0, "high": 400}]},
        "sampler": {"burn_in": 300, "sweeps": 600, "chains": 2, "threads": 2}}},
        "truth": {"K": 1, "params": {"amplitude": [5.0], "center": [5.0], "width": [0.5],
                                     "background": [10.0]}},
        "axis": {"start": 0, "stop": 10, "num": 101},
        "levels": {"counting_time": [0.05, 10.0]}, "replicates": 2, "seed": 2}
    cfg = parse_design(d, "d")
    y = simulate(cfg, 1, 0)
    assert np.array_equal(y, np.round(y)) and y.min() >= 0  # counts
    res = run_design(cfg, progress=False)
    s = res.summary.set_index("level")
    assert s.loc[10.0, "p_select_true"] == 1.0 and s.loc[10.0, "p_true_mean"] > 0.99
    assert s.loc[0.05, "p_true_mean"] < s.loc[10.0, "p_true_mean"]
    assert s.loc[10.0, "width_peak1_center"] < 0.5


def test_wilson_interval():
    """Against the closed form for p = 0 (upper end z^2 / (n + z^2)) and its symmetry."""
    from bayespec.inference.design import wilson

    z = 1.959963984540054
    assert wilson(0.0, 10) == (0.0, pytest.approx(z * z / (10 + z * z)))
    lo, hi = wilson(0.3, 20)
    lo2, hi2 = wilson(0.7, 20)
    assert lo == pytest.approx(1 - hi2) and hi == pytest.approx(1 - lo2) and lo < 0.3 < hi
