"""The Tougaard background (model.background.kind: tougaard): c0 + B sum_j K(T_ij) y_j |dE_j|
from the measured data, K(T) = T / (C + T^2)^2, the loss side from the data's end levels.

- the Numba background equals the plain NumPy reference (a dense matrix product) to 1e-12
  relative on a uniform and a non-uniform axis, both directions; its direction rule is
  models.shirley.shirley_direction's;
- physics: the loss tail of a narrow line of area A (kinetic axis, universal B and C) is
  B A K(T) at loss T, to 1e-3 relative; nothing on the side without losses;
- the single-spectrum and the joint kernel (one data set, a composite, a Gaussian + Poisson
  group) track the energy of the model's own curve (Problem.curve / JointModel.energy) of the
  recorded draws, Gaussian and Poisson;
- a short fit through the config API of Poisson counts from a Voigt doublet on its own
  Tougaard background returns B within its error bar;
- bad input: tougaard with shirley, a non-positive prior of B or C, an array backend.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from bayespec.errors import ConfigError
from bayespec.models.composite import build_composite
from bayespec.models.likelihood import poisson_energy
from bayespec.models.lines.reference import tougaard_background
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior
from bayespec.models.shapes import BACKGROUNDS, background_any
from bayespec.models.shirley import shirley_direction
from bayespec.models.tougaard import UNIVERSAL_B, UNIVERSAL_C, cross_section, data_direction

TG = BACKGROUNDS["tougaard"]
P = lambda spec: parse_prior(spec, "p")  # noqa: E731


def _numba(x, y, coefs):
    out = np.full(x.size, np.nan)
    background_any(TG.code, x, y, np.asarray(coefs, dtype=float), out)
    return out


def _spectrum(x, direction, rng):
    """Two lines on a step toward the loss side (the end of x for +1, the start for -1)."""
    mid = 0.5 * (x[0] + x[-1])
    y = (800.0 * np.exp(-0.5 * ((x - mid) / 0.6) ** 2)
         + 300.0 * np.exp(-0.5 * ((x - mid - 3.0) / 0.4) ** 2) + 100.0
         + direction * 40.0 * np.tanh((x - mid) / 2.0) + rng.normal(0, 3.0, x.size))
    return y


@pytest.mark.parametrize("direction", [1, -1], ids=["binding", "kinetic"])
@pytest.mark.parametrize("uniform", [True, False], ids=["uniform", "non-uniform"])
def test_numba_background_matches_reference(uniform, direction):
    rng = np.random.default_rng(7 + direction)
    for x in (np.linspace(1180.0, 1240.0, 601), np.linspace(276.0, 300.0, 481)):
        if not uniform:
            x = x + 0.3 * (x[1] - x[0]) * np.sin(3.0 * x)  # strictly increasing, not uniform
        y = _spectrum(x, direction, rng)
        assert shirley_direction(y) == direction == data_direction(y)
        for coefs in ([50.0, UNIVERSAL_B, UNIVERSAL_C], [-3.0, 400.0, 20.0], [0.0, 1e4, 3e3]):
            ref = tougaard_background(x, y, *coefs, direction)
            np.testing.assert_allclose(_numba(x, y, coefs), ref, rtol=1e-12, atol=0)
        # the Python-side curve is the same function: identical numbers
        out = np.empty(x.size)
        TG.curve(x, y, np.array([50.0, UNIVERSAL_B, UNIVERSAL_C]), out)
        assert np.array_equal(out, _numba(x, y, [50.0, UNIVERSAL_B, UNIVERSAL_C]))


def test_direction_is_shirleys():
    rng = np.random.default_rng(3)
    cases = [rng.normal(size=n) for n in (1, 3, 5, 9, 40)]
    cases += [np.ones(12), np.r_[np.zeros(6), np.ones(6)], np.r_[np.ones(6), np.zeros(6)],
              np.r_[0.1, 0.2, 0.3, 0.4, 0.5, 9.0, 0.5, 0.4, 0.3, 0.2, 0.1]]
    for y in cases:
        assert data_direction(y) == shirley_direction(y), y


def test_loss_tail_of_a_narrow_line():
    """A Gaussian line of area A at E0 on a kinetic axis: at loss T the background is
    B A K(T) (the line narrow against T), and nothing above the line. The data carry a weak
    copy (1e-6) of the line's own loss tail, so their end levels give the kinetic direction."""
    x = np.arange(1000.0, 1300.0 + 1e-9, 0.05)
    E0, sd, A = 1290.0, 0.15, 1.0e4
    line = A / (sd * math.sqrt(2 * math.pi)) * np.exp(-0.5 * ((x - E0) / sd) ** 2)
    first = tougaard_background(x, line, 0.0, UNIVERSAL_B, UNIVERSAL_C, -1)
    y = line + 1e-6 * first
    assert shirley_direction(y) == -1
    c0 = 50.0
    bg = _numba(x, y, [c0, UNIVERSAL_B, UNIVERSAL_C]) - c0
    T = E0 - x
    far = (T >= 10.0) & (T <= 280.0)
    closed = UNIVERSAL_B * A * cross_section(T[far], UNIVERSAL_C)
    np.testing.assert_allclose(bg[far], closed, rtol=1e-3)
    assert np.max(np.abs(bg[T < -2.0])) < 1e-9 * np.max(bg)  # no losses toward higher KE
    # the integral over the loss side: B A int_1^Tmax K dT, int K = -1 / (2 (C + T^2))
    C, tmax = UNIVERSAL_C, E0 - x[0]
    expect = UNIVERSAL_B * A * 0.5 * (1 / (C + 1.0) - 1 / (C + tmax ** 2))
    assert np.sum(bg[T > 1.0]) * 0.05 == pytest.approx(expect, rel=1e-3)


