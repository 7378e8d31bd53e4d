"""The Python API (bayespec.fit, bayespec.integrate): the same numbers as the CLI bit for bit,
the result objects, input errors, and progress reporting that changes no number."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

import bayespec
from bayespec.api import FitResult, InputError, IntegrateResult, Progress
from bayespec.cli import main
from bayespec.errors import ConfigError, DataError
from bayespec.inference.result import KFit
from bayespec.inference.selection import COLUMNS, format_table
from bayespec.io.store import read_fit
from conftest import nagata_data

SAMPLER = {"replicas": 12, "burn_in": 200, "sweeps": 400, "chains": 2, "thin": 5,
           "threads": 2, "seed": 7}
CFG = {"model": {"shape": "gaussian_nagata", "K": [1, 2], "background": {"kind": "none"}},
       "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 3},
                  "center": {"dist": "uniform", "low": 0, "high": 3},
                  "width": {"dist": "uniform", "low": 20, "high": 300}},
       "noise": {"estimate": True},
       "sampler": SAMPLER}


def _arrays(tree) -> dict[str, np.ndarray]:
    """Every variable of every group of a fit tree, and the root's numbers."""
    out = {}
    for node in tree.subtree:
        for name, v in node.to_dataset().variables.items():
            out[f"{node.path}/{name}"] = np.asarray(v.values)
    for a in ("free_energy", "free_energy_se", "noise_sd", "target_rung", "replicas"):
        out[a] = np.asarray(tree.attrs[a])
    return out


def _same_trees(a, b) -> None:
    ra, rb = _arrays(a), _arrays(b)
    assert ra.keys() == rb.keys()
    differ = [k for k in ra if not np.array_equal(ra[k], rb[k], equal_nan=True)]
    assert not differ, differ


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    """A data file and FIT.yaml, `bayespec fit` run on them in-process, and bayespec.fit on the
    same arrays with the config as a dict."""
    d = tmp_path_factory.mktemp("api")
    x, y = nagata_data(0)
    np.savetxt(d / "d.csv", np.c_[x, y], delimiter=",", header="x,y", comments="")
    (d / "fit.yaml").write_text(yaml.safe_dump(CFG))
    assert main(["fit", str(d / "d.csv"), "--config", str(d / "fit.yaml"), "--out",
                 str(d / "cli"), "--no-progress"]) == 0
    res = bayespec.fit(x, y, CFG, progress=False)
    return d, x, y, res


def test_api_table_is_the_cli_csv_bit_for_bit(case):
    d, _, _, res = case
    assert format_table(res.table) == (d / "cli" / "model_selection.csv").read_text()
    for K in (1, 2):  # and every array of every store
        _same_trees(res.posterior(K), read_fit(d / "cli" / f"K{K}.zarr"))


def test_write_gives_the_cli_files(case, tmp_path):
    d, _, _, res = case
    path = res.write(tmp_path / "out")
    assert path == tmp_path / "out" / "model_selection.csv"
    assert path.read_text() == (d / "cli" / "model_selection.csv").read_text()
    for K in (1, 2):
        _same_trees(read_fit(tmp_path / "out" / f"K{K}.zarr"), read_fit(d / "cli" / f"K{K}.zarr"))


def test_config_as_path_and_dict_give_the_same_table(case):
    d, x, y, res = case
    again = bayespec.fit(list(x), list(y), d / "fit.yaml", progress=False)
    assert format_table(again.table) == format_table(res.table)
    pd.testing.assert_frame_equal(again.table, res.table)
    again = bayespec.fit(x, y, str(d / "fit.yaml"), progress=False)
    pd.testing.assert_frame_equal(again.table, res.table)


