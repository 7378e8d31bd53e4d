"""Goodness of fit (issue 13 item 4): chi2/n, the Poisson deviance and the posterior
predictive p-value on data simulated from the model (fixed seeds), a deliberately wrong
model flagged inadequate, and the outputs that carry them: model_selection.csv's columns,
the store, the CLI's warning, the workflow's table and the residual panel.

Reference values: for data from the model with a known noise, the posterior mean of chi2 is
about chi2_min + p, whose expectation is n. So chi2/n = 1 with sd sqrt(2/n) (0.08 for
n = 301); the tolerance is 4 sd. The Poisson deviance per point has mean 1 + 1/(6 mu) for a
mean count mu, within sqrt(2/n) too. A p-value computed with the true parameters is uniform.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bayespec
from bayespec.inference import gof
from bayespec.inference.selection import CHECK_COLUMNS, COLUMNS, format_table
from bayespec.models.likelihood import poisson_energy

X = np.linspace(0, 10, 301)
N = X.size
TOL = 4 * np.sqrt(2 / N)


def _peak(x, a, c, w):
    return a * np.exp(-(x - c) ** 2 / (2 * w ** 2))


ONE = 0.2 + 0.03 * X + _peak(X, 1.0, 4.0, 0.4)  # one peak on a linear background
TWO = 0.2 + 0.03 * X + _peak(X, 1.0, 3.0, 0.3) + _peak(X, 0.8, 7.0, 0.3)  # two, far apart
SD = 0.05
PRIORS = {"amplitude": {"dist": "uniform", "low": 0, "high": 2},
          "center": {"dist": "uniform", "low": 0, "high": 10},
          "width": {"dist": "uniform", "low": 0.05, "high": 2},
          "background": {"dist": "normal", "mean": 0, "sd": 2}}
SAMPLER = {"replicas": 12, "burn_in": 500, "sweeps": 1500, "chains": 4, "seed": 1,
           "threads": 4}


def _cfg(K, noise, **model):
    return {"model": {"shape": "gaussian", "K": K, "background": {"kind": "linear"}, **model},
            "priors": PRIORS, "noise": noise, "sampler": SAMPLER}


def _data(f, seed=0):
    return f + SD * np.random.default_rng(seed).standard_normal(N)


# ----------------------------------------------------------------------------- pure functions

def test_discrepancies_and_their_reference_distributions():
    rng = np.random.default_rng(0)
    f = np.tile(ONE, (1, 1))
    # chi2 from the sampler's energies n*E = sum w r^2 / 2
    r = rng.standard_normal((3, 5, N)) * SD
    ne = 0.5 * np.sum(r ** 2, axis=-1)
    assert gof.chi2_per_point(ne, 1 / SD ** 2, N) == pytest.approx(
        np.mean(np.sum(r ** 2, axis=-1)) / SD ** 2 / N)
    # the deviance is twice the sampler's Poisson energy
    mu = 5 + 50 * _peak(X, 1, 5, 1)
    c = rng.poisson(mu).astype(float)
    assert gof.deviance(c, mu[None])[0] == pytest.approx(2 * poisson_energy(mu, c))
    assert gof.deviance_per_point(poisson_energy(mu[None], c), N) == pytest.approx(
        gof.deviance(c, mu[None])[0] / N)
    # lag-1 autocorrelation of independent noise: mean ~0, sd 1/sqrt(n)
    t = gof.lag1_autocorrelation(f[0] + rng.standard_normal((2000, N)), f, np.ones(N))
    assert abs(t.mean()) < 4 / np.sqrt(N * 2000) + 1 / N and abs(t.std() * np.sqrt(N) - 1) < 0.1


@pytest.mark.parametrize("lik,stat", [("gaussian", "chi2"), ("gaussian", "lag1"),
                                      ("poisson", "deviance")])
def test_ppc_pvalue_is_uniform_at_the_true_parameters(lik, stat):
    """Data from the model, p-value from the true mean (S identical 'draws'): uniform."""
    rng = np.random.default_rng(1)
    mu = 20 + 100 * _peak(X, 1, 5, 0.5) if lik == "poisson" else ONE
    f = np.tile(mu, (50, 1))
    w = np.ones(N)
    p = []
    for _ in range(400):
        y = rng.poisson(mu).astype(float) if lik == "poisson" else mu + SD * rng.standard_normal(N)
        p.append(gof.ppc_pvalue(y, f, w, lik, 1 / SD ** 2, stat, rng))
    p = np.array(p)
    for q in (0.1, 0.5):
        assert abs(np.mean(p < q) - q) < 4 * np.sqrt(q * (1 - q) / 400), (q, np.mean(p < q))


def test_inadequacy_rule():
    assert gof.inadequacy(1.1, 0.3, N, "K=1", "gaussian", 400) is None
    msg = gof.inadequacy(4.1, 0.0, N, "K=2", "gaussian", 400)
    assert msg == ("K=2: chi2/n = 4.1 (p_ppc < 0.0025): the model does not describe the data; "
                   "do not read K from this fit")
    assert gof.inadequacy(1.05, 0.004, N, "K=2", "poisson", 400).startswith(
        "K=2: deviance/n = 1.05 (p_ppc = 0.004)")
    # chi2/n = 2.5 from 10 points is within 5 of its sds (sqrt(2/10) = 0.45)
    assert gof.inadequacy(2.5, 0.5, 10, "K=1", "gaussian", 400) is None


# ----------------------------------------------------------------------------- on fits

@pytest.fixture(scope="module")
def right_known():
    return bayespec.fit(X, _data(ONE), _cfg([1], {"sd": SD}))


def test_chi2_of_the_true_model_with_known_noise(right_known):
    d = right_known.best.diagnostics
    assert abs(d["chi2_n"] - 1) < TOL, d["chi2_n"]
    assert d["gof_reference"] == "given" and d["gof_noise_sd"] == SD
    assert d["ppc_discrepancy"] == "chi2" and d["ppc_p"] > gof.PPC_P_MIN
    assert d["adequate"] and d["adequacy_warning"] == ""
    # reproducible: the check's stream is seeded from the fit's seed
    again = bayespec.fit(X, _data(ONE), _cfg([1], {"sd": SD})).best.diagnostics
    assert again["ppc_p"] == d["ppc_p"] and again["chi2_n"] == d["chi2_n"]


def test_true_model_with_estimated_noise_and_with_an_sd_column():
    est = bayespec.fit(X, _data(ONE), _cfg([1], {"estimate": True})).best.diagnostics
    # chi2 against the model-free noise estimate (second differences: ~7 % on sd here)
    assert est["gof_reference"] == "second differences" and abs(est["chi2_n"] - 1) < 0.3
    assert est["ppc_discrepancy"] == "lag1" and est["adequate"], est
    sd = bayespec.fit(X, _data(ONE), _cfg([1], {"estimate": True}), sd=np.full(N, SD))
    d = sd.best.diagnostics
    assert d["gof_reference"] == "sd column" and d["gof_noise_sd"] == 1.0
    assert abs(d["chi2_n"] - 1) < TOL and d["ppc_discrepancy"] == "chi2" and d["adequate"]


@pytest.mark.parametrize("noise", [{"sd": SD}, {"estimate": True}], ids=["known", "estimated"])
def test_one_peak_fitted_to_two_is_inadequate(noise):
    res = bayespec.fit(X, _data(TWO), _cfg([1, 2], noise))
    one, two = (f.diagnostics for f in res.fits)
    assert not one["adequate"] and one["ppc_p"] < gof.PPC_P_MIN, one
    assert one["chi2_n"] > gof.CHI2_N_MAX  # against the given or the model-free noise
    assert one["adequacy_warning"].startswith("K=1: chi2/n = ")
    assert one["adequacy_warning"].endswith("do not read K from this fit")
    assert two["adequate"] and abs(two["chi2_n"] - 1) < (TOL if "sd" in noise else 0.3), two
    t = res.table
    assert list(t["adequate"]) == [False, True]
    assert t["chi2_n"].tolist() == [one["chi2_n"], two["chi2_n"]]


def test_poisson_deviance_on_simulated_counts():
    mu = 20 + 200 * _peak(X, 1.0, 5.0, 0.5)
    counts = np.random.default_rng(3).poisson(mu).astype(float)
    cfg = {"model": {"shape": "gaussian", "K": [0, 1], "likelihood": "poisson",
                     "background": {"kind": "constant"}},
           "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 400},
                      "center": {"dist": "uniform", "low": 0, "high": 10},
                      "width": {"dist": "uniform", "low": 0.05, "high": 2},
                      "background": {"dist": "uniform", "low": 0, "high": 100}},
           "sampler": SAMPLER}
    res = bayespec.fit(X, counts, cfg)
    flat, one = (f.diagnostics for f in res.fits)
    bias = np.mean(1 / (6 * mu))
    assert one["gof_statistic"] == "deviance" and one["ppc_discrepancy"] == "deviance"
    assert abs(one["chi2_n"] - 1 - bias) < TOL and one["adequate"], one
    assert not flat["adequate"] and flat["adequacy_warning"].startswith("K=0: deviance/n = ")


# ----------------------------------------------------------------------------- outputs

@pytest.fixture(scope="module")
def cli_dir(tmp_path_factory):
    """`bayespec fit` of one peak and two peaks to two-peak data (known noise)."""
    import yaml

    d = tmp_path_factory.mktemp("gof")
    np.savetxt(d / "d.csv", np.c_[X, _data(TWO)], delimiter=",", header="x,y", comments="")
    (d / "fit.yaml").write_text(yaml.safe_dump(_cfg([1], {"sd": SD})))
    return d


def test_cli_warns_about_an_inadequate_selected_model(cli_dir, capsys):
    from bayespec.cli import main

    assert main(["fit", str(cli_dir / "d.csv"), "--config", str(cli_dir / "fit.yaml"),
                 "--out", str(cli_dir / "out")]) == 0
    out = capsys.readouterr().out
    line = [s for s in out.splitlines() if s.startswith("WARNING: K=1: chi2/n = ")]
    assert line and line[0].endswith("the model does not describe the data; do not read K "
                                      "from this fit"), out
    t = pd.read_csv(cli_dir / "out" / "model_selection.csv")
    assert list(t.columns) == COLUMNS and COLUMNS[-len(CHECK_COLUMNS) - 2:-2] == CHECK_COLUMNS
    assert t["adequate"].tolist() == [False] and t["chi2_n"].iloc[0] > 2
    assert main(["summary", str(cli_dir / "out")]) == 0
    out = capsys.readouterr().out
    assert "goodness of fit: NOT adequate: chi2/n = " in out and "convergence: " in out


def test_cli_warns_about_a_selected_model_that_has_not_converged(cli_dir, capsys):
    from bayespec.cli import main

    import yaml

    out_dir = cli_dir / "short"
    cfg = _cfg([2], {"sd": SD})  # the right model, far too few sweeps to converge
    cfg["sampler"] = {**SAMPLER, "burn_in": 20, "sweeps": 60, "thin": 1}
    (cli_dir / "short.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["fit", str(cli_dir / "d.csv"), "--config", str(cli_dir / "short.yaml"),
                 "--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "WARNING: the selected K=2 has not converged: " in out, out
    t = pd.read_csv(out_dir / "model_selection.csv")
    assert t["converged"].tolist() == [False]


def test_store_and_workflow_table_carry_the_checks(right_known, tmp_path):
    from bayespec.io.store import read_fit, to_inference_data
    from bayespec.workflow.select import select

    right_known.write(tmp_path / "out")
    tree = read_fit(tmp_path / "out" / "K1.zarr")
    d = right_known.best.diagnostics
    assert tree.attrs["converged"] is True and tree.attrs["adequate"] is True
    attrs = json.loads(tree.attrs["diagnostics"])
    assert attrs["chi2_n"] == d["chi2_n"] and attrs["convergence_reasons"] == []
    g = tree["diagnostics"]
    assert list(g["param"].values) == d["per_param"]["param"]
    assert list(g["param"].values)[:3] == ["amplitude[0]", "center[0]", "width[0]"]
    assert np.array_equal(g["rhat"].values, d["per_param"]["rhat"], equal_nan=True)
    assert g["free_energy_chain"].shape == (4,)
    assert float(np.nanmax(g["rhat"].values)) == d["rhat_max"]
    to_inference_data(tree)  # ArviZ still takes the tree
    # the campaign's select stage rebuilds the same table from the stores' attrs
    info = select([tmp_path / "out" / "K1.zarr"], tmp_path / "t.csv", tmp_path / "p.tsv",
                  tmp_path / "i.json", "s")
    assert (tmp_path / "t.csv").read_text() == (tmp_path / "out" / "model_selection.csv"
                                                ).read_text() == format_table(right_known.table)
    assert info["converged"] == d["converged"] and info["adequate"] is True


def test_fit_figure_has_a_standardised_residual_panel(right_known, tmp_path):
    pytest.importorskip("matplotlib")
    from bayespec import plots
    from bayespec.io.store import read_fit

    right_known.write(tmp_path / "out")
    tree = read_fit(tmp_path / "out" / "K1.zarr")
    fig = plots.fit_figure(tree)
    z_ax = fig.axes[2]
    pts = [ln for ln in z_ax.get_lines() if ln.get_gid() == "standardised"]
    y, fm = tree["observed_data"]["y"].values, tree["predictive"]["f_mean"].values
    assert np.allclose(pts[0].get_ydata(), (y - fm) / SD)
    assert "χ²/n = " in z_ax.texts[0].get_text()
