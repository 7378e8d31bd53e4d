"""Composite models (issue 12): components of their own shape, priors and count, sampled by the
joint kernel with one order group per component, and ties inside one model.

Oracles: a composite of one component is the one-shape engine's model (same evidence: the
order within a component leaves an exchangeable prior's evidence unchanged), and two one-peak
components of one shape are the one-shape K = 2 model; F agrees within 3 SE of the two
estimates. A tied doublet pair recovers the true shift; a tie that removes a free parameter
changes the prior volume as written.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayespec.errors import ConfigError
from bayespec.inference.composite import candidates, fit_composite
from bayespec.inference.fit import FitSettings, fit_spectrum
from bayespec.models.composite import build_composite
from bayespec.models.priors import parse_prior
from bayespec.models.ties import parse_tie

Z = 3.0
S = FitSettings(replicas=16, burn_in=1000, sweeps=3000, chains=4, seed=2, threads=2)


def _gauss(x, a, c, s):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2)


@pytest.fixture(scope="module")
def two_lines():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 10, 200)
    y = _gauss(x, 1.0, 4.0, 0.5) + _gauss(x, 0.7, 5.5, 0.6) + 0.05 \
        + 0.05 * rng.standard_normal(x.size)
    return x, y


@pytest.fixture(scope="module")
def shorthand(two_lines):
    x, y = two_lines
    return fit_spectrum(x, y, None, "gaussian", [1, 2], "constant", None, {}, S)


def _close(a, b):
    se = float(np.hypot(a.free_energy_se, b.free_energy_se))
    assert 0 < se < 0.3, se
    assert abs(a.free_energy - b.free_energy) < Z * se, (a.free_energy, b.free_energy, se)


def test_one_component_is_the_one_shape_model(two_lines, shorthand):
    x, y = two_lines
    probs = [build_composite(x, y, None, [("line", "gaussian", K)], "constant", None, {})
             for K in (1, 2)]
    got = fit_composite(candidates(probs, [], {}, 't'), S)
    for a, b in zip(shorthand, got):
        _close(a, b)
        assert b.label == str(a.K) and b.components == {"line": {"shape": "gaussian",
                                                                 "K": a.K}}
    post = got[1].posterior
    assert post["line_center"].shape == (4, 600, 2)
    assert np.all(np.diff(post["line_center"], axis=-1) > 0)  # ordered within the component
    assert got[1].param_names[:3] == ["line.amplitude[0]", "line.center[0]", "line.width[0]"]


def test_two_components_of_one_shape_are_K2(two_lines, shorthand):
    x, y = two_lines
    prob = build_composite(x, y, None, [("a", "gaussian", 1), ("b", "gaussian", 1)],
                           "constant", None, {})
    got = fit_composite(candidates([prob], [], {}, 't'), S)[0]
    assert got.K == 2 and got.label == "1-1"
    _close(shorthand[1], got)


def test_mixed_shapes_and_in_model_ties():
    """A doublet (Au 4f-like: splitting 3.67, ratio 0.75) and a surface doublet sharing its
    splitting, ratio and width with a free shift: the posterior shift is the true -0.35 within
    its sd, and the tied fit's parameters are tied in every draw."""
    rng = np.random.default_rng(4)
    x = np.linspace(80, 92, 300)
    dbl = lambda a, c: _gauss(x, a, c, 0.3) + 0.75 * _gauss(x, a, c + 3.67, 0.3)  # noqa: E731
    y = dbl(1.0, 84.0) + dbl(0.5, 83.65) + 0.05 * rng.standard_normal(x.size)
    pri = {"bulk": {"splitting": parse_prior({"dist": "fixed", "value": 3.67}, "s"),
                    "ratio": parse_prior({"dist": "fixed", "value": 0.75}, "r"),
                    "center": parse_prior({"dist": "uniform", "low": 83.5, "high": 84.5}, "c")},
           "surface": {"splitting": parse_prior({"dist": "fixed", "value": 3.67}, "s"),
                       "ratio": parse_prior({"dist": "fixed", "value": 0.75}, "r")}}
    prob = build_composite(x, y, None, [("bulk", "doublet_gaussian", 1),
                                        ("surface", "doublet_gaussian", 1)], "none", None, pri)
    ties = [parse_tie(t, "t") for t in ("surface.center[0] = bulk.center[0] + shift",
                                        "surface.width[0] = bulk.width[0]")]
    off = {"shift": parse_prior({"dist": "normal", "mean": 0.0, "sd": 1.0}, "shift")}
    fit = fit_composite(candidates([prob], ties, off, "FIT.yaml"), S)[0]
    post = fit.posterior
    assert np.array_equal(post["surface_width"], post["bulk_width"])
    shift = (post["surface_center"] - post["bulk_center"]).ravel()
    assert abs(shift.mean() + 0.35) < max(Z * shift.std(), 0.02), (shift.mean(), shift.std())
    assert "shift" in fit.param_names