def test_result_object(case):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    _, x, _, res = case
    assert isinstance(res, FitResult)
    assert list(res.table.columns) == COLUMNS and res.table["K"].tolist() == [1, 2]
    assert res.K == int(res.table.loc[res.table["probability"].idxmax(), "K"]) == 2
    assert isinstance(res.best, KFit) and res.best.K == 2 and res.best is res.fits[1]
    assert res.best.noise_sd == res.table["noise_sd"].iloc[1] and res.best.predictive
    assert [f.K for f in res.fits] == [1, 2] and set(res.trees) == {1, 2}
    tree = res.posterior()
    assert {"posterior", "sample_stats", "observed_data", "ladder",
            "predictive"} <= set(tree.children)
    assert tree["posterior"]["center"].dims == ("chain", "draw", "peak")
    np.testing.assert_array_equal(tree["observed_data"]["x"].values, x)
    assert res.posterior(1).attrs["K"] == 1
    with pytest.raises(ValueError, match=r"K=5: not fitted; the fitted K are \[1, 2\]"):
        res.posterior(5)

    s = res.summary()
    assert list(s.columns) == ["peak", "quantity", "mean", "sd", "q2.5", "q50", "q97.5", "map"]
    centers = s[s.quantity == "center"]
    assert centers["peak"].tolist() == [0, 1] and (centers["q2.5"] < centers["mean"]).all()
    assert (centers["mean"] < centers["q97.5"]).all()
    noise = s[s.quantity == "noise_sd"].iloc[0]
    assert noise["mean"] == res.best.noise_sd and np.isnan(noise["sd"])
    assert len(res.summary(K=1)[lambda t: t.quantity == "center"]) == 1

    for kind in ("fit", "positions", "free_energy", "noise", "swap"):
        fig = res.plot(kind=kind)
        assert isinstance(fig, Figure), kind
    fig = res.plot()
    assert len([ln for ln in fig.axes[0].lines if ln.get_gid() == "component"]) == 3  # 2 + bg
    with pytest.raises(ValueError, match="unknown figure"):
        res.plot(kind="nope")
    text = repr(res)
    assert "selected K = 2" in text and "free_energy" in text


def test_decreasing_x_is_reversed_as_the_reader_does(case):
    _, x, y, res = case
    rev = bayespec.fit(x[::-1], y[::-1], CFG, progress=False)
    pd.testing.assert_frame_equal(rev.table, res.table)


BAD = np.linspace(0, 1, 20)


@pytest.mark.parametrize("x, y, sd, needle", [
    (np.r_[BAD[:3], np.nan, BAD[4:]], BAD, None, r"x\[3\] is nan"),
    (BAD, np.r_[BAD[:5], np.inf, BAD[6:]], None, r"y\[5\] is inf"),
    (BAD, BAD[:-1], None, "y: has 19 points but x has 20; x and y must have the same length"),
    (np.r_[BAD[:4], BAD[3], BAD[5:]], BAD, None, r"x: x\[3\] and x\[4\]: duplicated x"),
    (np.r_[BAD[:4], 0.9, BAD[5:]], BAD, None, r"x\[5\]: x = .* breaks the increasing order.*"
                                              r"sort the points by x"),
    (BAD.reshape(4, 5), BAD.reshape(4, 5), None, r"x: must be 1-D .* got shape \(4, 5\)"),
    (["a"] * 20, BAD, None, "x: cannot be read as numbers"),
    (BAD, BAD, np.r_[np.ones(19), 0.0], r"sd\[19\] = 0.0: sd must be > 0"),
    (BAD, BAD, np.ones(3), "sd: has 3 points but x has 20"),
    ([], [], None, "x: no points"),
])
def test_bad_arrays_raise_clear_errors(x, y, sd, needle):
    with pytest.raises(InputError, match=needle) as e:
        bayespec.fit(x, y, CFG, sd, progress=False)
    assert isinstance(e.value, ValueError) and isinstance(e.value, DataError)