# ----------------------------------------------------------------------------- kernels

def _data(rng, counts):
    """A Voigt doublet on its own Tougaard background, kinetic axis (losses at lower x)."""
    x = np.linspace(60.0, 100.0, 321)
    prob = build_problem(x, np.ones(x.size), None, "doublet_voigt", 1, "constant", None, {
        "splitting": P({"dist": "fixed", "value": -3.67}), "ratio": P({"dist": "fixed",
                                                                         "value": 0.75})})
    lines = prob.curve(np.array([3000.0, 92.0, 0.4, 0.2, -3.67, 0.75, 0.0]))
    mean = _self_consistent(x, lines, 50.0, UNIVERSAL_B, UNIVERSAL_C, -1)
    y = rng.poisson(mean).astype(float) if counts else mean + rng.normal(0, 10.0, x.size)
    return x, y, mean


def _self_consistent(x, lines, c0, B, C, direction):
    """The mean m = lines + c0 + B K*(m): a spectrum carrying its own Tougaard background."""
    m = lines + c0
    for _ in range(400):
        new = lines + tougaard_background(x, m, c0, B, C, direction)
        if np.max(np.abs(new - m)) < 1e-10 * np.max(m):
            return new
        m = new
    raise AssertionError("no convergence")


def _priors():
    return {"amplitude": P({"dist": "uniform", "low": 0, "high": 1e4}),
            "center": P({"dist": "uniform", "low": 88, "high": 96}),
            "width": P({"dist": "lognormal", "mu": -1.0, "sigma": 0.5}),
            "gamma": P({"dist": "lognormal", "mu": -1.5, "sigma": 0.5}),
            "splitting": P({"dist": "fixed", "value": -3.67}),
            "ratio": P({"dist": "uniform", "low": 0.6, "high": 0.9}),
            "background": [P({"dist": "uniform", "low": 0, "high": 200}),
                           P({"dist": "lognormal", "mu": math.log(UNIVERSAL_B), "sigma": 1.0}),
                           P({"dist": "lognormal", "mu": math.log(UNIVERSAL_C), "sigma": 0.5})]}


@pytest.mark.parametrize("likelihood", ["gaussian", "poisson"])
def test_single_kernel_energy(likelihood):
    from bayespec.sampling.sampler import geometric_ladder, run_one

    x, y, _ = _data(np.random.default_rng(4), likelihood == "poisson")
    prob = build_problem(x, y, None, "doublet_voigt", 1, "tougaard", None, _priors(),
                         likelihood=likelihood)
    assert prob.coef_names == ["c0", "tougaard_B", "tougaard_C"]
    top = 1.0 / 100 if likelihood == "gaussian" else 1.0
    betas = geometric_ladder(top, 6, 2.0)
    out = run_one(prob, betas, 40, 120, 1, 5, 0)
    nb0 = prob.K * prob.stride
    assert np.all(out.acc[:, nb0:] > 0)  # every background coefficient moved at every rung
    for l in range(len(betas)):
        f = prob.curve(out.theta[l])
        ne = (poisson_energy(f, y) if likelihood == "poisson"
              else 0.5 * np.sum(prob.w * (y - f) ** 2, axis=-1))
        np.testing.assert_allclose(out.ne[l], ne, rtol=1e-8, atol=1e-6)


