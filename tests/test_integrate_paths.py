"""Integration of count spectra (issue 12): the group's separate fits are `bayespec fit`'s fits
(likelihood and Shirley flag reach them), and the Poisson joint kernel's free energy of an untied
group equals the sum of the separate ones (a product of independent models: log evidences add),
within 3 SE of the two estimates. Fixed priors read acceptance NaN on every path."""

from __future__ import annotations

import numpy as np
import pytest

from bayespec.errors import ConfigError
from bayespec.inference.fit import fit_spectrum
from bayespec.inference.integrate import dataset_settings, integrate, parse_group_config
from bayespec.io.spectrum import Spectrum

Z = 3.0
SAMPLER = {"replicas": 16, "burn_in": 600, "sweeps": 1500, "chains": 4, "seed": 11,
           "threads": 2}


def _counts(seed: int, center: float, height: float, level: float) -> tuple:
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 10.0, 120)
    mean = level + height * np.exp(-0.5 * ((x - center) / 0.6) ** 2)
    return x, rng.poisson(mean).astype(float)


def _group(ties=(), offsets=None, shirley=False) -> dict:
    model = {"shape": "gaussian", "K": [1], "likelihood": "poisson",
             "background": {"kind": "constant", **({"shirley": True} if shirley else {})}}
    return {"datasets": {"A": {"model": model}, "B": {"model": model}},
            "ties": list(ties), **({"offsets": offsets} if offsets else {}),
            "sampler": SAMPLER}


@pytest.fixture(scope="module")
def spectra() -> dict:
    xa, ya = _counts(1, 4.0, 150.0, 20.0)
    xb, yb = _counts(2, 4.3, 90.0, 35.0)
    return {"A": Spectrum(xa, ya, None, "A"), "B": Spectrum(xb, yb, None, "B")}


@pytest.fixture(scope="module")
def untied(spectra):
    cfg = parse_group_config(_group(), "group", spectra=spectra)
    return cfg, integrate(cfg)


def test_separate_fits_are_bayespec_fit(untied, spectra):
    """Each data set's separate fit is the fit `bayespec fit` makes with the same model block
    and seed: the Poisson likelihood reaches it (before, integrate fitted a Gaussian: 46 nats
    away), bit for bit."""
    cfg, res = untied
    for m, name in enumerate(("A", "B")):
        s = spectra[name]
        ref = fit_spectrum(s.x, s.y, None, "gaussian", [1], "constant", None, {},
                           dataset_settings(cfg, m), likelihood="poisson")[0]
        got = res.separate[name][0]
        assert got.likelihood == "poisson"
        assert got.free_energy == ref.free_energy
        assert np.isnan(got.noise_sd)
    assert "Poisson counts" in res.table.loc[0, "noise_sd"]


def test_untied_joint_equals_sum_of_separate(untied):
    """No ties: the joint model factorises, F_joint = F_A + F_B (the Poisson joint kernel, the
    constants C_m and P_valid against the single-spectrum engine)."""
    _, res = untied
    j = res.joint[0]
    f_sep = sum(res.separate[n][0].free_energy for n in ("A", "B"))
    se_sep = np.hypot(*[res.separate[n][0].free_energy_se for n in ("A", "B")])
    se = float(np.hypot(j.free_energy_se, se_sep))
    assert 0 < se < 0.5, se
    assert abs(j.free_energy - f_sep) < Z * se, (j.free_energy, f_sep, se)


def test_tied_poisson_group_runs_and_recovers_shift(spectra):
    """A shared width and a center offset: the posterior offset is near the true 0.3."""
    cfg = parse_group_config(_group(["B.width[0] = A.width[0]",
                                     "B.center[0] = A.center[0] + shift"],
                                    {"shift": {"dist": "normal", "mean": 0.0, "sd": 1.0}}),
                             "group", spectra=spectra)
    res = integrate(cfg)
    j = res.joint[0]
    p = j.model.free_names.index("shift")
    d = j.theta[..., p].ravel()
    assert np.isfinite(j.free_energy)
    assert abs(d.mean() - 0.3) < 0.1, d.mean()


def test_shirley_reaches_integration(spectra):
    """model.background.shirley adds the data's Shirley curve as a fixed offset in the group's
    fits as in `bayespec fit`."""
    cfg = parse_group_config(_group(shirley=True), "group", spectra=spectra)
    from bayespec.inference.integrate import _problems

    probs = _problems(cfg.datasets[0], spectra["A"])
    assert probs[0].offset is not None and probs[0].likelihood == "poisson"


