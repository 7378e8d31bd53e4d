"""The measured line shapes (issue 13): each against what nobody here chose.

- Voigt: scipy.special.voigt_profile (Faddeeva function), 1e-6 relative wherever the profile
  exceeds 1e-10 of its peak, over four decades of gamma / sigma;
- Doniach-Sunjic * Gaussian: a direct Simpson convolution (models.lines.reference), alpha = 0
  equal to the Voigt, the tail on the documented side, alpha < 0 the mirror image;
- CasaXPS GL/SGL: the limits (Gaussian and Lorentzian of HWHM width), SGL = pseudo-Voigt;
- areas and FWHMs of every shape with a finite area: the registered formulas against a plain
  trapezoid and half-maximum search on the fast profile;
- edges: half height at the center, derivative = the documented Lorentzian / Gaussian;
- K-alpha: Bragg's law with the Cu wavelengths of Hoelzer et al. 1997, computed here;
- 57Fe sextet: the alpha-Fe calibration lines (+-5.312, +-3.076, +-0.840 mm/s at 33.0 T,
  Greenwood & Gibb) and a synthetic alpha-Fe spectrum drawn from those published positions,
  whose fitted field is 33.0 T within its standard error plus the constants' 0.03 %;
- every shape builds with priors for amplitude, center and width only (and splitting and
  ratio for doublets): every other extra has a registered default.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import voigt_profile

from bayespec.models.lines import mossbauer, reference
from bayespec.models.model import build_problem
from bayespec.models.shapes import EXTRAS, SHAPES, profile_any, uniform_step


def _prof(name, x, center, width, extra):
    out = np.zeros(x.size)
    profile_any(SHAPES[name].code, x, uniform_step(x), center, width, np.asarray(extra, float),
                out)
    return out


@pytest.mark.parametrize("uniform", [True, False])
@pytest.mark.parametrize("ratio", [1e-4, 1e-2, 0.3, 1.0, 5.0, 100.0])
def test_voigt_matches_scipy(ratio, uniform):
    x = np.linspace(-40, 40, 3001)
    if not uniform:
        x = x + 0.004 * np.sin(3 * x)
    sigma = 0.7
    got = _prof("voigt", x, 0.3, sigma, [ratio * sigma])
    ref = voigt_profile(x - 0.3, sigma, ratio * sigma) / voigt_profile(0.0, sigma, ratio * sigma)
    keep = ref > 1e-10
    np.testing.assert_allclose(got[keep], ref[keep], rtol=1e-6)
    assert np.all(np.abs(got - ref) <= 1e-13)


def test_doniach_gaussian_alpha0_is_voigt_and_tail_side():
    x = np.linspace(-10, 10, 801)
    v = _prof("voigt", x, 0.0, 0.4, [0.2])
    np.testing.assert_allclose(_prof("doniach_gaussian", x, 0.0, 0.4, [0.2, 0.0]), v,
                               atol=1e-12)
    ds = _prof("doniach_gaussian", x, 0.0, 0.4, [0.2, 0.15])
    assert ds[x < -3].sum() > 5 * ds[x > 3].sum()  # alpha > 0: tail toward lower x
    mirror = _prof("doniach_gaussian", x, 0.0, 0.4, [0.2, -0.15])
    np.testing.assert_allclose(mirror, ds[::-1], rtol=0, atol=1e-8)  # quadrature vs series
    assert _prof("doniach_gaussian", np.array([-1.0, 0.0, 1.0]), 0.0, 0.4, [0.2, 0.3])[1] == (
        pytest.approx(1.0, abs=1e-14))  # unit height at the line position


@pytest.mark.parametrize("sigma,gamma,alpha", [(0.3, 0.1, 0.1), (0.1, 0.3, 0.3), (0.5, 0.02, 0.05),
                                               (0.2, 0.2, -0.2)])
def test_doniach_gaussian_against_fine_convolution(sigma, gamma, alpha):
    x = np.linspace(80.0, 95.0, 294)  # an XPS window, 0.05 eV steps
    got = _prof("doniach_gaussian", x, 87.3, sigma, [gamma, alpha])
    ref = reference.profile("doniach_gaussian", x, 87.3, sigma, np.array([gamma, alpha]))
    np.testing.assert_allclose(got, ref, atol=1e-7)


def _direct(x, center, sigma, gamma, alpha):
    """The quadrature summed point by point (no phase recurrence): the plain path."""
    from bayespec.models.lines import broadened as br
    a, g = gamma / sigma, math.gamma(1.0 - alpha)
    uk, wk = np.empty(br.NODES), np.empty(br.NODES)
    nq = br._nodes(a, alpha, uk, wk)
    v = [br._value((xi - center) / sigma, a, alpha, g, uk, wk, nq) for xi in x]
    return np.array(v) / br._value(0.0, a, alpha, g, uk, wk, nq)


@pytest.mark.parametrize("sigma,gamma,alpha", [(0.2, 0.115, 0.026), (0.03, 0.01, 0.0),
                                               (0.021, 0.01, 0.0), (0.05, 0.5, 0.2)])
def test_nearly_uniform_axis_matches_direct_sums(sigma, gamma, alpha):
    """A measured axis printed to 4 decimals (steps 0.0409 / 0.0410 eV, like the Au 4f file) is
    not uniform to 1e-9, so no exact recurrence; the Taylor-corrected phases on its nominal
    grid (deviation e <= EMAX) must equal the direct per-point sums to e^4 / 8 of the peak,
    and the Voigt must still equal scipy's."""
    from bayespec.models.lines.broadened import EMAX
    x = np.round(np.linspace(84.0, 95.9984, 294), 4)
    h = (x[-1] - x[0]) / (x.size - 1)
    e = np.abs(x - (x[0] + h * np.arange(x.size))).max() / sigma
    assert uniform_step(x) == 0.0 and 0.0 < e <= EMAX  # the path under test
    got = _prof("doniach_gaussian", x, 92.2, sigma, [gamma, alpha])
    np.testing.assert_allclose(got, _direct(x, 92.2, sigma, gamma, alpha), rtol=0,
                               atol=max(e ** 4 / 8, 1e-13))
    if alpha == 0.0:
        ref = voigt_profile(x - 92.2, sigma, gamma) / voigt_profile(0.0, sigma, gamma)
        np.testing.assert_allclose(got, ref, rtol=0, atol=max(e ** 4 / 8, 1e-12))