def test_tie_errors_name_the_component(two_lines):
    x, y = two_lines
    prob = build_composite(x, y, None, [("a", "gaussian", 1), ("b", "lorentzian", 1)],
                           "constant", None, {})
    for text, needle in [("c.center[0] = a.center[0]", "no component 'c'"),
                         ("b.eta[0] = a.eta[0]", "does not exist"),
                         ("a.center[0] = b.center[1]", "beyond K = 1 of component b")]:
        with pytest.raises(ConfigError, match=needle):
            candidates([prob], [parse_tie(text, "t")], {}, "FIT.yaml")


def test_array_backends_refuse_composites(two_lines):
    x, y = two_lines
    prob = build_composite(x, y, None, [("a", "gaussian", 1)], "constant", None, {})
    s = FitSettings(replicas=8, burn_in=10, sweeps=20, chains=1, backend="numpy")
    with pytest.raises(ConfigError, match="cannot run the joint kernel"):
        fit_composite(candidates([prob], [], {}, 't'), s)


def test_component_prior_messages_name_the_component(two_lines):
    x, y = two_lines
    with pytest.raises(ConfigError, match=r"priors\.bulk\.splitting: required"):
        build_composite(x, y, None, [("bulk", "doublet_gaussian", 1)], "none", None, {})


# ============================================================== FIT.yaml, API, CLI, store

COMPOSITE = {
    "model": {"components": [{"name": "bulk", "shape": "doublet_gaussian", "K": [1]},
                             {"name": "extra", "shape": "gaussian", "K": [0, 1]}],
              "background": {"kind": "constant"}},
    "priors": {"bulk": {"splitting": {"dist": "fixed", "value": 3.67},
                        "ratio": {"dist": "fixed", "value": 0.75}},
               "extra": {"center": {"dist": "uniform", "low": 80, "high": 92}}},
    "ties": ["extra.width[0] = bulk.width[0]"],
    "sampler": {"replicas": 12, "burn_in": 500, "sweeps": 1000, "chains": 2, "seed": 5,
                "threads": 2},
}


@pytest.fixture(scope="module")
def doublet_data():
    rng = np.random.default_rng(8)
    x = np.linspace(80, 92, 240)
    y = _gauss(x, 1.0, 84.0, 0.3) + 0.75 * _gauss(x, 1.0, 87.67, 0.3) \
        + _gauss(x, 0.6, 89.5, 0.3) + 0.1 + 0.04 * rng.standard_normal(x.size)
    return x, y


@pytest.fixture(scope="module")
def api_result(doublet_data):
    import bayespec

    return bayespec.fit(*doublet_data, COMPOSITE)


def test_api_table_store_summary_plot(api_result):
    """model_selection.csv's columns plus K_<component>; the extra line is found; the store
    names components; the summary and figures handle components."""
    res = api_result
    t = res.table
    assert list(t.columns) == ["K", "free_energy", "free_energy_se", "noise_sd", "probability",
                               "K_bulk", "K_extra", "sweeps", "rhat_max", "ess_min", "F_chain_spread",
                               "converged", "chi2_n", "ppc_p", "adequate", "wbic", "wbic_se"]
    assert t["K"].tolist() == [1, 2] and t["K_extra"].tolist() == [0, 1]
    assert res.best.label == "1-1" and res.K == 2  # the third line is in the data
    tree = res.posterior("1-1")
    post = tree["posterior"]
    assert post["bulk_center"].dims == ("chain", "draw", "bulk_peak")
    assert post["extra_center"].dims == ("chain", "draw", "extra_peak")
    assert np.array_equal(post["extra_width"].values, post["bulk_width"].values)  # the tie
    assert abs(float(post["extra_center"].mean()) - 89.5) < 0.05
    tab = res.summary()
    assert set(tab["component"]) == {"bulk", "extra", ""}
    area = tab[(tab.component == "bulk") & (tab.quantity == "area")]
    assert len(area) == 1
    from matplotlib.figure import Figure

    for kind in ("fit", "positions", "free_energy", "noise", "swap"):
        assert isinstance(res.plot(kind=kind), Figure)


def test_cli_equals_api_bit_for_bit(api_result, doublet_data, tmp_path):
    import yaml

    from bayespec.cli import main
    from bayespec.inference.selection import format_table

    x, y = doublet_data
    np.savetxt(tmp_path / "d.csv", np.column_stack([x, y]), delimiter=",", fmt="%.17g")
    (tmp_path / "FIT.yaml").write_text(yaml.safe_dump(COMPOSITE))
    assert main(["fit", str(tmp_path / "d.csv"), "--config", str(tmp_path / "FIT.yaml"),
                 "--out", str(tmp_path / "out")]) == 0
    csv = (tmp_path / "out" / "model_selection.csv").read_text()
    assert csv == format_table(api_result.table)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.zarr")) == ["K1-0.zarr",
                                                                        "K1-1.zarr"]


