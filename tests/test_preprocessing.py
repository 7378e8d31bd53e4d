"""bayespec.io.preprocessing: each step on arrays with a known answer, the order and record of the
steps, key validation, and campaign.preprocess storing the record in the dataset's attrs."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.special import erf

from bayespec.errors import ConfigError, DataError
from bayespec.io import preprocessing as pp
from bayespec.workflow import campaign

X = np.linspace(0.0, 3.0, 301)


def _shirley_spectrum(noise: float = 0.0):
    """One Gaussian on the exact Shirley step 0.2 -> 0.5 (closed-form erf integral)."""
    a, c, s = 1.0, 1.5, 0.12
    frac = 0.5 * (erf((X - c) / (np.sqrt(2) * s)) - erf((0 - c) / (np.sqrt(2) * s)))
    bg = 0.2 + 0.3 * frac / frac[-1]
    peak = a * np.exp(-((X - c) ** 2) / (2 * s ** 2))
    y = bg + peak + noise * np.random.default_rng(5).standard_normal(X.size)
    return y, bg, peak


def test_check_params_fills_defaults_and_names_bad_keys():
    p = pp.check_params({"bin": 2, "spectrum": "a"}, "cfg")
    assert p["bin"] == 2 and p["subtract"] == "none" and p["shirley"]["tol"] == 1e-6
    with pytest.raises(ConfigError, match="cfg: unknown preprocessing key 'substract'; did you "
                                          "mean 'subtract'"):
        pp.check_params({"substract": "linear"}, "cfg")
    with pytest.raises(ConfigError, match="cfg: subtract: 'spline'; choose one of none, linear, "
                                          "shirley"):
        pp.check_params({"subtract": "spline"}, "cfg")
    with pytest.raises(ConfigError, match="cfg: bin: must be an integer >= 1, got 0"):
        pp.check_params({"bin": 0}, "cfg")
    with pytest.raises(ConfigError, match="cfg: shirley.tolerance: unknown key"):
        pp.check_params({"shirley": {"tolerance": 1e-3}}, "cfg")
    with pytest.raises(ConfigError, match=r"cfg: roi_min \(2\) must be smaller than roi_max"):
        pp.check_params({"roi_min": 2.0, "roi_max": 1.0}, "cfg")


def test_binding_energy_reverses_the_axis():
    ke = 10.0 - X[::-1]  # kinetic energy 7..10 increasing, as a reader returns it
    y = np.arange(X.size, dtype=float)
    (x2, y2, sd2), rec = pp.binding_energy(ke, y, y + 1, 10.0)
    np.testing.assert_allclose(x2, X, atol=1e-12)
    np.testing.assert_array_equal(y2, y[::-1]) and np.testing.assert_array_equal(sd2, y[::-1] + 1)
    assert np.all(np.diff(x2) > 0) and rec == {"step": "binding_energy", "excitation": 10.0,
                                               "reversed": True}


def test_roi_bin_normalise_match_hand_computation():
    y = np.sin(X) + 2
    sd = np.full(X.size, 0.1)
    (x, yy, s), rec = pp.roi(X, y, sd, 1.0, 2.0)
    assert x[0] == pytest.approx(1.0) and x[-1] == pytest.approx(2.0) and rec["n_after"] == 101
    (xb, yb, sb), rec = pp.bin_points(x, yy, s, 4)
    assert xb.size == 25 and rec["dropped"] == 1
    np.testing.assert_allclose(yb[0], yy[:4].mean()) and np.testing.assert_allclose(sb, 0.05)
    (_, yn, sn), rec = pp.normalise(xb, yb, sb, "max")
    assert np.max(np.abs(yn)) == pytest.approx(1.0) and rec["scale"] == pytest.approx(yb.max())
    np.testing.assert_allclose(sn, sb / rec["scale"])


def test_shirley_subtraction_recovers_the_peak():
    y, bg, peak = _shirley_spectrum()
    yy, b, rec = pp.subtract_shirley(X, y, tol=1e-10, max_iter=200)
    # quadrature error of the trapezoid integral on this grid: h^2/12 * max|peak''| * range/step
    bound = (X[1] - X[0]) ** 2 / 12 * (1 / 0.12 ** 2) * 3 / 0.3
    assert np.max(np.abs(b - bg)) < bound and np.max(np.abs(yy - peak)) < bound
    assert rec["kind"] == "shirley" and rec["start_level"] == pytest.approx(0.2, abs=1e-9)


def test_run_applies_steps_in_order_and_records_them():
    y, bg, peak = _shirley_spectrum(noise=0.01)
    ke, yk = 10.0 - X[::-1], y[::-1]  # as read from a kinetic-energy file
    (x, yy, sd), b, steps, p = pp.run(ke, yk, None, {"binding_energy": 10.0, "roi_min": 0.0,
                                                     "roi_max": 3.0, "subtract": "shirley",
                                                     "bin": 1}, "f.csv")
    assert [s["step"] for s in steps] == ["binding_energy", "roi", "subtract"]
    np.testing.assert_allclose(x, X, atol=1e-12)
    # noisy end levels: each is a mean of 5 points of sd 0.01, so the background is off by a
    # few 0.01 / sqrt(5) at most
    assert np.max(np.abs(b - bg)) < 5 * 0.01 / np.sqrt(5)
    assert sd is None and p["shirley"]["ends"] == 5
    with pytest.raises(DataError, match=r"f.csv: region of interest \[1, 1.01\] with bin 1 "
                                        r"leaves 2 point\(s\)"):
        pp.run(X, y, None, {"roi_min": 1.0, "roi_max": 1.01}, "f.csv")
    with pytest.raises(DataError, match="f.csv: Shirley background: did not converge"):
        pp.run(X, y, None, {"subtract": "shirley", "shirley": {"max_iter": 1, "tol": 1e-12}},
               "f.csv")
    with pytest.raises(DataError, match="f.csv: linear background: 10 point.s., fewer than"):
        pp.run(X[:10], y[:10], None, {"subtract": "linear", "edge_points": 6}, "f.csv")


def test_campaign_preprocess_stores_the_record(tmp_path):
    import xarray as xr

    y, bg, peak = _shirley_spectrum()
    src = tmp_path / "in.zarr"
    campaign.write_dataset_atomic(xr.Dataset({"y": ("x", y)}, coords={"x": X},
                                             attrs={"status": "ok", "source": "s.csv"}), src)
    out = tmp_path / "out.zarr"
    params = {"spectrum": "s", "subtract": "shirley", "normalise": "max",
              "shirley": {"tol": 1e-9, "max_iter": 100, "ends": 5}}
    assert campaign.preprocess(src, out, params) == "ok"
    ds = xr.open_zarr(out, zarr_format=3)
    steps = json.loads(ds.attrs["preprocessing"])
    assert [s["step"] for s in steps] == ["subtract", "normalise"]
    assert steps[0]["kind"] == "shirley" and steps[0]["tol"] == 1e-9
    assert ds.attrs["subtract"] == "shirley" and ds.attrs["scale"] == steps[1]["scale"]
    np.testing.assert_allclose(ds["background"].values, bg, atol=1e-3)
    np.testing.assert_allclose(ds["y"].values * ds.attrs["scale"], y - ds["background"].values)
    bad = tmp_path / "bad.zarr"
    st = campaign.preprocess(src, bad, {"spectrum": "s", "subtract": "shirley",
                                        "shirley": {"max_iter": 1, "tol": 1e-12}})
    assert st.startswith("error: s.csv: Shirley background: did not converge in 1 iterations")
    assert campaign.read_status(bad) == st
