"""Model averaging (inference/averaging.py): mixtures over candidates with known weights, the
matching of lines between candidates, and the campaign summary's _avg columns."""

from __future__ import annotations

import numpy as np
import pytest

from bayespec.inference.averaging import match_lines, model_average, weighted_quantile


def _lines(centers, sds, n, rng, width=0.2, amplitude=1.0):
    """One candidate's line draws (N, K): independent normal centers; fixed other quantities."""
    c = np.stack([rng.normal(m, s, n) for m, s in zip(centers, sds)], axis=1) if centers else \
        np.zeros((n, 0))
    k = c.shape[1]
    return {"": {"center": c, "width": np.full((n, k), width),
                 "amplitude": np.full((n, k), amplitude), "area": np.full((n, k), 2 * width)}}


def test_weighted_quantile_with_equal_weights_is_numpys_hazen():
    v = np.random.default_rng(0).normal(size=1001)
    q = [0.025, 0.5, 0.975]
    np.testing.assert_allclose(weighted_quantile(v, np.ones(v.size), q),
                               np.quantile(v, q, method="hazen"), rtol=0, atol=1e-12)


def test_two_candidates_with_known_weights():
    """K = 1 (p = 0.25) and K = 2 (p = 0.75, selected): peak 1 is in both, peak 2 only in K = 2.
    The averaged mean is the weighted mean of the two conditional means; the interval is that of
    the mixture, here compared with the equal-weight sample that repeats each K = 2 draw three
    times (the same distribution)."""
    rng = np.random.default_rng(1)
    n = 4000
    a = _lines([1.0], [0.1], n, rng, width=0.3)
    b = _lines([1.4, 3.0], [0.1, 0.05], n, rng, width=0.2)
    p = np.array([0.25, 0.75])
    out = model_average([a, b], p, 1, [1, 2], noise_sd=[0.2, 0.1])
    assert out["K_avg"] == pytest.approx(0.25 * 1 + 0.75 * 2)
    assert out["noise_sd_avg"] == pytest.approx(0.25 * 0.2 + 0.75 * 0.1)
    assert out["peak1_p"] == pytest.approx(1.0) and out["peak2_p"] == pytest.approx(0.75)
    c1 = 0.25 * a[""]["center"][:, 0].mean() + 0.75 * b[""]["center"][:, 0].mean()
    assert out["peak1_center_avg"] == pytest.approx(c1, rel=1e-12)
    assert out["peak1_width_avg"] == pytest.approx(0.25 * 0.3 + 0.75 * 0.2)
    rep = np.concatenate([a[""]["center"][:, 0], np.repeat(b[""]["center"][:, 0], 3)])
    lo, hi = np.quantile(rep, [0.025, 0.975], method="hazen")
    # the two differ only in where the midpoints of repeated values fall: < 1e-3 of the sd
    assert abs(out["peak1_center_avg_lo"] - lo) < 1e-3 * rep.std()
    assert abs(out["peak1_center_avg_hi"] - hi) < 1e-3 * rep.std()
    # the mixture is wider than the selected model's own interval: it carries the K = 1 mass
    own = np.quantile(b[""]["center"][:, 0], [0.025, 0.975])
    assert out["peak1_center_avg_lo"] < own[0] - 0.1
    # peak 2 exists only in K = 2: its averaged posterior is K = 2's
    assert out["peak2_center_avg"] == pytest.approx(b[""]["center"][:, 1].mean(), rel=1e-12)


def test_lines_are_matched_by_position_not_by_rank():
    """The selected K = 3 has lines at 1, 2, 3; a K = 2 candidate has them at 1.02 and 2.97.
    Its second line is the selected third, so the selected second is absent from it."""
    rng = np.random.default_rng(2)
    sel = _lines([1.0, 2.0, 3.0], [0.02] * 3, 2000, rng)
    two = _lines([1.02, 2.97], [0.03, 0.03], 2000, rng)
    np.testing.assert_array_equal(match_lines(sel[""]["center"], two[""]["center"]), [0, -1, 1])
    big = _lines([0.5, 1.01, 2.01, 3.0], [0.02] * 4, 2000, rng)
    np.testing.assert_array_equal(match_lines(sel[""]["center"], big[""]["center"]), [1, 2, 3])
    out = model_average([two, sel, big], np.array([0.3, 0.5, 0.2]), 1, [2, 3, 4])
    assert out["peak1_p"] == pytest.approx(1.0) and out["peak3_p"] == pytest.approx(1.0)
    assert out["peak2_p"] == pytest.approx(0.7)
    expect = (0.3 * two[""]["center"][:, 1].mean() + 0.5 * sel[""]["center"][:, 2].mean()
              + 0.2 * big[""]["center"][:, 3].mean())
    assert out["peak3_center_avg"] == pytest.approx(expect, rel=1e-12)


def test_composite_lines_are_averaged_per_component():
    rng = np.random.default_rng(3)

    def cand(bulk, oxide):
        return {"bulk": _lines(bulk, [0.05] * len(bulk), 1000, rng)[""],
                "oxide": _lines(oxide, [0.05] * len(oxide), 1000, rng)[""]}

    a, b = cand([84.0], []), cand([84.0], [86.0])
    out = model_average([a, b], np.array([0.4, 0.6]), 1, [1, 2])
    assert out["bulk1_p"] == pytest.approx(1.0) and out["oxide1_p"] == pytest.approx(0.6)
    assert "peak1_p" not in out and out["K_avg"] == pytest.approx(1.6)
