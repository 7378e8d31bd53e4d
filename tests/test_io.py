"""Tests for bayespec.io.spectrum: good files round-trip, every bad file gives a distinct
DataError."""

from __future__ import annotations

import numpy as np
import pytest

from bayespec.errors import DataError
from bayespec.io.spectrum import Spectrum, read_spectrum


def _write(tmp_path, text: str, name: str = "spec.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def _raises(path, *parts: str) -> str:
    with pytest.raises(DataError) as ei:
        read_spectrum(path)
    msg = str(ei.value)
    assert "\n" not in msg
    assert str(path) in msg
    for part in parts:
        assert part in msg, msg
    return msg


# ----------------------------------------------------------------------------- good files

def test_csv_with_header(tmp_path):
    p = _write(tmp_path, "x,y\n0.0,1.5\n0.5,2.5\n1.0,3.5\n")
    s = read_spectrum(p)
    assert isinstance(s, Spectrum) and s.path == str(p) and s.sd is None
    assert s.x.dtype == np.float64 and s.x.shape == (3,) and s.n == 3
    np.testing.assert_array_equal(s.x, [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(s.y, [1.5, 2.5, 3.5])


def test_whitespace_with_comments_and_blank_lines(tmp_path):
    text = "# exported by instrument\n\n1  10\n# mid comment\n2\t20   # trailing\n\n3 30\n"
    s = read_spectrum(_write(tmp_path, text, "spec.txt"))
    np.testing.assert_array_equal(s.x, [1, 2, 3])
    np.testing.assert_array_equal(s.y, [10, 20, 30])


def test_whitespace_header_with_spaces_in_names(tmp_path):
    s = read_spectrum(_write(tmp_path, "Binding Energy (eV)   Counts\n1 2\n2 3\n", "s.txt"))
    np.testing.assert_array_equal(s.y, [2, 3])


def test_three_columns_sd(tmp_path):
    s = read_spectrum(_write(tmp_path, "x,y,sd\n1,2,0.1\n2,3,0.2\n"))
    np.testing.assert_array_equal(s.sd, [0.1, 0.2])


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab(tmp_path, sep):
    s = read_spectrum(_write(tmp_path, f"1{sep}2\n2{sep}4\n"))
    np.testing.assert_array_equal(s.y, [2, 4])


def test_decreasing_axis_is_reversed(tmp_path):
    s = read_spectrum(_write(tmp_path, "BE,counts,sd\n3,30,0.3\n2,20,0.2\n1,10,0.1\n"))
    np.testing.assert_array_equal(s.x, [1, 2, 3])
    np.testing.assert_array_equal(s.y, [10, 20, 30])
    np.testing.assert_array_equal(s.sd, [0.1, 0.2, 0.3])
    assert s.x.flags.c_contiguous and np.all(np.diff(s.x) > 0)


def test_utf8_bom_and_crlf(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufeffx,y\r\n1,2\r\n2,3\r\n".encode("utf-8"))
    np.testing.assert_array_equal(read_spectrum(p).x, [1, 2])


# ----------------------------------------------------------------------------- errors

def test_missing_file(tmp_path):
    _raises(tmp_path / "nope.csv", "not found")


def test_directory_is_unreadable(tmp_path):
    _raises(tmp_path, "directory")


def test_empty_file(tmp_path):
    _raises(_write(tmp_path, ""), "no data rows", "empty")


def test_header_only(tmp_path):
    _raises(_write(tmp_path, "# c\nx,y\n"), "no data rows", "header")


def test_one_column(tmp_path):
    _raises(_write(tmp_path, "x\n1\n2\n"), "line 2", "1 column")


def test_four_columns(tmp_path):
    _raises(_write(tmp_path, "1,2,3,4\n2,3,4,5\n"), "line 1", "4 column")


def test_differing_column_counts(tmp_path):
    _raises(_write(tmp_path, "1,2\n2,3\n# c\n3,4,5\n4,5\n"), "line 4", "line 1")


def test_header_count_mismatch(tmp_path):
    _raises(_write(tmp_path, "x,y,sd\n1,2\n"), "line 1", "header")


def test_non_numeric_cell(tmp_path):
    _raises(_write(tmp_path, "x,y\n1,2\n2,abc\n"), "line 3", "column 2", "'abc'")


def test_empty_cell(tmp_path):
    _raises(_write(tmp_path, "1,2\n2,\n"), "line 2", "column 2", "empty cell")


@pytest.mark.parametrize("bad,col", [("nan,1", "x"), ("2,inf", "y"), ("2,1,NaN", "sd")])
def test_nan_or_inf(tmp_path, bad, col):
    text = "1,1,0.1\n" + (bad if bad.count(",") == 2 else bad + ",0.1") + "\n"
    _raises(_write(tmp_path, text), "line 2", f"{col} is", "NaN or inf")


@pytest.mark.parametrize("sd", ["0", "-0.5"])
def test_sd_not_positive(tmp_path, sd):
    _raises(_write(tmp_path, f"1,1,0.1\n2,2,0.1\n3,3,{sd}\n"), "line 3", "sd must be > 0")


def test_duplicated_x(tmp_path):
    _raises(_write(tmp_path, "1,1\n2,2\n2,3\n3,4\n"), "lines 2 and 3", "duplicated x")


def test_duplicated_x_non_adjacent(tmp_path):
    _raises(_write(tmp_path, "1,1\n2,2\n3,3\n2,4\n"), "lines 2 and 4", "duplicated x")


def test_non_monotonic_x(tmp_path):
    _raises(_write(tmp_path, "1,1\n2,2\n4,3\n3,4\n"), "line 4", "increasing order", "line 3")


def test_non_monotonic_decreasing_x(tmp_path):
    _raises(_write(tmp_path, "4,1\n3,2\n5,3\n"), "line 3", "decreasing order")


def test_mixed_delimiters_across_lines(tmp_path):
    _raises(_write(tmp_path, "1,2\n2;3\n"), "line 2", "semicolon", "comma", "line 1")


def test_mixed_whitespace_and_comma(tmp_path):
    _raises(_write(tmp_path, "1 2\n2 3\n3,4\n"), "line 3", "comma", "whitespace")


def test_mixed_delimiters_within_line(tmp_path):
    _raises(_write(tmp_path, "1;2,5\n"), "line 1", "comma and semicolon")


def test_binary_file(tmp_path):
    p = tmp_path / "b.bin"
    p.write_bytes(b"\x00\x01\x02")
    _raises(p, "binary")