def test_fixed_prior_acceptance_is_nan_on_every_path(spectra):
    """A fixed prior is never proposed: its acceptance reads NaN on numba and numpy alike (it
    read 0 on numba and 1 on numpy), and in joint fits."""
    x = np.linspace(0, 10, 120)
    rng = np.random.default_rng(0)
    y = np.exp(-0.5 * ((x - 5) / 0.7) ** 2) + 0.05 * rng.standard_normal(x.size)
    from bayespec.inference.fit import FitSettings
    from bayespec.models.priors import parse_prior

    pri = {"eta": parse_prior({"dist": "fixed", "value": 0.4}, "eta")}
    for backend in ("numba", "numpy"):
        s = FitSettings(replicas=10, burn_in=100, sweeps=200, chains=2, seed=1, threads=1,
                        backend=backend, noise_sd=0.05)
        f = fit_spectrum(x, y, None, "pseudo_voigt", [1], "constant", None, pri, s)[0]
        eta = f.param_names.index("eta[0]")
        assert np.all(np.isnan(f.acceptance[:, eta])), backend
        others = np.delete(f.acceptance, eta, axis=1)
        assert np.all(np.isfinite(others)) and np.all(others[1:] > 0), backend


def test_poisson_group_with_sd_column_refused(spectra):
    """A Poisson data set with an sd column is refused as `bayespec fit` refuses it."""
    s = spectra["A"]
    bad = {"A": Spectrum(s.x, s.y, np.ones_like(s.y), "A"), "B": spectra["B"]}
    cfg = parse_group_config(_group(), "group", spectra=bad)
    with pytest.raises(ConfigError, match="sd column"):
        integrate(cfg)


# ================================================= joint fits on the chunked driver

def _joint_model(spectra):
    from bayespec.sampling.joint import build_joint
    from bayespec.models.model import build_problem
    from bayespec.models.ties import parse_tie

    probs = [build_problem(spectra[n].x, spectra[n].y, None, "gaussian", 1, "constant", None,
                           {}, n, likelihood="poisson") for n in ("A", "B")]
    ties = [parse_tie("B.width[0] = A.width[0]", "t")]
    return build_joint(["A", "B"], probs, [1.0, 1.0], ties, {}, "t")


def _sampler(**kw):
    from bayespec.config import parse_fit_config

    # every sweep unless a test sets target_se (null turns the default 0.1 off)
    return parse_fit_config({"sampler": {"replicas": 12, "burn_in": 500, "sweeps": 1500,
                                         "chains": 2, "seed": 3, "threads": 2,
                                         "target_se": None, **kw}}).sampler


def test_joint_chunked_equals_unchunked(spectra, tmp_path):
    """The chunked driver (pausing at every RECOMPUTE_EVERY multiple to checkpoint) gives the
    joint fit bit for bit; a rerun resumes from the finished checkpoint with the same numbers."""
    from bayespec.inference.integrate import fit_joint

    model = _joint_model(spectra)
    ref = fit_joint(model, _sampler())
    s = _sampler(checkpoint_every=1e-9)
    ck = tmp_path / "joint.checkpoint.npz"
    got = fit_joint(model, s, ck)
    assert ck.exists()
    again = fit_joint(model, s, ck)
    for a in (got, again):
        assert np.array_equal(a.theta, ref.theta)
        assert a.free_energy == ref.free_energy and a.free_energy_se == ref.free_energy_se


def test_joint_checkpoint_of_another_fit_is_refused(spectra, tmp_path):
    from bayespec.sampling.checkpoint import CheckpointMismatch
    from bayespec.inference.integrate import fit_joint

    model = _joint_model(spectra)
    ck = tmp_path / "joint.checkpoint.npz"
    fit_joint(model, _sampler(), ck)
    with pytest.raises(CheckpointMismatch):
        fit_joint(model, _sampler(seed=4), ck)


def test_joint_target_se_stops_early(spectra):
    """sampler.target_se reaches joint fits: they stop at the first check point where the SE
    of F_joint is <= target and, as in single fits, its SE comes from enough batch estimates
    and the chains' F_joint agree (sweeps is the maximum)."""
    from bayespec.inference.integrate import fit_joint

    model = _joint_model(spectra)
    full = fit_joint(model, _sampler(sweeps=4000, chains=4))
    target = 2.0 * full.free_energy_se
    early = fit_joint(model, _sampler(sweeps=4000, chains=4, target_se=target))
    assert early.ne.shape[1] < full.ne.shape[1]
    assert early.free_energy_se <= target
    assert abs(early.free_energy - full.free_energy) < Z * np.hypot(early.free_energy_se,
                                                                    full.free_energy_se)