@pytest.mark.parametrize("likelihood", ["gaussian", "poisson"])
def test_joint_kernel_energy(likelihood):
    from bayespec.sampling.joint import build_joint, joint_ladder, run_joint_many

    x, y, _ = _data(np.random.default_rng(5), likelihood == "poisson")
    b = 1.0 / 100 if likelihood == "gaussian" else 1.0
    prob = build_problem(x, y, None, "doublet_voigt", 1, "tougaard", None, _priors(),
                         likelihood=likelihood)
    pri = _priors()
    comp = build_composite(x, y, None, [("main", "doublet_voigt", 1), ("extra", "gaussian", 1)],
                           "tougaard", None, {"main": pri, "background": pri["background"],
                                              "extra": {"center": P({"dist": "uniform",
                                                                     "low": 60, "high": 86})}},
                           likelihood=likelihood)
    for p in (prob, comp):
        model = build_joint([""], [p], [b], [], {}, "test")
        betas = joint_ladder(model, 6, 2.0, False, 0)
        chains = run_joint_many(model, betas, 40, 120, 1, 2, 5, threads=1)
        for c in chains:
            assert np.all(c.acc[:, -3:] > 0)
            for l in range(len(betas)):
                np.testing.assert_allclose(c.ne[l], model.energy(c.theta[l]), rtol=1e-8,
                                           atol=1e-6)


def test_ties_keep_B_and_C_positive():
    """tougaard_B / tougaard_C (background[1], [2]) may be tied only by '=' or a positive factor
    to another B or C: a constant, an offset or a level c0 could make them negative."""
    from bayespec.models.ties import parse_tie
    from bayespec.sampling.joint import build_joint

    x, y, _ = _data(np.random.default_rng(6), False)
    pa = build_problem(x, y, None, "doublet_voigt", 1, "tougaard", None, _priors())
    pb = build_problem(x, y, None, "doublet_voigt", 1, "tougaard", None, _priors())
    ok = build_joint(["A", "B"], [pa, pb], [0.01, 0.01],
                     [parse_tie("B.background[1] = 0.9 * A.background[1]", "t"),
                      parse_tie("B.background[2] = A.background[2]", "t")], {}, "test")
    assert len(ok.priors) == len(pa.priors) + len(pb.priors) - 2
    for text in ("B.background[1] = A.background[1] + 10", "B.background[2] = "
                 "A.background[2] - 5", "B.background[1] = A.background[0]",
                 "B.background[0] = A.background[1]"):
        with pytest.raises(ConfigError, match="positive"):
            build_joint(["A", "B"], [pa, pb], [0.01, 0.01], [parse_tie(text, "t")], {}, "test")


def test_joint_kernel_energy_two_data_sets():
    """A Gaussian and a Poisson data set, each its own Tougaard background from its own data
    (the kernel slices the measured data per data set)."""
    from bayespec.sampling.joint import build_joint, joint_ladder, run_joint_many

    xa, ya, _ = _data(np.random.default_rng(6), False)
    xb, yb, _ = _data(np.random.default_rng(7), True)
    pa = build_problem(xa, ya, None, "doublet_voigt", 1, "tougaard", None, _priors())
    pb = build_problem(xb[::2], yb[::2], None, "doublet_voigt", 1, "tougaard", None, _priors(),
                       likelihood="poisson")
    model = build_joint(["A", "B"], [pa, pb], [1.0 / 100, 1.0], [], {}, "test")
    betas = joint_ladder(model, 5, 2.0, False, 0)
    for c in run_joint_many(model, betas, 40, 100, 1, 1, 8, threads=1):
        for l in range(len(betas)):
            np.testing.assert_allclose(c.ne[l], model.energy(c.theta[l]), rtol=1e-8, atol=1e-6)


# ----------------------------------------------------------------------------- a fit

