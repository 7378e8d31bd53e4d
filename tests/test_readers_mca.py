"""bayespec.io.readers.gse_mca: the GSE MCA multi-element fluorescence format, on a real file
(xraylarch examples/xrf/srm1832.mca, tests/data/xrf-srm1832/SOURCE.md) checked against values
worked out by hand from its header text, counts parsed independently with numpy, and tabulated
X-ray line energies; and every kind of bad input on small files written here."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayespec.errors import ConfigError, DataError
from bayespec.io import readers
from bayespec.io.spectrum import read_spectrum

MCA = Path(__file__).parent / "data" / "xrf-srm1832" / "srm1832.mca"
DATA_LINE = 77  # 'DATA: ' in the file (1-based)
# the header's calibration lines, copied from the file text (keV)
OFFSET = (-1.068655e-02, -9.660292e-03, -8.003041e-03, -1.053189e-02)
SLOPE = (1.465549e-02, 1.463605e-02, 1.462989e-02, 1.463264e-02)
LINES_EV = {"Ar Ka": 2958, "Ca Ka": 3692, "V Ka": 4953, "Mn Ka": 5900, "Co Ka": 6931,
            "Cu Ka": 8046, "elastic": 12490}


def _raw() -> np.ndarray:
    return np.loadtxt(MCA, skiprows=DATA_LINE, dtype=np.int64)


def _raises(path, *parts, exc=DataError, **opts) -> str:
    with pytest.raises(exc) as ei:
        readers.read(path, **opts)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    for part in parts:
        assert part in msg, msg
    return msg


# ----------------------------------------------------------------------------- the real file
def test_detect_format_by_extension():
    assert readers.detect_format("a.mca") == "gse_mca" == readers.detect_format("B.MCA")
    assert readers.detect_format(MCA, "gse_mca") == "gse_mca"
    assert "gse_mca" in readers.__doc__


def test_real_file_is_a_stack_of_four_elements():
    assert readers.stack_size(MCA) == 4
    assert readers.stack_size(MCA, "gse_mca", index=2) == 4
    raw = _raw()
    assert raw.shape == (2048, 4)
    for e in range(4):
        r = readers.read(MCA, index=e)
        assert r.n == 2048 and r.x.dtype == np.float64 and r.y.dtype == np.float64
        assert r.sd is None and r.x_units == "eV" and r.y_units == "counts" and not r.reversed
        np.testing.assert_array_equal(r.y, raw[:, e])
        assert r.y.sum() == raw[:, e].sum()
        i = np.arange(2048)
        np.testing.assert_allclose(r.x, 1000 * (OFFSET[e] + SLOPE[e] * i), rtol=1e-12,
                                   atol=1e-9)
        assert r.metadata["index"] == e and r.metadata["stack_size"] == 4
        assert r.metadata["format"] == "gse_mca"
    # worked out by hand from the header: E = 1000 * (offset + slope * channel) eV
    r0 = readers.read(MCA, index=0)
    assert r0.x[0] == pytest.approx(-10.68655, abs=1e-9)
    assert r0.x[1] == pytest.approx(3.96894, abs=1e-9)
    assert r0.x[2047] == pytest.approx(29989.10148, abs=1e-6)
    assert readers.read(MCA, index=3).x[2047] == pytest.approx(29942.48219, abs=1e-6)
    # the column sums of the file (numpy.loadtxt above) as plain numbers
    assert raw.sum(axis=0).tolist() == [4634946, 4484726, 5866804, 7481558]
    np.testing.assert_array_equal(read_spectrum(MCA, {"index": 1}).y, raw[:, 1])


def test_real_file_metadata():
    r = readers.read(MCA, index=0)
    m = json.loads(json.dumps(r.metadata))  # JSON-able
    assert m["elements"] == 4 and m["channels"] == 2048 and m["element"] == 0
    assert m["version"] == "3.1" and m["date"] == "Jan 30, 2013 15:25:17.766"
    assert m["cal_offset_keV"] == -1.068655e-02 and m["cal_slope_keV"] == 1.465549e-02
    assert m["cal_quad_keV"] == 0.0
    assert m["real_time_s"] == 120.011093 and m["live_time_s"] == 96.360748
    assert m["mono_energy"] == 35000.0
    rois = m["rois"]
    assert len(rois) == 13 and [q["label"] for q in rois[:2]] == ["Cl Ka", "Ar Ka"]
    assert rois[0]["left"] == 167 and rois[0]["right"] == 187
    assert rois[0]["left_eV"] == pytest.approx(1000 * (-1.068655e-02 + 1.465549e-02 * 167))
    assert rois[11]["label"] == "Cu Ka" and (rois[11]["left"], rois[11]["right"]) == (530, 567)
    assert readers.read(MCA, index=3).metadata["rois"][1]["right"] == 219
    env = {d["description"]: d["value"] for d in m["environment"]}
    assert env["Storage Ring Current"] == "102.0547"


@pytest.mark.parametrize("e", range(4))
def test_real_file_peaks_sit_on_tabulated_lines(e):
    r = readers.read(MCA, index=e)
    top = float(r.x[np.argmax(r.y)])  # the strongest peak: Cu K-alpha
    assert abs(top - LINES_EV["Cu Ka"]) < 30, top
    for name, lo, hi in (("Mn Ka", 5600, 6200), ("elastic", 12300, 12700)):
        w = (r.x > lo) & (r.x < hi)
        peak = float(r.x[w][np.argmax(r.y[w])])
        assert abs(peak - LINES_EV[name]) < 30, (name, peak)


def test_real_file_needs_an_element_and_refuses_to_sum_different_calibrations():
    _raises(MCA, "a stack of 4 spectra", "pick one with index", "sum_elements")
    _raises(MCA, "index 4 is out of range", "elements 0..3", index=4)
    _raises(MCA, "lines 7 (CAL_OFFSET), 8 (CAL_SLOPE)", "calibrations differ", "rebinning",
            sum_elements=True)
    assert readers.stack_size(MCA, sum_elements=True) is None


def test_options_are_checked():
    _raises(MCA, "mu: not used by format 'gse_mca'", exc=ConfigError, mu="transmission")
    _raises(MCA, "nxdata: not used by format 'gse_mca'", exc=ConfigError, nxdata="/entry")
    _raises(MCA, "index: 'two'", exc=ConfigError, index="two")
    _raises(MCA, "sum_elements: 'maybe'; use true or false", exc=ConfigError,
            sum_elements="maybe")
    _raises(MCA, "index 1 and sum_elements both given", exc=ConfigError, index=1,
            sum_elements=True)
    assert readers.read(MCA, index="2").metadata["index"] == 2  # a manifest cell as text
    assert readers.OPTIONS["gse_mca"] == ("index", "sum_elements")


# ----------------------------------------------------------------------------- synthetic files
def _mca(tmp_path, rows=((1, 2), (3, 4), (5, 6)), *, m=2, elements=None, channels="3",
         offset=None, slope=None, quad=None, extra="", data="DATA:", name="t.mca") -> Path:
    """A small GSE MCA file: 13 header lines (ELEMENTS line 2, CHANNELS 4, CAL_OFFSET 7,
    CAL_SLOPE 8, CAL_QUAD 9), ``extra`` lines, ``data`` and the ``rows``; "None" drops a line."""
    def per(v):
        return " ".join([v] * m)

    head = ["VERSION: 3.1", f"ELEMENTS: {elements or m}", "DATE: today",
            f"CHANNELS: {channels}", f"REAL_TIME: {per('10')}", f"LIVE_TIME: {per('9')}",
            f"CAL_OFFSET: {offset or per('0.1')}", f"CAL_SLOPE: {slope or per('0.01')}",
            f"CAL_QUAD: {quad or per('0')}", f"ROIS: {per('1')}", f"ROI_0_LEFT: {per('0')}",
            f"ROI_0_RIGHT: {per('2')}", f"ROI_0_LABEL: {per('Fe Ka &')}"]
    text = "\n".join(h for h in head if not h.endswith(": None")) + "\n" + extra
    if data is not None:
        text += data + "\n" + "".join(" ".join(str(c) for c in r) + "\n" for r in rows)
    p = tmp_path / name
    p.write_text(text)
    return p


def test_synthetic_round_trip_and_sum(tmp_path):
    p = _mca(tmp_path, quad="1e-5 1e-5", extra='ENVIRONMENT: X:E.VAL="9000.0" (Mono Energy)\n')
    r = readers.read(p, index=1)
    np.testing.assert_array_equal(r.y, [2.0, 4.0, 6.0])
    np.testing.assert_allclose(r.x, [100.0, 110.01, 120.04])  # 1000*(0.1 + 0.01 i + 1e-5 i^2)
    assert r.metadata["live_time_s"] == 9.0 and r.metadata["mono_energy"] == 9000.0
    assert r.metadata["rois"] == [{"label": "Fe Ka", "left": 0, "right": 2,
                                   "left_eV": r.x[0], "right_eV": r.x[2]}]
    s = readers.read(p, sum_elements="true")
    np.testing.assert_array_equal(s.y, [3.0, 7.0, 11.0])
    np.testing.assert_array_equal(s.x, r.x)
    assert s.metadata["element"] == "sum" and s.metadata["live_time_s"] == [9.0, 9.0]
    assert "index" not in s.metadata and len(s.metadata["rois"]) == 2
    one = _mca(tmp_path, rows=((1,), (2,), (3,)), m=1, offset="0", slope="0.02",
               name="one.mca")
    assert readers.stack_size(one) is None
    np.testing.assert_array_equal(readers.read(one).x, [0.0, 20.0, 40.0])


@pytest.mark.parametrize("kw, parts", [
    ({"data": None}, ["line 13", "no 'DATA:' line"]),
    ({"rows": ((1, 2), (3, 4))}, ["line 16", "only 2 data row(s)", "CHANNELS is 3", "truncated"]),
    ({"rows": ((1, 2),) * 4}, ["line 18", "more than CHANNELS = 3"]),
    ({"rows": ((1, 2), (3,), (5, 6))}, ["line 16", "1 column(s) but ELEMENTS is 2"]),
    ({"rows": ((1, 2, 3),) * 3}, ["line 15", "3 column(s) but ELEMENTS is 2"]),
    ({"rows": ((1, 2), (3, 4.5), (5, 6))}, ["line 16", "element 1: '4.5' is not a whole number"]),
    ({"rows": ((1, 2), (3, "x"), (5, 6))}, ["line 16", "'x' is not a whole number"]),
    ({"rows": ((1, -2), (3, 4), (5, 6))}, ["line 15", "'-2' is a negative count"]),
    ({"offset": "0.1 abc"}, ["line 7", "CAL_OFFSET, element 1: cannot read 'abc'"]),
    ({"slope": "0.01 nan"}, ["line 8", "CAL_SLOPE, element 1", "finite number"]),
    ({"offset": "0.1"}, ["line 7", "CAL_OFFSET has 1 value(s) but ELEMENTS is 2"]),
    ({"slope": "0.01 0"}, ["line 8", "CAL_SLOPE, element 1: 0.0 keV per channel", "> 0"]),
    ({"slope": "0.01 -0.01"}, ["line 8", "CAL_SLOPE, element 1: -0.01", "must be > 0"]),
    ({"quad": "0 -0.01"}, ["line 9", "CAL_QUAD, element 1", "stop increasing at channel 0"]),
    ({"channels": "x"}, ["line 4", "CHANNELS: 'x' must be a whole number"]),
    ({"elements": "None"}, ["lines 1-13: the header has no ELEMENTS line"]),
    ({"slope": "None"}, ["lines 1-13: the header has no CAL_SLOPE line"]),
    ({"extra": "garbage here\n"}, ["line 14", "not a 'KEY: values' header line"]),
    ({"extra": "CHANNELS: 3\n"}, ["line 14", "CHANNELS given twice (also line 4)"]),
    ({"extra": "ROI_0_LEFT: 0\n"}, ["line 14", "ROI_0_LEFT given twice"]),
])
def test_bad_input_names_file_and_line(tmp_path, kw, parts):
    p = _mca(tmp_path, **kw)
    _raises(p, *parts, index=1)


def test_empty_and_blank_files(tmp_path):
    for text in ("", "\n  \n"):
        p = tmp_path / "e.mca"
        p.write_text(text)
        _raises(p, "line 1: empty file", "DATA:", index=0)
        with pytest.raises(DataError, match="empty file"):
            readers.stack_size(p)
