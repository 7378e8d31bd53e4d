"""Read spectra from CSV / whitespace text, with one-line errors naming file, line and fix.

Accepted: comma, semicolon, tab or space separated columns ``x, y`` or ``x, y, sd``; ``#``
comments (whole-line or trailing) and blank lines are skipped; the first non-comment line may
be a header of non-numeric names (``x,y,sd``), which is ignored (columns are positional).
Tabs and runs of spaces count as the same (whitespace) delimiter. A strictly decreasing axis
(binding-energy XPS) is reversed to increasing order, all columns together.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError

_COLS = ("x", "y", "sd")
_WS = "whitespace"
_DELIM_NAMES = {",": "comma", ";": "semicolon", _WS: "whitespace/tab"}


@dataclass
class Spectrum:
    """One spectrum: float64 arrays of shape (n,), ``x`` strictly increasing; ``sd`` optional."""

    x: np.ndarray
    y: np.ndarray
    sd: np.ndarray | None
    path: str
    reversed: bool = False  # the file's axis was decreasing and was reversed to increasing

    @property
    def n(self) -> int:
        """Number of points."""
        return int(self.x.shape[0])


def read_text(path: str | Path) -> str:
    """A text file's content (UTF-8, BOM allowed, else latin-1); DataError naming the file."""
    p = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise DataError(f"{p}: file not found; check the path and the working directory "
                        f"({Path.cwd()})") from None
    except IsADirectoryError:
        raise DataError(f"{p}: is a directory, not a data file; give the path of a "
                        f".csv/.txt file") from None
    except OSError as e:
        raise DataError(f"{p}: cannot read file ({e.strerror or e}); check that it exists "
                        f"and is readable") from None
    if b"\x00" in data:
        raise DataError(f"{p}: looks like a binary file, not text; export the spectrum as "
                        f"CSV or plain text columns x, y[, sd]")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # instrument exports with e.g. a latin-1 'µ' in a comment


def _delimiter(p: str, lineno: int, s: str) -> str | None:
    """The delimiter of one (stripped, comment-free) line; None for a single cell."""
    if "," in s and ";" in s:
        raise DataError(f"{p}: line {lineno}: mixes comma and semicolon delimiters; use one "
                        f"delimiter throughout (and '.' as the decimal point)")
    if "," in s:
        return ","
    if ";" in s:
        return ";"
    return _WS if len(s.split()) > 1 else None


def parse_cell(p: str, lineno: int, col: int, cell: str, name: str | None = None) -> float:
    """One numeric cell; DataError naming file, line, column (``name`` or x/y/sd) otherwise."""
    if name is None:
        name = _COLS[col] if col < len(_COLS) else f"#{col + 1}"
    where = f"{p}: line {lineno}, column {col + 1} ({name})"
    if not cell:
        raise DataError(f"{where}: empty cell (stray delimiter?); fill it in or remove the "
                        f"extra delimiter")
    try:
        v = float(cell)
    except ValueError:
        raise DataError(f"{where}: cannot read {cell!r} as a number; fix the value, use '.' "
                        f"as the decimal point, or comment the line out with '#'") from None
    if not math.isfinite(v):
        raise DataError(f"{p}: line {lineno}: {name} is {cell!r} (NaN or inf); remove the "
                        f"line or replace the value with a finite number")
    return v


#: extensions read by this module's column parser; every other format is in bayespec.io.readers
TEXT_EXTENSIONS = (".csv", ".tsv", ".txt", ".dat")


def read_spectrum(path: str | Path, options: Mapping[str, Any] | None = None) -> Spectrum:
    """Read a spectrum file; raise DataError (one line) on any problem.

    ``.csv``/``.tsv``/``.txt``/``.dat`` and unknown extensions: 2 or 3 text columns (this
    module); ``.xy``/``.xye``/``.chi`` (diffraction), ``.xdi`` (XAS, mu from a mu column) and
    ``.nxs``/``.h5``/``.hdf5`` (NeXus NXdata) through :mod:`bayespec.io.readers`. ``options``:
    the campaign manifest's reader options, ``format`` (a :data:`bayespec.io.readers.FORMATS`
    name) and that format's own (e.g. ``index`` of one row of a NeXus stack, ``mu`` of an XDI
    file); None values are ignored, an option the format does not take is a ConfigError."""
    opts = {k: v for k, v in (options or {}).items() if v is not None}
    if opts:
        from .readers import read

        fmt = opts.pop("format", None)
        return read(path, fmt, **opts).to_spectrum()
    suffix = Path(path).suffix.lower()
    if suffix not in TEXT_EXTENSIONS:
        from .readers import EXTENSIONS, read

        if suffix in EXTENSIONS:
            return read(path).to_spectrum()
    return parse_columns(str(path), read_text(path))