def test_fit_recovers_B():
    """Poisson counts from a Voigt doublet on its own Tougaard background (B = 2866,
    C = 1643 eV^2, c0 = 50; kinetic axis, 40 eV window): B within 3 posterior sd (+ the sd of
    its chains' means) of the truth, with the default priors of B and C."""
    from bayespec import fit

    x, y, _ = _data(np.random.default_rng(9), True)
    cfg = {"model": {"shape": "doublet_voigt", "K": [1], "likelihood": "poisson",
                     "background": "tougaard"},
           "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 1e4},
                      "center": {"dist": "uniform", "low": 88, "high": 96},
                      "width": {"dist": "lognormal", "mu": -1.0, "sigma": 0.7},
                      "gamma": {"dist": "lognormal", "mu": -1.5, "sigma": 0.7},
                      "splitting": {"dist": "fixed", "value": -3.67},
                      "ratio": {"dist": "fixed", "value": 0.75}},
           "sampler": {"burn_in": 500, "sweeps": 1000, "chains": 2, "replicas": 10,
                       "seed": 4}}
    res = fit(x, y, cfg)
    post = res.posterior(res.table["K"].iloc[0] if "K" in res.table else 1)["posterior"]
    coefs = [str(c) for c in post["coef"].values]
    assert coefs == ["c0", "tougaard_B", "tougaard_C"]
    bg = np.asarray(post["background"])
    B = bg[..., coefs.index("tougaard_B")]
    spread = np.std(B.mean(axis=1))
    assert abs(B.mean() - UNIVERSAL_B) < 3 * (B.std() + spread), (B.mean(), B.std(), spread)
    assert B.std() < 0.5 * UNIVERSAL_B  # the data, not only the prior (sd ~ 1.3 B there)


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("shirley", [True, "active"])
def test_tougaard_with_shirley_is_refused(shirley):
    from bayespec.config import parse_fit_config

    with pytest.raises(ConfigError) as e:
        parse_fit_config({"model": {"background": {"kind": "tougaard", "shirley": shirley}}})
    msg = str(e.value)
    assert "model.background.shirley" in msg and "model.background.kind tougaard" in msg, msg
    x = np.linspace(60.0, 100.0, 101)
    with pytest.raises(ConfigError, match=r"model\.background: kind tougaard with shirley"):
        build_problem(x, 100 + x, None, "gaussian", 1, "tougaard", None, {}, shirley=shirley)


def test_default_priors_and_positive_B_C():
    x = np.linspace(60.0, 100.0, 101)
    prob = build_problem(x, 100 + x, None, "gaussian", 1, "tougaard", None, {})
    c0, B, C = prob.priors[-3:]
    assert (c0.dist, B.dist, C.dist) == ("normal", "lognormal", "lognormal")
    assert B.params[:2] == (pytest.approx(math.log(2866.0)), 1.0)
    assert C.params[:2] == (pytest.approx(math.log(1643.0)), 0.5)
    counts = build_problem(x, np.round(100 + x), None, "gaussian", 1, "tougaard", None, {},
                           likelihood="poisson")
    assert counts.priors[-3].dist == "uniform" and counts.priors[-3].support[0] == 0.0
    bad = [P({"dist": "normal", "mean": 0, "sd": 10}),
           P({"dist": "normal", "mean": 2866, "sd": 100}), P({"dist": "uniform", "low": 1,
                                                             "high": 2})]
    with pytest.raises(ConfigError, match=r"priors\.background\[1\].*tougaard_B.*positive"):
        build_problem(x, 100 + x, None, "gaussian", 1, "tougaard", None, {"background": bad})
    from bayespec.config import parse_fit_config
    from bayespec.errors import PriorError

    with pytest.raises(PriorError, match=r"priors\.background\[2\].*positive"):
        parse_fit_config({"model": {"background": "tougaard"}, "priors": {"background": [
            {"dist": "normal", "mean": 0, "sd": 10}, {"dist": "lognormal", "mu": 8, "sigma": 1},
            {"dist": "normal", "mean": 1643, "sd": 100}]}})


def test_array_backends_refuse_it():
    from bayespec.sampling import batched

    x = np.linspace(60.0, 100.0, 101)
    prob = build_problem(x, 100 + x, None, "gaussian", 1, "tougaard", None, {})
    with pytest.raises(ConfigError, match=r"sampler\.backend: background tougaard runs on the "
                                          r"numba backend only"):
        batched.run_batched([prob], np.array([0.0, 1.0]), 2, 2, 1, 1, 0, xp=np)