def test_bad_config_and_sd_conflict():
    with pytest.raises(ConfigError, match="<config>: .*unknown key"):
        bayespec.fit(BAD, BAD, {"modle": {}}, progress=False)
    with pytest.raises(ConfigError, match="sd: per-point sds are given and <config> sets "
                                          "noise.sd"):
        bayespec.fit(BAD, BAD, {**CFG, "noise": {"sd": 0.1}}, np.ones(20), progress=False)
    with pytest.raises(TypeError, match="config: give a FIT.yaml mapping"):
        bayespec.fit(BAD, BAD, 3, progress=False)


# ============================================================ progress

def _every_array(res: FitResult) -> dict[str, np.ndarray]:
    out = {}
    for f in res.fits:
        for group in ("posterior", "sample_stats", "predictive"):
            for k, v in getattr(f, group).items():
                out[f"K{f.K}/{group}/{k}"] = np.asarray(v)
        for k, v in vars(f.ladder).items():
            out[f"K{f.K}/ladder/{k}"] = np.asarray(v)
        out[f"K{f.K}/acceptance"] = f.acceptance
    return out


@pytest.mark.parametrize("sampler", [
    {"burn_in": 600, "sweeps": 500},  # run_many: pieces end at 500 (in burn-in) and 1000
    {"burn_in": 300, "sweeps": 900, "target_se": 1e-9},  # the chunked driver (target_se)
], ids=["run_many", "chunked"])
def test_progress_changes_no_number(sampler, capfd):
    x, y = nagata_data(1)
    cfg = {**CFG, "sampler": {**SAMPLER, **sampler}}
    off = bayespec.fit(x, y, cfg, progress=False)
    assert capfd.readouterr().err == ""
    buf = io.StringIO()
    on = bayespec.fit(x, y, cfg, progress=Progress(interval=0, stream=buf))
    a, b = _every_array(off), _every_array(on)
    assert a.keys() == b.keys()
    assert not [k for k in a if not np.array_equal(a[k], b[k], equal_nan=True)]
    assert format_table(off.table) == format_table(on.table)
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("bayespec: fitting K=1,2: 2 chains x")
    assert lines[-1].startswith("bayespec: done: selected K = ")
    total = sampler["burn_in"] + sampler["sweeps"]
    steps = [ln for ln in lines[1:-1] if " chain " in ln]
    assert len(steps) >= 2 * 2 * 2, lines  # 2 K x 2 chains x at least 2 pieces
    assert any(f"sweep 500/{total}" in ln for ln in steps), steps
    assert "all chains 100 %" in steps[-1], steps


def test_progress_pieces_stop_at_a_pause_and_resume_exactly():
    """The chunked driver pauses chains (checkpoints, SIGTERM) with pause[0]: a chain run in
    progress pieces stops at the first multiple of 500 after it, and continuing it gives the
    state of one unsplit run."""
    from bayespec.inference.fit import FitSettings, ladder_for
    from bayespec.models.model import build_problem
    from bayespec.sampling.sampler import STATE_ARRAYS, advance, advance_reporting, start_chain

    x, y = nagata_data(0)
    prob = build_problem(x, y, None, "gaussian", 1, "linear", None, {})
    betas, _ = ladder_for(prob, FitSettings(replicas=8, extend=False, noise_sd=0.1))
    pause = np.zeros(1, dtype=np.int64)
    seen = []

    def report(done):
        seen.append(done)
        pause[0] = 1

    cs = start_chain(prob, betas, 800, 5, 0, 0)
    advance_reporting(prob, betas, 400, 5, cs, 1200, report, pause)
    assert seen == [500] and cs.sweep == 500
    pause[0] = 0
    advance_reporting(prob, betas, 400, 5, cs, 1200, seen.append, pause)
    assert seen == [500, 1000, 1200] and cs.sweep == 1200
    ref = start_chain(prob, betas, 800, 5, 0, 0)
    advance(prob, betas, 400, 5, ref, 1200)
    for name in STATE_ARRAYS:
        np.testing.assert_array_equal(getattr(cs, name), getattr(ref, name), err_msg=name)