def test_joint_target_se_refuses_to_stop_on_too_few_batch_estimates(spectra):
    """Two chains give fewer than diagnostics.MIN_SE_BATCHES batch estimates of the SE: however
    loose the target, the joint fit runs every sweep (the single fits' rule)."""
    from bayespec.inference.integrate import fit_joint

    model = _joint_model(spectra)
    full = fit_joint(model, _sampler(sweeps=1500))
    got = fit_joint(model, _sampler(sweeps=1500, target_se=100.0))
    assert got.ne.shape == full.ne.shape and got.free_energy == full.free_energy
    assert "target_se was never applied: its SE comes from 10 batch" in \
        got.diagnostics["sampler_warnings"][0]
    assert full.diagnostics["sampler_warnings"] == []


def test_integrate_checkpoint_dir(spectra, tmp_path):
    """integrate(cfg, checkpoint_dir) checkpoints every separate and joint fit there, with the
    numbers of a run without checkpoints, and lists the files for removal."""
    cfg = parse_group_config(_group(), "group", spectra=spectra)
    ref = integrate(cfg)
    got = integrate(cfg, tmp_path / "ck")
    assert sorted(p.name for p in got.checkpoints) == [
        "joint-K1-1.checkpoint.npz", "separate-A.checkpoint.npz", "separate-B.checkpoint.npz"]
    assert all(p.exists() for p in got.checkpoints)
    assert got.table.equals(ref.table)


def test_cli_integrate_checkpoint_flag(spectra, tmp_path):
    """`bayespec integrate --checkpoint DIR` gives the numbers of a run without it and leaves
    no checkpoint behind once integration.csv is written."""
    import yaml

    from bayespec.cli import main

    for n in ("A", "B"):
        np.savetxt(tmp_path / f"{n}.csv", np.column_stack([spectra[n].x, spectra[n].y]),
                   delimiter=",", fmt="%.10g")
    g = _group()
    g["sampler"] = dict(SAMPLER, sweeps=600, burn_in=300, chains=2)
    for n in ("A", "B"):
        g["datasets"][n]["data"] = f"{n}.csv"
    (tmp_path / "GROUP.yaml").write_text(yaml.safe_dump(g))
    assert main([
        "integrate", str(tmp_path / "GROUP.yaml"), "--out", str(tmp_path / "a")]) == 0
    assert main(["integrate", str(tmp_path / "GROUP.yaml"), "--out", str(tmp_path / "b"),
                 "--checkpoint", str(tmp_path / "ck")]) == 0
    a = (tmp_path / "a" / "integration.csv").read_bytes()
    assert a == (tmp_path / "b" / "integration.csv").read_bytes()
    assert list((tmp_path / "ck").iterdir()) == []


def test_joint_fit_reports_its_convergence(untied, tmp_path):
    """Joint fits carry the single fits' checks (R-hat and bulk ESS of every free parameter
    at beta = 1, the chains' agreement on F_joint): in joint_selection.csv, as the joint
    store's root attrs and diagnostics group. This well-mixed fit passes them."""
    import json

    import xarray as xr

    from bayespec.inference.integrate_output import write_integration

    _, res = untied
    j = res.joint[0]
    d = j.diagnostics
    assert d["converged"], d["convergence_reasons"]
    assert list(d["per_param"]["param"]) == list(j.model.free_names)
    assert 1.0 <= d["rhat_max"] < 1.05 and d["ess_min"] >= d["ess_limit"]
    assert len(d["per_chain"]["free_energy"]) == SAMPLER["chains"]
    assert bool(res.selection["converged"].iloc[0])
    assert res.selection["rhat_max"].iloc[0] == d["rhat_max"]
    write_integration(res, tmp_path)
    tree = xr.open_datatree(next((tmp_path / "joint").glob("*.zarr")), engine="zarr")
    assert tree.attrs["converged"] and json.loads(tree.attrs["diagnostics"])["converged"]
    np.testing.assert_array_equal(tree["diagnostics"]["rhat"].values, d["per_param"]["rhat"])


def test_a_joint_fit_too_short_to_check_is_not_converged_and_warned_about(spectra):
    """Two draws per chain give no R-hat: the joint fit is reported not converged, and the
    result's warnings (printed by `bayespec integrate`) say so with the reason."""
    import bayespec

    group = _group()
    group["sampler"] = {**SAMPLER, "burn_in": 50, "sweeps": 10}
    res = bayespec.integrate(group, spectra={n: (s.x, s.y) for n, s in spectra.items()})
    d = res.best_joint.diagnostics
    assert not d["converged"] and "too few draws per chain" in d["convergence_reasons"][0]
    assert any(w.startswith("the selected joint fit K=1-1 has not converged: too few draws")
               for w in res.warnings)
