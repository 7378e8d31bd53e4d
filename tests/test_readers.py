"""bayespec.io.readers: every format round-trips arrays the test writes itself (text formats with
repr-exact numbers, NeXus written with h5py as a real NeXus file), and every kind of bad input
gives a one-line DataError naming the file and the line or the HDF5 dataset path."""

from __future__ import annotations

import numpy as np
import pytest

from bayespec.errors import ConfigError, DataError
from bayespec.io import readers
from bayespec.io.spectrum import read_spectrum

h5py = pytest.importorskip("h5py")

RNG = np.random.default_rng(11)
X = np.linspace(10.0, 20.0, 41)
Y = 100 + 50 * np.exp(-((X - 15) / 0.8) ** 2) + RNG.standard_normal(41)
SD = 0.5 + RNG.random(41)


def _cols(*arrays, sep=" ") -> str:
    return "".join(sep.join(repr(float(v)) for v in row) + "\n" for row in zip(*arrays))


def _raises(path, *parts, fmt=None, **opts) -> str:
    with pytest.raises(DataError) as ei:
        readers.read(path, fmt, **opts)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    for part in parts:
        assert part in msg, msg
    return msg


# ----------------------------------------------------------------------------- registry
def test_format_from_extension_or_column(tmp_path):
    assert readers.detect_format("a.CSV") == "xy" and readers.detect_format("a.xye") == \
        "diffraction"
    assert readers.detect_format("a.xdi") == "xdi" and readers.detect_format("a.nxs") == "nexus"
    assert readers.detect_format("a.h5") == "nexus" and readers.detect_format("a.weird") == "xy"
    assert readers.detect_format("a.csv", "xdi") == "xdi"
    with pytest.raises(ConfigError, match="format 'nexsu' is unknown; did you mean 'nexus'"):
        readers.detect_format("a.h5", "nexsu")
    p = tmp_path / "a.csv"
    p.write_text("x,y\n" + _cols(X, Y, sep=","))
    with pytest.raises(ConfigError, match="mu: not used by format 'xy' .mu is for format xdi"):
        readers.read(p, mu="transmission")