def test_gl_limits_and_sum_is_pseudo_voigt():
    x = np.linspace(-6, 6, 601)
    w = 0.8
    np.testing.assert_allclose(_prof("gl_product", x, 0, w, [0.0]),
                               np.exp(-math.log(2) * (x / w) ** 2), atol=1e-15)
    np.testing.assert_allclose(_prof("gl_product", x, 0, w, [1.0]), 1 / (1 + (x / w) ** 2),
                               atol=1e-15)
    for m in (0.0, 0.3, 1.0):
        np.testing.assert_array_equal(_prof("gl_sum", x, 0, w, [m]),
                                      _prof("pseudo_voigt", x, 0, w, [m]))
        # the half maximum of both parts at x = -+w (F = 2 w)
        assert _prof("gl_sum", np.array([w]), 0, w, [m])[0] == pytest.approx(0.5, abs=1e-12)


EXAMPLE = {"voigt": [0.15], "doublet_voigt": [0.15, 2.5, 0.6],
           "doniach_gaussian": [0.15, 0.12], "doublet_doniach_gaussian": [0.15, 0.12, 2.5, 0.6],
           "gl_sum": [0.3], "gl_product": [0.3], "split_pseudo_voigt": [0.4, 1.8],
           "kalpha_pseudo_voigt": [0.4, 0.5, 1.0024802], "mossbauer_doublet": [1.2],
           "mossbauer_sextet": [0.1, 20.0, 2.0], "pseudo_voigt": [0.4],
           "asym_pseudo_voigt": [0.4, 0.3], "doublet_gaussian": [2.5, 0.6],
           "doublet_pseudo_voigt": [0.4, 2.5, 0.6], "doublet_asym_pseudo_voigt": [0.4, 0.3, 2.5,
                                                                                   0.6]}


