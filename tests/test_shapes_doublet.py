"""Doublet and asymmetric line shapes, and the fixed prior."""

import math

import numpy as np
import pytest

from bayespec.errors import ConfigError
from bayespec.models.model import build_problem
from bayespec.models.priors import parse_prior
from bayespec.models.shapes import SHAPES, uniform_step


def _prof(name, x, c, w, extra):
    out = np.zeros_like(x)
    lo, hi = SHAPES[name].profile(x, uniform_step(x), c, w, np.asarray(extra, float), out)
    out[:lo] = 0.0
    out[hi:] = 0.0
    return out


X = np.linspace(-60.0, 60.0, 240001)


@pytest.mark.parametrize("name,extra", [("doublet_gaussian", []), ("doublet_pseudo_voigt", [0.3]),
                                        ("doublet_asym_pseudo_voigt", [0.3, 0.4])])
def test_doublet_splitting_and_area_ratio(name, extra):
    c, w, split, ratio = 2.0, 0.4, -3.67, 0.75
    g = _prof(name, X, c, w, extra + [split, ratio])
    base = {"doublet_gaussian": "gaussian", "doublet_pseudo_voigt": "pseudo_voigt",
            "doublet_asym_pseudo_voigt": "asym_pseudo_voigt"}[name]
    main = _prof(base, X, c, w, extra)
    partner = _prof(base, X, c + split, w, extra)
    np.testing.assert_allclose(g, main + ratio * partner, atol=1e-12)
    # area ratio partner : main is `ratio` and the partner sits at center + splitting
    assert np.trapezoid(g - main, X) / np.trapezoid(main, X) == pytest.approx(ratio, rel=5e-4)
    mid = X < c + split / 2
    assert X[mid][np.argmax(g[mid])] == pytest.approx(c + split, abs=0.02)
    # the registered area is the total area of the pair
    area = SHAPES[name].area(np.array(1.0), np.array(w), np.array(extra + [split, ratio]))
    eta = extra[0] if extra else 0.0
    a = extra[1] if len(extra) > 1 else 0.0
    s_lo, s_hi = (2.0, 0.0) if a > 0 else (1.0, 1.0)  # limiting widths (in w) on each side
    tails = sum(h * eta * w ** 2 * (s_lo ** 2 / (cl - X[0]) + s_hi ** 2 / (X[-1] - cl))
                for h, cl in ((1.0, c), (ratio, c + split)))  # Lorentzian tails beyond |x| = 60
    assert float(area) == pytest.approx(np.trapezoid(g, X) + tails, rel=2e-4)


def test_asym_pseudo_voigt_limits_and_area():
    c, w = 0.3, 0.5
    for eta in (0.0, 0.4, 1.0):
        np.testing.assert_allclose(_prof("asym_pseudo_voigt", X, c, w, [eta, 0.0]),
                                   _prof("pseudo_voigt", X, c, w, [eta]), atol=1e-14)
        # asym = 0: numerical area and FWHM agree with the pseudo-Voigt's closed forms
        ex = np.array([eta, 0.0])
        assert float(SHAPES["asym_pseudo_voigt"].area(1.0, w, ex)) == pytest.approx(
            float(SHAPES["pseudo_voigt"].area(1.0, w, np.array([eta]))), rel=1e-4)
        assert float(SHAPES["asym_pseudo_voigt"].fwhm(w, ex)) == pytest.approx(2 * w, abs=0.05 * w)
    for eta, a in ((0.3, 0.5), (0.0, -0.8), (0.7, 1.0)):
        g = _prof("asym_pseudo_voigt", X, c, w, [eta, a])
        assert g[np.argmin(np.abs(X - c))] == pytest.approx(1.0, abs=1e-9)  # unit height at c
        left, right = np.trapezoid(g[X < c], X[X < c]), np.trapezoid(g[X > c], X[X > c])
        assert (left > right) == (a > 0)  # asym > 0: tail towards lower x
        # registered area (trapezoid on +-40 widths plus tails) vs a wide fine integral
        tail = eta * (2.0 if a != 0 else 1.0) ** 2 * w ** 2 / 60.0  # beyond |x - c| = 60
        assert float(SHAPES["asym_pseudo_voigt"].area(1.0, w, np.array([eta, a]))) == \
            pytest.approx(np.trapezoid(g, X) + tail, rel=2e-4)


def test_fixed_prior():
    p = parse_prior({"dist": "fixed", "value": -3.67}, "priors.splitting")
    assert p.fixed and p.support == (-3.67, -3.67) and not p.positive
    assert np.all(p.sample(np.random.default_rng(0), 5) == -3.67)
    assert p.logpdf(-3.67) == 0.0 and p.logpdf(-3.6) == -np.inf
    assert parse_prior({"dist": "fixed", "value": 0.75}, "r", positive=True).positive


def test_doublet_needs_splitting_and_positive_ratio():
    x = np.linspace(0, 10, 50)
    with pytest.raises(ConfigError, match="priors.splitting: required by shape doublet_gaussian"):
        build_problem(x, x, None, "doublet_gaussian", 1, "constant", None,
                      {"ratio": parse_prior({"dist": "fixed", "value": 0.75}, "r", True)})
    with pytest.raises(ConfigError, match="priors.ratio: must have positive support"):
        build_problem(x, x, None, "doublet_gaussian", 1, "constant", None,
                      {"splitting": parse_prior({"dist": "fixed", "value": 1.0}, "s"),
                       "ratio": parse_prior({"dist": "normal", "mean": 1, "sd": 1}, "r")})
    assert math.isclose(float(SHAPES["doublet_gaussian"].fwhm(1.0, np.array([1.0, 0.5]))),
                        2 * math.sqrt(2 * math.log(2)))
