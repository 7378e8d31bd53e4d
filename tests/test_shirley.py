"""Shirley background: a step built from a known peak's exact cumulative integral is recovered."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import erf

from bayespec.errors import DataError
from bayespec.models.shirley import shirley_background


def _step_spectrum(n: int = 1001, lo: float = 0.0, hi: float = 10.0, center: float = 5.0,
                   sd: float = 0.5, amp: float = 3.0, ya: float = 1.0, yb: float = 2.5):
    """Gaussian peak on the exact Shirley step: B(x) = ya + (yb - ya) * P(x) / P(hi), where P is
    the closed-form (erf) integral of the peak from lo; y = B + peak. The Shirley condition
    holds exactly in the continuum, so the iteration must return B up to quadrature error."""
    x = np.linspace(lo, hi, n)
    peak = amp * np.exp(-((x - center) ** 2) / (2 * sd ** 2))
    cdf = 0.5 * (erf((x - center) / (np.sqrt(2) * sd)) - erf((lo - center) / (np.sqrt(2) * sd)))
    b = ya + (yb - ya) * cdf / cdf[-1]
    return x, b + peak, b


def test_recovers_known_step():
    x, y, b_true = _step_spectrum()
    b = shirley_background(x, y, tol=1e-9, max_iter=100)
    assert b.shape == x.shape and b.dtype == np.float64
    # trapezoid error of the cumulative integral: h^2/12 * max|peak''| * range / step ~ 1e-5
    h = x[1] - x[0]
    bound = h ** 2 / 12 * (3.0 / 0.5 ** 2) * (x[-1] - x[0]) / 1.5
    err = np.max(np.abs(b - b_true))
    assert err < bound, (err, bound)
    assert b[0] == pytest.approx(y[:5].mean()) and b[-1] == pytest.approx(y[-5:].mean())


def test_decreasing_axis_gives_the_same_background():
    """Binding-energy order: reversing both arrays reverses the background."""
    x, y, _ = _step_spectrum(yb=0.2)
    fwd = shirley_background(x, y, tol=1e-12, max_iter=200)
    rev = shirley_background(x[::-1], y[::-1], tol=1e-12, max_iter=200)
    np.testing.assert_allclose(rev[::-1], fwd, rtol=0, atol=1e-9)


def test_tolerance_controls_convergence():
    x, y, b_true = _step_spectrum()
    coarse = shirley_background(x, y, tol=1e-2)
    fine = shirley_background(x, y, tol=1e-10, max_iter=200)
    # converging to a tolerance: the coarse answer is within ~tol of the step of the fine one
    # (contraction: the remaining change is at most a few times the last change)
    assert np.max(np.abs(coarse - fine)) < 5e-2 * 1.5
    assert np.max(np.abs(coarse - fine)) > 0  # the loose tolerance stopped earlier


def test_noise_averaged_end_levels():
    x, y, _ = _step_spectrum()
    rng = np.random.default_rng(3)
    noisy = y + 0.01 * rng.standard_normal(x.size)
    b = shirley_background(x, noisy, ends=20)
    assert b[0] == pytest.approx(noisy[:20].mean(), abs=1e-12)
    assert b[-1] == pytest.approx(noisy[-20:].mean(), abs=1e-12)


def test_flat_ends_give_flat_background():
    x = np.linspace(0, 1, 50)
    y = 1.0 + np.exp(-((x - 0.5) / 0.05) ** 2)
    y[:5] = y[-5:] = 1.0
    np.testing.assert_array_equal(shirley_background(x, y), np.full(50, 1.0))


def test_no_convergence_is_a_clear_error():
    x, y, _ = _step_spectrum()
    with pytest.raises(DataError, match="did not converge in 1 iterations"):
        shirley_background(x, y, tol=1e-12, max_iter=1)


@pytest.mark.parametrize("x, y, match", [
    (np.arange(6.0), np.arange(6.0), "more than 2 \\* ends"),
    (np.arange(20.0), np.arange(19.0), "same length"),
    (np.r_[0, 1, 1, 2, np.arange(3, 19)].astype(float), np.arange(20.0), "strictly"),
    (np.arange(20.0), np.r_[np.nan, np.arange(19.0)], "finite"),
])
def test_bad_input(x, y, match):
    with pytest.raises(DataError, match=match):
        shirley_background(x, y)


def test_no_peak_area_is_a_clear_error():
    """End levels 0 and 1 with a dip whose area cancels the right plateau: y - B has zero
    integral at the first pass, so there is no peak for the Shirley step to follow."""
    x = np.linspace(0, 1, 41)
    base = np.where(x > 0.8, 1.0, 0.0)
    dip = -np.exp(-((x - 0.4) / 0.05) ** 2)
    area = lambda f: float(np.sum(0.5 * (f[1:] + f[:-1]) * np.diff(x)))  # noqa: E731
    y = base + dip * (area(base) / -area(dip))
    assert abs(area(y)) < 1e-12
    with pytest.raises(DataError, match="no peak area"):
        shirley_background(x, y)