@pytest.mark.parametrize("name", sorted(s for s in SHAPES if not s.startswith("edge_")))
def test_area_and_fwhm_formulas(name):
    shp = SHAPES[name]
    extra = np.array(EXAMPLE.get(name, []), float)
    width = 0.3 if name != "gaussian_nagata" else 10.0
    center = 45.0 if name == "kalpha_pseudo_voigt" else 0.0
    area = float(shp.area(np.array([2.0]), np.array([width]), extra[None, :])[0])
    fwhm = float(shp.fwhm(np.array([width]), extra[None, :])[0])
    ds = name in ("doniach_gaussian", "doublet_doniach_gaussian")
    half = 25.0 * (width + extra[0]) if ds else 4000.0  # DS: the documented window
    x = np.linspace(center - half, center + half, 200001 if ds else 2000001)
    y = 2.0 * np.abs(_prof(name, x, center, width, extra))
    if name.startswith("doublet_"):  # the partner's window is shifted: integrate the main line
        y = 2.0 * np.abs(_prof(name[len("doublet_"):], x, center, width, extra[:-2]))
        area /= 1.0 + extra[-1]
    trap = np.trapezoid(y, x)
    if not ds:  # tails beyond the window: y ~ c / d^2 there, so their integral is y(D) D
        trap += (y[0] + y[-1]) * half
    assert area == pytest.approx(trap, rel=2e-4)
    if "asym" in shp.extra:  # its FWHM is read off a grid of 0.025 widths (documented)
        return
    # FWHM of one line: the half-maximum crossings around the highest point of the main line
    if name.startswith("mossbauer") or name == "kalpha_pseudo_voigt" or name.startswith("doublet"):
        base = {"mossbauer_doublet": "lorentzian", "mossbauer_sextet": "lorentzian",
                "kalpha_pseudo_voigt": "pseudo_voigt"}.get(name, name[len("doublet_"):])
        ex = {"lorentzian": [], "pseudo_voigt": extra[:1]}.get(base, extra[:-2])
        y = _prof(base, x, center, width, np.asarray(ex, float))
    top = int(np.argmax(y))
    above = np.nonzero(y >= 0.5 * y[top])[0]
    assert fwhm == pytest.approx(x[above[-1]] - x[above[0]], abs=2 * (x[1] - x[0]) + 1e-4 * fwhm)


@pytest.mark.parametrize("name,deriv", [
    ("edge_arctan", lambda u: 1 / (np.pi * (1 + u * u))),
    ("edge_erf", lambda u: np.exp(-0.5 * u * u) / math.sqrt(2 * math.pi))])
def test_edges(name, deriv):
    x = np.linspace(7100, 7130, 3001)
    w = 1.3
    y = _prof(name, x, 7112.0, w, [])
    assert _prof(name, np.array([7112.0]), 7112.0, w, [])[0] == pytest.approx(0.5, abs=1e-15)
    slope = np.gradient(y, x)[1:-1]  # central differences: error h^2 max|f'''| / 6 < 1e-5
    np.testing.assert_allclose(slope, deriv((x[1:-1] - 7112.0) / w) / w, atol=1e-5)
    assert y[0] < 0.05 and y[-1] > 0.95


def test_kalpha2_position_by_bragg():
    lam1, lam2 = 1.5405929, 1.5444140  # Cu K-alpha1, K-alpha2 (A), Hoelzer et al. 1997
    for two_theta in (28.44, 47.30, 88.03, 127.55):  # Si 111, 220, 422, 533-ish positions
        d = lam1 / (2 * math.sin(math.radians(two_theta / 2)))
        expect = 2 * math.degrees(math.asin(lam2 / (2 * d)))
        x = np.linspace(two_theta - 1, two_theta + 1.5, 5001)
        y = _prof("kalpha_pseudo_voigt", x, two_theta, 0.004, [0.0, 0.5, lam2 / lam1])
        right = x > two_theta + 0.02
        assert x[right][np.argmax(y[right])] == pytest.approx(expect, abs=1e-3)
    assert EXTRAS["lambda_ratio"].default(x, y)["value"] == pytest.approx(lam2 / lam1, rel=1e-12)


ALPHA_FE = np.array([-5.312, -3.076, -0.840, 0.840, 3.076, 5.312])  # mm/s at 33.0 T (RT)


def test_sextet_line_positions_alpha_fe():
    # to 0.03 % and the published values' last digit
    np.testing.assert_allclose(mossbauer.K_LINES * 33.0, ALPHA_FE, rtol=3e-4, atol=1e-3)
    x = np.linspace(-8, 8, 16001)
    y = _prof("mossbauer_sextet", x, 0.0, 0.05, [0.0, 33.0, 2.0])
    mins = x[1:-1][(y[1:-1] < y[:-2]) & (y[1:-1] < y[2:])]
    np.testing.assert_allclose(mins, mossbauer.K_LINES * 33.0, atol=2e-3)
    depth = -y[np.searchsorted(x, mins)]
    np.testing.assert_allclose(depth / depth[0], [1, 2 / 3, 1 / 3, 1 / 3, 2 / 3, 1], atol=0.02)
    # quad shift: lines 1 and 6 move by +eps, 2-5 by -eps; doublet lines at delta -+ Q/2
    ys = reference.sextet_lines(0.3, 0.1, 33.0, 2.0)
    np.testing.assert_allclose([v for v, _ in ys],
                               0.3 + mossbauer.K_LINES * 33.0 + 0.1 * mossbauer.Q_SIGNS, atol=1e-12)
    d = _prof("mossbauer_doublet", x, 0.4, 0.05, [0.8])
    assert x[np.argmin(np.where(x < 0.4, d, 0))] == pytest.approx(0.0, abs=1e-3)


