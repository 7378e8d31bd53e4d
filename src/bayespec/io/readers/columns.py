"""Format ``columns``: chosen columns of a delimited text file with a header line."""

from __future__ import annotations

import difflib
import os

import numpy as np

from ...errors import DataError
from ..spectrum import parse_cell, read_text


def read_columns(path: str | os.PathLike, x_col: str | int, y_col: str | int,
                 sd_col: str | int | None = None):
    """Read chosen columns of a delimited text file with a header line (format ``columns``).

    Columns are named by header name or 1-based number. Delimiter: tab, comma or semicolon
    (from the header line), else whitespace. ``#`` starts a comment. Every problem raises a
    one-line DataError naming the file and line. Returns a :class:`bayespec.io.spectrum.Spectrum`
    (x increasing; a decreasing axis is reversed)."""
    from ..spectrum import Spectrum

    p = str(path)
    text = read_text(p)
    header: list[str] | None = None
    hline = 0
    delim: str | None = None
    idx: dict[str, int] = {}
    vals: list[list[float]] = []
    lines: list[int] = []
    want = {"x": x_col, "y": y_col}
    if sd_col is not None:
        want["sd"] = sd_col
    for lineno, raw in enumerate(text.splitlines(), 1):
        s = raw.split("#", 1)[0].strip()
        if not s:
            continue
        if header is None:
            delim = next((d for d in ("\t", ",", ";") if d in s), None)
            header = [h.strip() for h in (s.split(delim) if delim else s.split())]
            hline = lineno
            for role, spec in want.items():
                if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
                    j = int(spec) - 1
                    if not 0 <= j < len(header):
                        raise DataError(f"{p}: line {lineno}: {role}_col {spec} is out of range; "
                                        f"the header has {len(header)} columns")
                elif spec in header:
                    j = header.index(spec)
                else:
                    close = difflib.get_close_matches(str(spec), header, n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise DataError(f"{p}: line {lineno}: no column {spec!r} ({role}_col) in the "
                                    f"header; {hint}columns: {', '.join(header)}")
                idx[role] = j
            continue
        cells = [c.strip() for c in (s.split(delim) if delim else s.split())]
        if len(cells) != len(header):
            raise DataError(f"{p}: line {lineno}: has {len(cells)} column(s) but the header "
                            f"(line {hline}) has {len(header)}")
        row = []
        for role, j in idx.items():
            cell = cells[j]
            v = parse_cell(p, lineno, j, cell, header[j])
            if role == "sd" and v <= 0:
                raise DataError(f"{p}: line {lineno}, column {j + 1} ({header[j]}): sd must be "
                                f"> 0, got {cell!r}")
            row.append(v)
        vals.append(row)
        lines.append(lineno)
    if header is None or not vals:
        raise DataError(f"{p}: no data rows (a header line and numeric rows are expected)")
    arr = np.asarray(vals, dtype=float)
    x = arr[:, 0]
    first: dict[float, int] = {}
    for xi, li in zip(x.tolist(), lines):
        if xi in first:
            raise DataError(f"{p}: lines {first[xi]} and {li}: duplicated x = {xi!r}")
        first[xi] = li
    if len(x) >= 2:
        inc = x[1] > x[0]
        bad = np.flatnonzero(np.diff(x) < 0 if inc else np.diff(x) > 0)
        if bad.size:
            k = int(bad[0])
            raise DataError(f"{p}: line {lines[k + 1]}: x = {x[k + 1]!r} breaks the "
                            f"{'increasing' if inc else 'decreasing'} order (previous x on line "
                            f"{lines[k]}); sort the rows by x")
        if not inc:
            arr = arr[::-1]
    arr = np.ascontiguousarray(arr)
    return Spectrum(x=arr[:, 0].copy(), y=arr[:, 1].copy(),
                    sd=arr[:, 2].copy() if arr.shape[1] == 3 else None, path=p,
                    reversed=bool(len(x) >= 2 and x[1] < x[0]))