def test_csv_and_whitespace_text_round_trip(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("# comment\nx,y,sd\n" + _cols(X, Y, SD, sep=","))
    r = readers.read(p)
    np.testing.assert_array_equal(r.x, X)
    np.testing.assert_array_equal(r.y, Y)
    np.testing.assert_array_equal(r.sd, SD)
    assert r.metadata["format"] == "xy" and not r.reversed
    q = tmp_path / "b.txt"
    q.write_text(_cols(X[::-1], Y[::-1], sep="\t"))  # binding-energy order
    r = readers.read(q)
    np.testing.assert_array_equal(r.x, X) and np.testing.assert_array_equal(r.y, Y)
    assert r.reversed and r.sd is None


def test_columns_format_through_the_registry(tmp_path):
    p = tmp_path / "c.tsv"
    p.write_text("t\tenergy\tcounts\n" + _cols(X * 0, X, Y, sep="\t"))
    r = readers.read(p, "columns", x_col="energy", y_col=3)
    np.testing.assert_array_equal(r.x, X) and np.testing.assert_array_equal(r.y, Y)


# ----------------------------------------------------------------------------- diffraction
def test_xye_pyfai_header_round_trip(tmp_path):
    p = tmp_path / "pattern.xye"
    p.write_text("# == pyFAI integration ==\n# wavelength 1e-10 m\n#  2th_deg  I  sigma\n"
                 + _cols(X, Y, SD))
    r = readers.read(p)
    np.testing.assert_array_equal(r.x, X)
    np.testing.assert_array_equal(r.y, Y)
    np.testing.assert_array_equal(r.sd, SD)
    assert r.x_units == "deg" and r.metadata["axis"] == "2theta"
    assert r.metadata["format"] == "diffraction"
    s = read_spectrum(p)  # what `bayespec fit pattern.xye` reads
    np.testing.assert_array_equal(s.sd, SD)


def test_chi_fit2d_header_with_q_axis(tmp_path):
    p = tmp_path / "pattern.chi"
    p.write_text(f"frame_0001.tif\nQ (nm^-1)\nIntensity\n   {X.size}\n" + _cols(X, Y))
    r = readers.read(p)
    np.testing.assert_array_equal(r.x, X) and np.testing.assert_array_equal(r.y, Y)
    assert r.sd is None and r.x_units == "nm^-1" and r.metadata["axis"] == "q"
    assert r.metadata["title"] == "frame_0001.tif"


def test_plain_xy_two_columns(tmp_path):
    p = tmp_path / "p.xy"
    p.write_text(_cols(X, Y))
    r = readers.read(p)
    np.testing.assert_array_equal(r.y, Y)
    assert r.x_units == ""


def test_chi_truncated_is_an_error(tmp_path):
    p = tmp_path / "short.chi"
    p.write_text(f"t\n2-Theta Angle (Degrees)\nIntensity\n{X.size}\n" + _cols(X[:30], Y[:30]))
    _raises(p, "line 4 declares 41 points but the file has 30 data rows", "truncated")


@pytest.mark.parametrize("body, parts", [
    ("1.0 2.0\n1.5 abc\n2.0 3.0\n", ("line 3, column 2 (y)", "'abc'")),
    ("1.0 2.0\n1.5 3.0\n1.5 4.0\n", ("lines 3 and 4", "duplicated x = 1.5")),
    ("1.0,2.0\n1.5 3.0\n", ("line 3", "delimiter")),
    ("1.0;2.0\n1.5,3.0\n", ("line 3", "delimiter")),
    ("1.0 2.0 -1\n", ("line 2", "sd must be > 0")),
])
def test_diffraction_bad_input_names_file_and_line(tmp_path, body, parts):
    p = tmp_path / "bad.xye"
    p.write_text("# 2th_deg I\n" + body)
    _raises(p, *parts)


def test_mixed_delimiters_in_csv(tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_text("x,y\n1,2\n2;3\n")
    _raises(p, "line 3", "semicolon", "line 1 uses comma")


# ----------------------------------------------------------------------------- XDI
def _xdi(i0, it, ifl, mu, cols=("energy eV", "i0", "itrans", "ifluor", "mutrans"),
         extra="") -> str:
    head = ["# XDI/1.0 GSE/1.0"]
    head += [f"# Column.{j}: {c}" for j, c in enumerate(cols, 1)]
    head += ["# Element.symbol: Cu", "# Element.edge: K", "# Mono.d_spacing: 3.13553",
             "# ///", "# test spectrum written by test_readers", "#----",
             "# " + " ".join(c.split()[0] for c in cols)]
    arrays = [X * 100 + 8900, i0, it, ifl, mu][: len(cols)]
    return "\n".join(head) + "\n" + extra + _cols(*arrays)


I0 = 1e5 * (1 + 0.01 * RNG.random(41))
IT = I0 * np.exp(-(0.5 + 0.1 * np.tanh(X - 15)))
IF = I0 * 0.02 * (1 + np.tanh(X - 15))
MU = np.log(I0 / IT)


@pytest.mark.parametrize("mu, expect", [
    ("transmission", lambda: np.log(I0 / IT)),
    ("fluorescence", lambda: IF / I0),
    ("mutrans", lambda: MU),
    (None, lambda: MU),  # the one mu column
])
def test_xdi_round_trip_mu_modes(tmp_path, mu, expect):
    p = tmp_path / "cu.xdi"
    p.write_text(_xdi(I0, IT, IF, MU))
    r = readers.read(p, mu=mu)
    np.testing.assert_array_equal(r.x, X * 100 + 8900)
    np.testing.assert_allclose(r.y, expect(), rtol=1e-15)
    assert r.x_units == "eV" and r.sd is None
    assert r.metadata["xdi.Element.symbol"] == "Cu" and r.metadata["xdi.Mono.d_spacing"] == \
        "3.13553"
    assert r.metadata["mu"] == (mu or "mutrans")
    assert "test spectrum" in r.metadata["xdi.comments"]


def test_xdi_missing_columns(tmp_path):
    p = tmp_path / "nofluor.xdi"
    p.write_text(_xdi(I0, IT, IF, MU, cols=("energy eV", "i0", "itrans")))
    _raises(p, "line 2", "no column 'ifluor' (mu fluorescence)", "energy, i0, itrans",
            mu="fluorescence")
    _raises(p, "no mu column", "set mu in the manifest")  # no mu column and no mode
    q = tmp_path / "short_rows.xdi"
    q.write_text(_xdi(I0, IT, IF, MU) + "9000.0 1.0 2.0\n")
    _raises(q, f"line {13 + 41 + 1}", "has 3 column(s) but the header declares 5")


def test_xdi_bad_cells_and_header(tmp_path):
    p = tmp_path / "bad.xdi"
    p.write_text(_xdi(I0, IT, IF, MU).replace(repr(float(IT[3])), "n/a", 1))
    _raises(p, "line 17, column 3 (itrans)", "'n/a'", mu="transmission")
    q = tmp_path / "notxdi.xdi"
    q.write_text("# hello\n1 2\n")
    _raises(q, "line 1: not an XDI file")
    r = tmp_path / "badfield.xdi"
    r.write_text("# XDI/1.0\n# Column.1: energy\n# just words\n#----\n1 2\n")
    _raises(r, "line 3", "not an XDI header field")
    s = tmp_path / "dup.xdi"
    s.write_text("# XDI/1.0\n# Column.1: energy eV\n# Column.2: mutrans\n#----\n1 2\n2 3\n2 4\n")
    _raises(s, "lines 6 and 7", "duplicated x = 2.0")


# ----------------------------------------------------------------------------- NeXus
def write_nexus(path, y, x, sd=None, t=None, nested_default=True):
    """A NeXus file as a beamline writes it: /entry (NXentry, default -> data) / data (NXdata,
    signal, axes, AXIS_indices, units), optional errors and a time axis for a stack."""
    with h5py.File(path, "w") as f:
        f.attrs["NX_class"] = "NXroot"
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry["title"] = "test scan"
        if nested_default:
            f.attrs["default"] = "entry"
            entry.attrs["default"] = "data"
        data = entry.create_group("data")
        data.attrs["NX_class"] = "NXdata"
        data.attrs["signal"] = "counts"
        sig = data.create_dataset("counts", data=y)
        sig.attrs["units"] = "counts"
        data.create_dataset("two_theta", data=x).attrs["units"] = "deg"
        if y.ndim == 2:
            data.attrs["axes"] = ["time" if t is not None else ".", "two_theta"]
            data.attrs["two_theta_indices"] = 1
            if t is not None:
                data.create_dataset("time", data=t).attrs["units"] = "s"
                data.attrs["time_indices"] = 0
        else:
            data.attrs["axes"] = "two_theta"
            data.attrs["two_theta_indices"] = 0
        if sd is not None:
            data.create_dataset("counts_errors", data=sd)
    return path


def test_nexus_1d_round_trip(tmp_path):
    p = write_nexus(tmp_path / "one.nxs", Y, X, SD)
    r = readers.read(p)
    np.testing.assert_array_equal(r.x, X)
    np.testing.assert_array_equal(r.y, Y)
    np.testing.assert_array_equal(r.sd, SD)
    assert r.x_units == "deg" and r.y_units == "counts"
    assert r.metadata["nxdata"] == "/entry/data" and r.metadata["signal"] == "/entry/data/counts"
    assert r.metadata["title"] == "test scan" and r.metadata["format"] == "nexus"
    assert readers.stack_size(p) is None
    np.testing.assert_array_equal(read_spectrum(p).y, Y)


def test_nexus_stack_rows_round_trip(tmp_path):
    ys = np.stack([Y, 2 * Y, Y[::-1].copy()])
    t = np.array([0.0, 1.5, 3.0])
    p = write_nexus(tmp_path / "series.h5", ys, X, np.sqrt(ys), t=t)
    assert readers.stack_size(p) == 3
    for i in range(3):
        r = readers.read(p, index=i)
        np.testing.assert_array_equal(r.x, X)
        np.testing.assert_array_equal(r.y, ys[i])
        np.testing.assert_array_equal(r.sd, np.sqrt(ys[i]))
        assert r.metadata["index"] == i and r.metadata["time"] == t[i]
        assert r.metadata["time_units"] == "s" and r.metadata["stack_size"] == 3
    _raises(p, "/entry/data/counts: a stack of 3 spectra", "pick one row with index")
    _raises(p, "index 3 is out of range", "rows 0..2", index=3)


def test_nexus_without_default_attrs_and_explicit_path(tmp_path):
    p = write_nexus(tmp_path / "plain.nxs", Y, X, nested_default=False)
    np.testing.assert_array_equal(readers.read(p).y, Y)  # first NXentry / NXdata
    np.testing.assert_array_equal(readers.read(p, nxdata="/entry/data").y, Y)
    _raises(p, "/entry: no member 'nope'", nxdata="/entry/nope")


def test_nexus_truncated_file(tmp_path):
    ys = np.tile(Y, (200, 1))
    p = write_nexus(tmp_path / "cut.nxs", ys, X)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    msg = _raises(p, "cannot open as HDF5", "truncated")
    with pytest.raises(DataError, match="cannot open as HDF5"):
        readers.stack_size(p)
    assert str(p) in msg


def test_nexus_bad_datasets_name_the_path(tmp_path):
    x = X.copy()
    x[6] = x[5]
    p = write_nexus(tmp_path / "dup.nxs", Y, x)
    _raises(p, "/entry/data/two_theta element 5 and /entry/data/two_theta element 6",
            "duplicated x")
    y = Y.copy()
    y[7] = np.nan
    q = write_nexus(tmp_path / "nan.nxs", np.stack([Y, y]), X)
    _raises(q, "/entry/data/counts[1]: element 7 is nan", index=1)
    np.testing.assert_array_equal(readers.read(q, index=0).y, Y)  # the good row still reads
    r = write_nexus(tmp_path / "short.nxs", Y, X[:-1])
    _raises(r, "/entry/data/two_theta: axis has shape (40,)", "41 points")
    s = tmp_path / "nosignal.nxs"
    with h5py.File(s, "w") as f:
        g = f.create_group("entry")
        g.attrs["NX_class"] = "NXentry"
        g.create_group("data").attrs["NX_class"] = "NXdata"
    _raises(s, "/entry/data: NXdata group has no 'signal' attribute")
    u = write_nexus(tmp_path / "strings.nxs", Y, X)
    with h5py.File(u, "a") as f:
        del f["entry/data/counts"]
        f["entry/data/counts"] = np.array([b"1.0", b"n/a"] * 20 + [b"2"])
    _raises(u, "/entry/data/counts: not numeric")
    t = tmp_path / "text.nxs"
    t.write_text("not hdf5\n")
    _raises(t, "cannot open as HDF5")


# ----------------------------------------------------------------------------- counts
def test_check_counts_names_the_first_bad_point():
    readers.check_counts(np.array([0.0, 3.0, 10.0]), "a.xye")
    with pytest.raises(DataError, match=r"a.xye: line 7: negative count -2 \(1 negative in all\)"):
        readers.check_counts(np.array([0.0, -2.0, 1.0]), "a.xye", ["line 6", "line 7", "line 8"])
    with pytest.raises(DataError, match=r"a.xye: point 2 .*: count 1.5 is not a whole number"):
        readers.check_counts(np.array([0.0, 2.0, 1.5]), "a.xye")
    with pytest.raises(DataError, match="finite counts"):
        readers.check_counts(np.array([0.0, np.inf]), "a.xye")