def describe_source(path: str | Path, options: Mapping[str, Any] | None = None) -> str:
    """``path`` with its reader options, for messages: ``series.nxs (index=3)``."""
    opts = ", ".join(f"{k}={v}" for k, v in (options or {}).items() if v is not None)
    return f"{path} ({opts})" if opts else str(path)


def parse_columns(p: str, text: str) -> Spectrum:
    """Parse the text of a 2- or 3-column file named ``p`` (see the module docstring)."""
    delim: str | None = None
    delim_line = 0
    ncol, ncol_line = 0, 0
    header: tuple[int, int] | None = None  # (line, number of names) of a delimited header
    had_header = False
    seen_content = False
    rows: list[list[float]] = []
    lines: list[int] = []

    for lineno, raw_line in enumerate(text.splitlines(), 1):
        s = raw_line.split("#", 1)[0].strip()
        if not s:
            continue
        d = _delimiter(p, lineno, s)
        cells = s.split() if d in (_WS, None) else [c.strip() for c in s.split(d)]
        is_header = not seen_content and all(_is_name(c) for c in cells)
        seen_content = True
        if d is not None and not (is_header and d == _WS):
            if delim is None:
                delim, delim_line = d, lineno
            elif d != delim:
                raise DataError(f"{p}: line {lineno}: uses {_DELIM_NAMES[d]} as delimiter but "
                                f"line {delim_line} uses {_DELIM_NAMES[delim]}; use one delimiter "
                                f"throughout the file (a ',' decimal point counts as a delimiter)")
        if is_header:
            had_header = True
            header = (lineno, len(cells)) if d != _WS else None  # names may contain spaces
            continue
        if not rows:
            ncol, ncol_line = len(cells), lineno
            if ncol not in (2, 3):
                raise DataError(f"{p}: line {lineno}: found {ncol} column(s); expected 2 (x, y) "
                                f"or 3 (x, y, sd); remove extra columns or check the delimiter "
                                f"(comma, semicolon, tab or spaces)")
            if header is not None and header[1] != ncol:
                raise DataError(f"{p}: line {header[0]}: header has {header[1]} name(s) but the "
                                f"data (from line {lineno}) has {ncol} columns; fix the header "
                                f"or the data")
        elif len(cells) != ncol:
            raise DataError(f"{p}: line {lineno}: has {len(cells)} column(s) but line {ncol_line} "
                            f"has {ncol}; every row needs the same columns x, y"
                            f"{', sd' if ncol == 3 else ''}")
        vals = [parse_cell(p, lineno, j, c) for j, c in enumerate(cells)]
        if ncol == 3 and vals[2] <= 0:
            raise DataError(f"{p}: line {lineno}: sd must be > 0, got {cells[2]!r}; give a "
                            f"positive sd, remove the point, or drop the sd column to estimate "
                            f"the noise")
        rows.append(vals)
        lines.append(lineno)

    if not rows:
        what = "has only a header" if had_header else "is empty or has only comments"
        raise DataError(f"{p}: no data rows (file {what}); expected numeric columns x, y[, sd]")

    arr = np.asarray(rows, dtype=np.float64)
    rev = check_axis(p, arr[:, 0], [f"line {li}" for li in lines])
    if rev:
        arr = arr[::-1]
    arr = np.ascontiguousarray(arr)
    sd = arr[:, 2].copy() if ncol == 3 else None
    return Spectrum(x=arr[:, 0].copy(), y=arr[:, 1].copy(), sd=sd, path=p, reversed=rev)


def check_axis(p: str, x: np.ndarray, where: list[str]) -> bool:
    """Check that axis ``x`` (shape (n,)) is strictly monotone; ``where[i]`` names point i in
    messages ("line 12", "index 5"). Returns True when it is decreasing (the caller reverses
    it); DataError naming the file and both places for a duplicate or an out-of-order x."""
    first: dict[float, int] = {}
    for i, xi in enumerate(x.tolist()):
        if xi in first:
            a, b = where[first[xi]], where[i]
            both = (f"lines {a[5:]} and {b[5:]}" if a.startswith("line ") and b.startswith("line ")
                    else f"{a} and {b}")
            raise DataError(f"{p}: {both}: duplicated x = {xi!r}; average or remove one of the "
                            f"points")
        first[xi] = i
    if len(x) < 2:
        return False
    increasing = bool(x[1] > x[0])
    dx = np.diff(x)
    bad = np.flatnonzero(dx < 0 if increasing else dx > 0)
    if bad.size:
        k = int(bad[0])
        order = "increasing" if increasing else "decreasing"
        raise DataError(f"{p}: {where[k + 1]}: x = {x[k + 1]!r} breaks the {order} order "
                        f"(previous x = {x[k]!r} at {where[k]}); sort the points by x")
    return not increasing


def _is_name(cell: str) -> bool:
    """True for a header cell: non-empty and not a number (``nan``/``inf`` count as numbers)."""
    if not cell:
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False
