"""Integration of composite data sets (model.components in GROUP.yaml data sets).

Oracles: without ties the joint evidence factorises (F_joint = F_A + F_B within 3 SE), and a
composite data set of one component is the one-shape model (its separate F within 3 SE of the
one-shape fit). Two composite data sets sharing their bulk center by a group tie with a free
shift recover the true shift within 3 posterior sd, with the data set's own in-model ties
(prefixed ``A.extra.width[0] = A.bulk.width[0]``, offset ``A__gap``) applied in every draw.
"""

from __future__ import annotations

import numpy as np
import pytest

from bayespec.errors import ConfigError
from bayespec.inference.integrate import integrate, joint_posterior, parse_group_config
from bayespec.io.spectrum import Spectrum

Z = 3.0


def _gauss(x, a, c, s):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2)


# ================================================= one component + one shape, no ties

X1 = np.linspace(0.0, 3.0, 121)
PRIORS1 = {"amplitude": {"dist": "gamma", "shape": 2, "rate": 1},
           "center": {"dist": "uniform", "low": 0, "high": 3},
           "width": {"dist": "lognormal", "mu": -2.3, "sigma": 0.5}}
BG = {"dist": "normal", "mean": 0, "sd": 1}
SAMPLER1 = {"replicas": 16, "burn_in": 500, "sweeps": 2000, "chains": 4, "threads": 2,
            "thin": 4, "seed": 7}


def _spec1(peaks, bg, seed):
    rng = np.random.default_rng(seed)
    y = np.full_like(X1, bg)
    for a, c, w in peaks:
        y += _gauss(X1, a, c, w)
    return Spectrum(X1.copy(), y + 0.05 * rng.standard_normal(X1.size), None, f"s{seed}")


A1 = {"model": {"components": [{"name": "line", "shape": "gaussian", "K": [1, 2]}],
                "background": {"kind": "polynomial", "degree": 0}},
      "priors": {"line": PRIORS1, "background": BG}, "noise": {"estimate": True}}
B1 = {"model": {"shape": "gaussian", "K": [1], "background": {"kind": "polynomial",
                                                               "degree": 0}},
      "priors": {**PRIORS1, "background": BG}, "noise": {"sd": 0.05}}


@pytest.fixture(scope="module")
def oracle():
    a = _spec1([(1.0, 1.2, 0.10), (0.7, 1.8, 0.12)], 0.1, 1)
    b = _spec1([(0.9, 1.5, 0.12)], 0.2, 2)
    cfg = parse_group_config({"datasets": {"A": A1, "B": B1}, "sampler": SAMPLER1},
                             "GROUP.yaml", spectra={"A": a, "B": b})
    return a, cfg, integrate(cfg)


def test_untied_composite_group_factorises(oracle):
    _, _, res = oracle
    assert [f.label for f in res.separate["A"]] == ["1", "2"]
    assert res.separate["A"][0].components == {"line": {"shape": "gaussian", "K": 1}}
    assert res.selection["K_A"].tolist() == ["1", "2"] and res.selection["K_B"].tolist() == [1, 1]
    fb = res.separate["B"][0]
    for j, fa in zip(res.joint, res.separate["A"]):  # every combination factorises
        se = float(np.sqrt(j.free_energy_se ** 2 + fa.free_energy_se ** 2
                           + fb.free_energy_se ** 2))
        assert 0 < se < 0.5, se
        diff = j.free_energy - fa.free_energy - fb.free_energy
        assert abs(diff) < Z * se, (fa.label, diff, se)
    t = res.table.set_index("model")
    assert t.loc["joint", "K"] == "A=2;B=1" and t.loc["separate", "K"] == "A=2;B=1"
    assert abs(t.loc["joint", "delta"]) < Z * t.loc["joint", "delta_se"]
    post = joint_posterior(res.joint[res.best])
    assert post["A_line_center"].shape[-1] == 2 and post["B_center"].shape[-1] == 1