def test_synthetic_alpha_fe_spectrum_gives_33_tesla():
    """Transmission counts from the published alpha-Fe lines (3:2:1, HWHM 0.13 mm/s, 4 %
    depth on 4e5 counts, Poisson); the fitted field within 3 SE (+ the constants' 0.03 %)."""
    from bayespec import fit

    rng = np.random.default_rng(7)
    v = np.linspace(-8, 8, 512)
    rel = np.array([3, 2, 1, 1, 2, 3]) / 3
    mean = 4e5 * (1 - 0.04 * sum(r / (1 + ((v - c) / 0.13) ** 2) for r, c in zip(rel, ALPHA_FE)))
    y = rng.poisson(mean).astype(float)
    cfg = {"model": {"shape": "mossbauer_sextet", "K": [1], "likelihood": "poisson",
                     "background": {"kind": "constant"}},
           "priors": {"amplitude": {"dist": "uniform", "low": 0, "high": 1e5},
                      "center": {"dist": "uniform", "low": -1, "high": 1},
                      "width": {"dist": "lognormal", "mu": -2.0, "sigma": 1.0},
                      "field": {"dist": "uniform", "low": 20, "high": 40},
                      "background": {"dist": "uniform", "low": 3e5, "high": 5e5}},
           "sampler": {"burn_in": 400, "sweeps": 800, "chains": 2, "replicas": 12, "seed": 3}}
    res = fit(v, y, cfg)
    tab = res.table
    post = res.posterior(1)["posterior"]
    field = np.asarray(post["field"]).ravel()
    se = field.std() / math.sqrt(field.size / 20)  # draws are correlated: ~20 per ESS
    assert abs(field.mean() - 33.0) < 3 * max(se, 1e-3) + 33.0 * 3e-4, (field.mean(), se, tab)
    assert abs(np.asarray(post["center"]).mean()) < 0.01
    assert abs(np.asarray(post["quad_shift"]).mean()) < 0.01


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_every_shape_builds_from_amplitude_center_width(name):
    x = np.linspace(10.0, 60.0, 200)
    y = 5 + np.exp(-0.5 * ((x - 30) / 2) ** 2)
    priors = {}
    if "splitting" in SHAPES[name].extra:
        from bayespec.models.priors import parse_prior

        priors = {"splitting": parse_prior({"dist": "fixed", "value": 3.0}, "s"),
                  "ratio": parse_prior({"dist": "fixed", "value": 0.75}, "r")}
    prob = build_problem(x, y, None, name, 1, "linear", None, priors)
    assert len(prob.priors) == 3 + len(SHAPES[name].extra) + 2


def test_readme_documents_every_shape_and_extra():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in SHAPES:  # every shape in the key table's model.shape row
        assert f" {name} " in text.split("| `model.shape` |")[1].split("\n")[0], name
    section = text.split("## Line shapes of measured spectra")[1].split("\n## ")[0]
    for name in SHAPES:
        if SHAPES[name].code >= SHAPES["voigt"].code:  # the measured line shapes: their table
            assert f"`{name}`" in section, name
    for name in EXTRAS:
        assert f"| `priors.{name}` |" in text, name


def test_legendre_background_against_numpy():
    """c_j P_j(t) on t = the axis mapped onto [-1, 1] (numpy.polynomial.legendre), far from 0."""
    from numpy.polynomial import legendre as npleg

    from bayespec.models.shapes import BACKGROUNDS, background_any

    x = np.linspace(7080.0, 7180.0, 201)  # an XAS window in eV
    coefs = np.array([2.0, -0.5, 0.3, 0.1])
    out = np.zeros(x.size)
    background_any(BACKGROUNDS["legendre"].code, x, np.zeros(x.size), coefs, out)
    t = (x - x.mean()) / (0.5 * (x[-1] - x[0]))
    np.testing.assert_allclose(out, npleg.legval(t, coefs), rtol=1e-13, atol=1e-13)
    assert out.mean() == pytest.approx(coefs[0], abs=0.02)  # c0: the mean level