@pytest.mark.parametrize("bad, needle", [
    ({"model": {"components": [{"name": "a", "shape": "gaussian"}], "shape": "gaussian"}},
     "model.shape: not used with model.components"),
    ({"model": {"components": [{"name": "a", "shape": "gausian"}]}},
     r"model.components\[0\].shape: unknown shape"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian"},
                               {"name": "a", "shape": "gaussian"}]}}, "used twice"),
    ({"model": {"components": [{"name": "a.b", "shape": "gaussian"}]}}, "not a component name"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian", "K": "x"}]}},
     r"model.components\[0\].K: cannot read"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian", "k": 1}]}}, "did you mean 'K'"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian"}]}, "priors": {"b": {}}},
     "priors.b: no component 'b'"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian"}]},
      "priors": {"a": {"eta": {"dist": "uniform", "low": 0, "high": 1}}}}, "priors.a.eta"),
    ({"ties": ["b.width[0] = a.width[0]"]}, "ties: ties need named components"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian", "K": [0, 1]}]},
      "ties": ["a.width[1] = a.width[0]"]}, "applies to no candidate"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian", "K": [1, 2]}]},
      "ties": ["a.width[1] = a.width[2]"]}, "names a peak that no candidate has"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian"}]},
      "ties": ["c.width[0] = a.width[0]"]}, "no component 'c'"),
    ({"model": {"components": [{"name": "a", "shape": "gaussian"},
                               {"name": "b", "shape": "gaussian", "K": [0, 1, 2]}]},
      "priors": {"b": {"width": {"dist": "uniform", "low": 0.1, "high": 1}}},
      "ties": ["b.width[0] = a.width[0]", "b.width[1] = a.width[0]"]},
     r"priors.b.width: every b.width is set by a tie \(b.width\[0\] = a.width\[0\]; "
     r"b.width\[1\] = a.width\[0\]\), so this prior would never be used"),
])
def test_config_errors(bad, needle):
    from bayespec.config import parse_fit_config

    with pytest.raises(ConfigError, match=needle) as e:
        parse_fit_config(bad, "FIT.yaml")
    assert str(e.value).startswith("FIT.yaml: ")


def test_tied_extras_need_no_prior(doublet_data):
    """A surface doublet whose splitting and ratio a tie sets for every peak needs no prior for
    them (required for a free doublet), and they are not free parameters; where one peak's
    splitting is free (K up to 2, only peak 0 tied) the prior is still required."""
    from bayespec.config import parse_fit_config
    from bayespec.inference.runner import composite_candidates
    from bayespec.io.spectrum import Spectrum

    def cfg(ks, ties):
        return parse_fit_config({
            "model": {"components": [{"name": "bulk", "shape": "doublet_gaussian", "K": [1]},
                                     {"name": "surface", "shape": "doublet_gaussian",
                                      "K": ks}],
                      "background": {"kind": "constant"}},
            "priors": {"bulk": COMPOSITE["priors"]["bulk"]}, "ties": ties}, "FIT.yaml")

    spec = Spectrum(*doublet_data, None, "d")
    both = [f"surface.{k}[{i}] = bulk.{k}[0]" for i in (0, 1) for k in ("splitting", "ratio")]
    cands = composite_candidates(spec, cfg([0, 1, 2], both), "d")
    assert [c.problem.Ks for c in cands] == [(1, 0), (1, 1), (1, 2)]
    for c in cands:
        assert not [n for n in c.param_names if n.startswith("surface.") and
                    ("splitting" in n or "ratio" in n)], c.param_names
    with pytest.raises(ConfigError, match=r"priors\.surface\.splitting: required"):
        composite_candidates(spec, cfg([0, 1, 2], both[:2]), "d")


def test_raw_reparses_to_the_same_config():
    import json

    from bayespec.config import parse_fit_config

    cfg = parse_fit_config(COMPOSITE, "FIT.yaml")
    again = parse_fit_config(json.loads(json.dumps(cfg.raw)), "FIT.yaml")
    assert again == cfg
    assert [c.name for c in cfg.model.components] == ["bulk", "extra"]


def test_cli_summary_and_plot_of_a_composite_dir(api_result, tmp_path, capsys):
    from bayespec.cli import main

    api_result.write(tmp_path / "out")
    assert main(["summary", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "K_bulk" in text and "candidate 1-1 (K = 2)" in text and "extra" in text
    assert main(["summary", str(tmp_path / "out"), "--K", "1-0"]) == 0
    assert main(["plot", str(tmp_path / "out"), "--K", "1"]) == 0  # K = 1 is one candidate
    assert (tmp_path / "out" / "figures" / "fit.png").exists()