def test_composite_separate_fit_is_the_one_shape_fit(oracle):
    import bayespec

    a, cfg, res = oracle
    one = bayespec.fit(a.x, a.y, {"model": {"shape": "gaussian", "K": [1, 2],
                                            "background": {"kind": "polynomial", "degree": 0}},
                                  "priors": {**PRIORS1, "background": BG},
                                  "sampler": dict(SAMPLER1, seed=99)})
    for fo, fc in zip(one.fits, res.separate["A"]):
        se = float(np.hypot(fo.free_energy_se, fc.free_energy_se))
        assert 0 < se < 0.5 and abs(fo.free_energy - fc.free_energy) < Z * se, \
            (fo.K, fo.free_energy, fc.free_energy, se)


# ================================================= two composite data sets, a group tie

X2 = np.linspace(80.0, 92.0, 200)
SPLIT, RATIO, SHIFT = 3.67, 0.75, 0.3
FIXED = {"splitting": {"dist": "fixed", "value": SPLIT},
         "ratio": {"dist": "fixed", "value": RATIO}}
SAMPLER2 = {"replicas": 12, "burn_in": 300, "sweeps": 800, "chains": 2, "threads": 2,
            "thin": 4, "seed": 3}


def _doublet(c, a=1.0, w=0.3):
    return _gauss(X2, a, c, w) + RATIO * _gauss(X2, a, c + SPLIT, w)


def _member(ties=None, offsets=None):
    d = {"model": {"components": [{"name": "bulk", "shape": "doublet_gaussian", "K": [1]},
                                  {"name": "extra", "shape": "gaussian", "K": [0, 1]}],
                   "background": {"kind": "constant"}},
         "priors": {"bulk": {**FIXED, "center": {"dist": "uniform", "low": 83, "high": 85.5}},
                    "extra": {"center": {"dist": "uniform", "low": 88, "high": 91}}},
         "noise": {"estimate": True}}
    if ties:
        d["ties"] = ties
        if any(t.startswith("extra.center[0] =") for t in ties):
            del d["priors"]["extra"]["center"]  # set by the tie: a prior would go unused
    if offsets:
        d["offsets"] = offsets
    return d


def _group2(sampler=SAMPLER2, ties=("B.bulk.center[0] = A.bulk.center[0] + shift",),
            a_ties=("extra.width[0] = bulk.width[0]", "extra.center[0] = bulk.center[0] + gap")):
    return {"datasets": {"A": _member(list(a_ties),
                                      {"gap": {"dist": "normal", "mean": 5.5, "sd": 1.0}}),
                         "B": _member()},
            "ties": list(ties), "offsets": {"shift": {"dist": "normal", "mean": 0, "sd": 1}},
            "sampler": sampler}


@pytest.fixture(scope="module")
def doublets():
    rng = np.random.default_rng(5)
    ya = _doublet(84.0) + _gauss(X2, 0.6, 89.5, 0.3) + 0.1 + 0.04 * rng.standard_normal(X2.size)
    yb = _doublet(84.0 + SHIFT, 0.8) + 0.2 + 0.04 * rng.standard_normal(X2.size)
    return {"A": Spectrum(X2.copy(), ya, None, "A"), "B": Spectrum(X2.copy(), yb, None, "B")}


@pytest.fixture(scope="module")
def tied(doublets):
    cfg = parse_group_config(_group2(), "GROUP.yaml", spectra=doublets)
    return cfg, integrate(cfg)


