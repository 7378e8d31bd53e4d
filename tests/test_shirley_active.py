"""The active Shirley background (issue 13): the step of the model's own peaks inside the model.

- the Numba running integral (add_shirley, windowed, both directions) equals the plain
  trapezoid cumsum of models.shirley.running_integral;
- the joint kernel's incrementally tracked energy equals a from-scratch evaluation of the
  recorded draws (Gaussian and Poisson, a DS doublet + a second component, the Shirley scale
  moving every peak's share);
- a synthetic Au-4f-like spectrum drawn from a doublet on an active Shirley step (kinetic
  axis: the step toward lower x) returns the true scale within its error bar, and its fitted
  mean equals the generating one to the noise level.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bayespec.models.composite import build_composite
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior
from bayespec.models.shirley import add_shirley, running_integral, shirley_direction
from bayespec.sampling.joint import build_joint, joint_ladder, run_joint_many


@pytest.mark.parametrize("direction", [1, -1])
@pytest.mark.parametrize("uniform", [True, False])
def test_numba_running_integral_matches_reference(direction, uniform):
    x = np.linspace(0.0, 10.0, 301)
    if not uniform:
        x = x + 0.01 * np.sin(5 * x)
    g = np.zeros(x.size)
    lo, hi = 90, 200
    g[lo:hi] = np.exp(-0.5 * ((x[lo:hi] - 4.5) / 0.4) ** 2)
    ref = g + 0.37 * running_integral(x, g, direction)
    out = g.copy()
    out[:lo] = 5.0 if direction > 0 else 0.0  # outside the window: must be overwritten / kept
    out[hi:] = 0.0 if direction > 0 else 5.0
    a, b = add_shirley(x, out, lo, hi, direction, 0.37)
    assert (a, b) == ((lo, x.size) if direction > 0 else (0, hi))
    np.testing.assert_allclose(out[a:b], ref[a:b], rtol=1e-12, atol=1e-14)


def _doublet_data(rng, counts=True):
    x = np.linspace(80.0, 92.0, 241)  # kinetic energy
    prob = build_problem(x, np.ones(x.size), None, "doublet_voigt", 1, "constant", None, {
        "splitting": parse_prior({"dist": "fixed", "value": -3.67}, "s"),
        "ratio": parse_prior({"dist": "fixed", "value": 0.75}, "r")}, shirley="active")
    prob = dataclasses.replace(prob, shirley_dir=-1)  # kinetic axis: the step at lower x
    theta = np.array([5000.0, 88.0, 0.25, 0.15, -3.67, 0.75, 300.0, 0.6])
    mean = prob.curve(theta)
    y = rng.poisson(mean).astype(float) if counts else mean + rng.normal(0, 20.0, x.size)
    return x, y, theta, mean


def test_direction_and_curve_follow_the_physics():
    x, y, theta, mean = _doublet_data(np.random.default_rng(1))
    assert shirley_direction(y) == -1  # kinetic axis: the inelastic step at lower x
    assert mean[0] > mean[-1] + 0.5 * 0.6 * 5000 * 0.25  # the step s * area below the lines


@pytest.mark.parametrize("likelihood", ["gaussian", "poisson"])
def test_joint_kernel_energy_with_active_shirley(likelihood):
    x, y, _, _ = _doublet_data(np.random.default_rng(2), counts=likelihood == "poisson")
    P = lambda spec: parse_prior(spec, "p")  # noqa: E731
    pri = {"bulk": {"amplitude": P({"dist": "uniform", "low": 0, "high": 1e4}),
                    "center": P({"dist": "uniform", "low": 86, "high": 90}),
                    "width": P({"dist": "lognormal", "mu": -1.5, "sigma": 0.5}),
                    "gamma": P({"dist": "lognormal", "mu": -2.0, "sigma": 0.5}),
                    "alpha": P({"dist": "uniform", "low": 0, "high": 0.3}),
                    "splitting": P({"dist": "fixed", "value": -3.67}),
                    "ratio": P({"dist": "uniform", "low": 0.6, "high": 0.9})},
           "extra": {"amplitude": P({"dist": "uniform", "low": 0, "high": 2e3}),
                     "center": P({"dist": "uniform", "low": 80, "high": 92})},
           "background": P({"dist": "uniform", "low": 100, "high": 500})}
    comp = build_composite(x, y, None, [("bulk", "doublet_doniach_gaussian", 1),
                                        ("extra", "gaussian", 1)], "constant", None, pri,
                           likelihood=likelihood, shirley="active")
    assert comp.shirley_dir == -1 and comp.param_names[-1] == "shirley"
    model = build_joint([""], [comp], [1.0 / 400 if likelihood == "gaussian" else 1.0], [], {},
                        "test")
    betas = joint_ladder(model, 6, 2.0, False, 0)
    chains = run_joint_many(model, betas, 40, 120, 1, 2, 5, threads=1)
    for c in chains:
        for l in (0, len(betas) - 1):
            np.testing.assert_allclose(c.ne[l], model.energy(c.theta[l]), rtol=1e-8, atol=1e-6)


def test_active_shirley_recovers_the_scale():
    """Poisson counts from a Voigt doublet on an active Shirley step (s = 0.6 / eV); the fit's
    s within 3 posterior sd (+ the sd of its chains' means) of the truth."""
    from bayespec import fit

    x, y, theta, mean = _doublet_data(np.random.default_rng(3))
    cfg = {"model": {"shape": "doublet_voigt", "K": [1], "likelihood": "poisson",
                     "background": {"kind": "constant", "shirley": "active"}},
           "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 2e4},
                      "center": {"dist": "uniform", "low": 86, "high": 90},
                      "width": {"dist": "lognormal", "mu": -1.5, "sigma": 0.7},
                      "gamma": {"dist": "lognormal", "mu": -2.0, "sigma": 0.7},
                      "splitting": {"dist": "fixed", "value": -3.67},
                      "ratio": {"dist": "fixed", "value": 0.75},
                      "background": {"dist": "uniform", "low": 0, "high": 1000}},
           "sampler": {"burn_in": 500, "sweeps": 1000, "chains": 2, "replicas": 10,
                       "seed": 4}}
    res = fit(x, y, cfg)
    post = res.posterior(res.table["K"].iloc[0] if "K" in res.table else 1)["posterior"]
    bg = np.asarray(post["background"])
    coefs = [str(c) for c in post["coef"].values]
    s = bg[..., coefs.index("shirley")]
    spread = np.std(s.mean(axis=1))
    assert abs(s.mean() - 0.6) < 3 * (s.std() + spread), (s.mean(), s.std(), spread)