def test_progress_on_stderr_when_asked_only(case, capfd):
    _, x, y, _ = case
    bayespec.fit(x, y, CFG)  # default: stderr is not a terminal under pytest -> quiet
    assert capfd.readouterr().err == ""
    bayespec.fit(x, y, CFG, progress=True)
    err = capfd.readouterr().err
    assert err.startswith("bayespec: fitting K=1,2") and "bayespec: done: selected K = 2" in err


def test_cli_progress_flag(case, capfd):
    d = case[0]
    args = ["fit", str(d / "d.csv"), "--config", str(d / "fit.yaml"), "--peaks", "1"]
    assert main(args + ["--out", str(d / "p1"), "--progress"]) == 0
    err = capfd.readouterr().err
    assert "bayespec: fitting K=1" in err and "bayespec: done: selected K = 1" in err
    assert main(args + ["--out", str(d / "p2")]) == 0
    err = capfd.readouterr().err  # warnings may remain (a short run's SE above target_se)
    assert "bayespec: fitting" not in err and "bayespec: done" not in err
    assert (d / "p1" / "model_selection.csv").read_text() == \
        (d / "p2" / "model_selection.csv").read_text()


def test_import_is_light_and_exposes_functions():
    code = ("import sys, bayespec; heavy = [m for m in ('numba', 'xarray', 'matplotlib', "
            "'pandas', 'numpy') if m in sys.modules]; assert not heavy, heavy; "
            "assert callable(bayespec.fit) and callable(bayespec.integrate); "
            "print(bayespec.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == bayespec.__version__
    assert bayespec.fit.__module__ == "bayespec" and "FitResult" in bayespec.fit.__doc__


# ============================================================ integrate

X = np.linspace(0.0, 3.0, 121)
GROUP_PRIORS = {"amplitude": {"dist": "gamma", "shape": 2, "rate": 1},
                "center": {"dist": "uniform", "low": 0, "high": 3},
                "width": {"dist": "lognormal", "mu": -2.3, "sigma": 0.5},
                "background": {"dist": "normal", "mean": 0, "sd": 1}}


def _peak(c, w, bg, seed):
    rng = np.random.default_rng(seed)
    return bg + np.exp(-(X - c) ** 2 / (2 * w ** 2)) + 0.05 * rng.standard_normal(X.size)


def _group(data_a, data_b):
    model = {"shape": "gaussian", "K": [1], "background": {"kind": "polynomial", "degree": 0}}
    return {"datasets": {"A": {"data": data_a, "model": model, "priors": GROUP_PRIORS,
                               "noise": {"estimate": True}},
                         "B": {"data": data_b, "model": model, "priors": GROUP_PRIORS,
                               "noise": {"sd": 0.05}}},
            "ties": ["B.center[0] = A.center[0]"],
            "sampler": {"replicas": 10, "burn_in": 200, "sweeps": 400, "chains": 2,
                        "threads": 2, "thin": 5, "seed": 2}}


@pytest.fixture(scope="module")
def group_case(tmp_path_factory):
    d = tmp_path_factory.mktemp("group")
    (d / "data").mkdir()
    ya, yb = _peak(1.2, 0.1, 0.1, 1), _peak(1.2, 0.12, 0.2, 2)
    np.savetxt(d / "data" / "a.csv", np.c_[X, ya], delimiter=",")
    np.savetxt(d / "data" / "b.csv", np.c_[X, yb], delimiter=",")
    (d / "GROUP.yaml").write_text(yaml.safe_dump(_group("data/a.csv", "data/b.csv")))
    assert main(["integrate", str(d / "GROUP.yaml"), "--out", str(d / "cli"),
                 "--no-progress"]) == 0
    res = bayespec.integrate(d / "GROUP.yaml", progress=False)
    return d, res, ya, yb


def test_integrate_api_equals_the_cli(group_case, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    d, res, ya, yb = group_case
    assert isinstance(res, IntegrateResult)
    csv = (d / "cli" / "integration.csv").read_text()
    assert res.table.to_csv(index=False, float_format="%.6g") == csv
    assert res.selection.to_csv(index=False, float_format="%.6g") == \
        (d / "cli" / "joint_selection.csv").read_text()
    assert res.verdict in ("joint", "separate", "undecided")
    assert res.verdict == pd.read_csv(d / "cli" / "integration.csv")["verdict"][0]
    assert set(res.trees) == {"K1-1"}
    tree = res.posterior()
    assert {"posterior", "sample_stats", "observed_data"} <= set(tree.children)
    np.testing.assert_array_equal(tree["posterior"]["A_center"].values,
                                  tree["posterior"]["B_center"].values)  # the tie
    assert res.posterior((1, 1)) is tree
    s = res.summary()
    assert set(s["dataset"]) == {"A", "B"}
    assert s[(s.dataset == "A") & (s.quantity == "center")]["mean"].between(1.1, 1.3).all()
    assert (s[s.quantity == "noise_sd"].set_index("dataset").loc["B", "mean"]) == 0.05
    assert isinstance(res.plot(), Figure)
    assert set(res.separate) == {"A", "B"} and res.separate["A"].table["K"].tolist() == [1]
    assert res.separate["A"].fits[0].predictive  # the dashed separate curve of the figure
    assert "verdict" in repr(res)
    # a mapping (paths relative to base) and data in memory give the same table
    grp = _group("data/a.csv", "data/b.csv")
    assert bayespec.integrate(grp, base=d, progress=False).table.equals(res.table)
    del grp["datasets"]["A"]["data"], grp["datasets"]["B"]["data"]
    mem = bayespec.integrate(grp, spectra={"A": (X, ya), "B": {"x": X, "y": yb}},
                             progress=False)
    pd.testing.assert_frame_equal(mem.table, res.table)
    path = res.write(tmp_path / "out")
    assert path.read_text() == csv
    _same_trees(read_fit(tmp_path / "out" / "separate" / "A" / "K1.zarr"),
                read_fit(d / "cli" / "separate" / "A" / "K1.zarr"))


def test_integrate_progress_lines_and_bad_input(group_case, capfd):
    d = group_case[0]
    res = bayespec.integrate(d / "GROUP.yaml", progress=True)
    err = capfd.readouterr().err
    assert err.startswith("bayespec: integrating A, B") and f"verdict {res.verdict}" in err
    # a line per fit of the group (per-chain lines follow at most every few seconds)
    assert "bayespec: separate fits of A: K=" in err and "bayespec: joint fit K=" in err
    quiet = bayespec.integrate(d / "GROUP.yaml", progress=False)
    assert quiet.table.equals(res.table)  # progress changes no number
    with pytest.raises(InputError, match=r"spectra\['A'\].y: has 3 points but"):
        bayespec.integrate(_group(None, None), spectra={"A": (X, [1, 2, 3]), "B": (X, X)})
    with pytest.raises(TypeError, match="only with a GROUP.yaml mapping"):
        bayespec.integrate(d / "GROUP.yaml", base=d)


def test_averaged_is_the_campaign_summarys(case, tmp_path):
    """FitResult.averaged() gives the numbers the workflow's select stage puts into the
    campaign summary for the same stores (one implementation: inference/averaging.py)."""
    from bayespec.workflow.select import select

    d, _, _, res = case
    avg = res.averaged()
    p = res.table["probability"].to_numpy()
    assert avg["K_avg"] == pytest.approx(float(np.sum(p * res.table["K"].to_numpy())))
    assert avg["peak1_p"] == pytest.approx(1.0) and avg["peak2_p"] == pytest.approx(p[1])
    info = select([d / "cli" / f"K{K}.zarr" for K in (1, 2)], tmp_path / "t.csv",
                  tmp_path / "p.tsv", tmp_path / "i.json", "s")
    assert info["averaged"].keys() == avg.keys()
    for k, v in avg.items():
        assert info["averaged"][k] == pytest.approx(v, rel=1e-6), k