def test_group_tie_recovers_the_shift_and_in_model_ties_apply(tied):
    cfg, res = tied
    assert res.selection["K_A"].tolist() == ["1-0", "1-0", "1-1", "1-1"]
    assert res.selection["K_B"].tolist() == ["1-0", "1-1", "1-0", "1-1"]
    t = res.table.set_index("model")
    assert t.loc["joint", "K"] == "A=1-1;B=1-0", res.selection
    assert t.loc["separate", "K"] == "A=1-1;B=1-0"
    j = res.joint[res.best]
    assert "A__gap" in j.model.free_names and "shift" in j.model.free_names
    post = joint_posterior(j)
    assert np.array_equal(post["A_extra_width"], post["A_bulk_width"])  # A's in-model tie
    gap = (post["A_extra_center"] - post["A_bulk_center"]).ravel()
    assert np.allclose(gap, post["offset_A__gap"].ravel())
    shift = (post["B_bulk_center"] - post["A_bulk_center"]).ravel()
    assert np.allclose(shift, post["offset_shift"].ravel())
    assert abs(shift.mean() - SHIFT) < Z * shift.std(), (shift.mean(), shift.std())
    # A's ties do not apply where its extra component is absent (no A__gap there)
    absent = res.joint[0]
    assert absent.model.Ks == (1, 0, 1, 0) and "A__gap" not in absent.model.free_names
    # the composite separate fits are its candidates, with A's own ties
    assert [f.label for f in res.separate["A"]] == ["1-0", "1-1"]
    sep = res.separate["A"][1].posterior
    assert np.array_equal(sep["extra_width"], sep["bulk_width"])
    # b_m: the separate fit's noise of that candidate
    assert np.isclose(j.model.b[0], 1 / res.separate["A"][1].noise_sd ** 2)


def test_outputs_api_summary_and_figure(tied, tmp_path):
    import pandas as pd
    import xarray as xr

    from bayespec.api import IntegrateResult
    from bayespec.inference.integrate_output import write_integration

    cfg, res = tied
    write_integration(res, tmp_path)
    tab = pd.read_csv(tmp_path / "integration.csv")
    assert tab["K"].tolist() == ["A=1-1;B=1-0", "A=1-1;B=1-0"]
    sel = pd.read_csv(tmp_path / "joint_selection.csv", dtype={"K_A": str, "K_B": str})
    assert sel["K_A"].tolist() == ["1-0", "1-0", "1-1", "1-1"]
    assert sorted(p.name for p in (tmp_path / "joint").glob("*.zarr")) == [
        "K1-0-1-0.zarr", "K1-0-1-1.zarr", "K1-1-1-0.zarr", "K1-1-1-1.zarr"]
    assert sorted(p.name for p in (tmp_path / "separate" / "A").glob("*.zarr")) == [
        "K1-0.zarr", "K1-1.zarr"]
    tree = xr.open_datatree(tmp_path / "joint" / "K1-1-1-0.zarr", engine="zarr")
    post = tree["posterior"]
    assert post["A_bulk_center"].dims == ("chain", "draw", "A_bulk_peak")
    assert post["A_extra_center"].dims == ("chain", "draw", "A_extra_peak")
    assert post.sizes["B_extra_peak"] == 0 and "offset_A__gap" in post
    assert int(tree["constant_data"]["A_K_extra"]) == 1
    assert (tmp_path / "integration.png").exists()
    api = IntegrateResult(res, {})
    summ = api.summary()
    assert {"dataset", "component"} <= set(summ.columns)
    assert set(summ.loc[summ.dataset == "A", "component"]) == {"bulk", "extra", ""}
    assert sorted(api.trees) == ["K1-0-1-0", "K1-0-1-1", "K1-1-1-0", "K1-1-1-1"]


def test_cli_integrate_runs_a_composite_group(doublets, tmp_path):
    import pandas as pd
    import yaml

    from bayespec.cli import main

    for n, s in doublets.items():
        np.savetxt(tmp_path / f"{n}.csv", np.column_stack([s.x, s.y]), delimiter=",",
                   fmt="%.17g")
    g = _group2({"replicas": 8, "burn_in": 50, "sweeps": 150, "chains": 2, "threads": 2,
                 "seed": 1})
    g["datasets"]["A"]["data"], g["datasets"]["B"]["data"] = "A.csv", "B.csv"
    (tmp_path / "GROUP.yaml").write_text(yaml.safe_dump(g))
    assert main(["integrate", str(tmp_path / "GROUP.yaml"), "--out", str(tmp_path / "out")]) == 0
    tab = pd.read_csv(tmp_path / "out" / "integration.csv")
    assert tab["K"].str.fullmatch(r"A=1-[01];B=1-[01]").all()
    assert (tmp_path / "out" / "separate" / "B" / "model_selection.csv").exists()


# ================================================= errors

@pytest.mark.parametrize("ties, a_ties, needle", [
    (["B.surface.center[0] = A.bulk.center[0]"], (),
     r"data set B has no component 'surface' \(its components: bulk, extra\)"),
    (["B.bulk.center[0] = A.bulk.center[0]", "B.extra.center[1] = A.extra.center[0]"], (),
     "applies to no K combination"),
    (["B.center[0] = A.bulk.center[0]"], (), "data set B has components; name one"),
    ([], ("surface.width[0] = bulk.width[0]",), r"GROUP.yaml: datasets.A: .*no component "
                                                r"'surface'"),
])
def test_tie_errors_name_the_data_set_and_component(ties, a_ties, needle):
    x = np.linspace(80, 92, 60)
    s = {n: Spectrum(x, np.zeros(60), None, n) for n in ("A", "B")}
    g = _group2(ties=ties, a_ties=a_ties)
    if not any("gap" in t for t in a_ties):
        del g["datasets"]["A"]["offsets"]
    if not any("shift" in t for t in ties):
        del g["offsets"]
    with pytest.raises(ConfigError, match=needle):
        parse_group_config(g, "GROUP.yaml", spectra=s)


def test_in_model_offset_name_collision_is_refused():
    x = np.linspace(80, 92, 60)
    s = {n: Spectrum(x, np.zeros(60), None, n) for n in ("A", "B")}
    g = _group2(ties=["B.bulk.center[0] = A.bulk.center[0] + A__gap"])
    g["offsets"] = {"A__gap": {"dist": "normal", "mean": 0, "sd": 1}}
    with pytest.raises(ConfigError, match="datasets.A.offsets: its offset 'gap' is named "
                                          "'A__gap'"):
        parse_group_config(g, "GROUP.yaml", spectra=s)


# ================================================= Poisson counts

def test_poisson_composite_member_is_bayespec_fit_and_factorises():
    """A composite count spectrum (b_m = 1, "Poisson counts"): its separate fit is the fit of
    `bayespec fit` with the data set's derived seed, bit for bit, and the untied joint F is
    F_A + F_B within 3 SE."""
    import bayespec
    from bayespec.sampling.seeds import dataset_seed

    rng = np.random.default_rng(3)
    x = np.linspace(0.0, 10.0, 100)
    ya = rng.poisson(20 + 150 * np.exp(-0.5 * ((x - 4.0) / 0.6) ** 2)).astype(float)
    yb = rng.poisson(35 + 90 * np.exp(-0.5 * ((x - 4.3) / 0.6) ** 2)).astype(float)
    bg = {"kind": "constant"}
    a = {"model": {"components": [{"name": "line", "shape": "gaussian", "K": [1]}],
                   "likelihood": "poisson", "background": bg}}
    b = {"model": {"shape": "gaussian", "K": [1], "likelihood": "poisson", "background": bg}}
    samp = {"replicas": 14, "burn_in": 400, "sweeps": 1500, "chains": 4, "seed": 11,
            "threads": 2}
    cfg = parse_group_config({"datasets": {"A": a, "B": b}, "sampler": samp}, "GROUP.yaml",
                             spectra={"A": Spectrum(x, ya, None, "A"),
                                      "B": Spectrum(x, yb, None, "B")})
    res = integrate(cfg)
    got = res.separate["A"][0]
    ref = bayespec.fit(x, ya, {**a, "sampler": dict(samp, seed=int(dataset_seed(11, 0)))})
    assert got.free_energy == ref.fits[0].free_energy and got.label == "1"
    assert np.isnan(got.noise_sd) and "A=- (Poisson counts)" in res.table.loc[0, "noise_sd"]
    j = res.joint[0]
    assert j.model.b.tolist() == [1.0, 1.0]
    f_sep = got.free_energy + res.separate["B"][0].free_energy
    se = float(np.sqrt(j.free_energy_se ** 2 + got.free_energy_se ** 2
                       + res.separate["B"][0].free_energy_se ** 2))
    assert 0 < se < 0.5 and abs(j.free_energy - f_sep) < Z * se, (j.free_energy, f_sep, se)
