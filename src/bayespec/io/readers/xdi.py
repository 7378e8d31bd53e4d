"""XAS Data Interchange (XDI 1.0) files: x-ray absorption spectra with a ``#`` header.

Layout (https://github.com/XraySpectroscopy/XAS-Data-Interchange, spec 1.0)::

    # XDI/1.0 [application/version ...]
    # Column.1: energy eV
    # Column.2: i0
    # Column.3: itrans
    # Element.symbol: Cu
    # ///                      <- free-form comments follow
    # any text
    #----                     <- end of the header
    # energy i0 itrans         <- optional column labels
    8979.0  1.5e5  5.5e5

``Namespace.tag: value`` fields go into the metadata (``xdi.Element.symbol`` ...). x is the
``energy`` column (else ``angle``, else column 1) with its units. y is mu(E), chosen by ``mu``:

- ``transmission``: mu = ln(i0 / itrans) (= -ln(It/I0));
- ``fluorescence``: mu = ifluor / i0;
- a column name (e.g. ``mutrans``, ``normfluor``): that column as is;
- None: the single column among mutrans, mufluor, mu, normtrans, normfluor if exactly one
  exists, else an error asking for ``mu``.
"""

from __future__ import annotations

import math
import re

import numpy as np

from ...errors import DataError
from ..spectrum import check_axis, parse_cell, read_text
from . import Record

__all__ = ["read_xdi", "MU_MODES"]

MU_MODES = ("transmission", "fluorescence")
_MU_COLUMNS = ("mutrans", "mufluor", "mu", "normtrans", "normfluor")
_FIELD = re.compile(r"#\s*([A-Za-z][A-Za-z0-9_]*)\.([A-Za-z0-9_]+)\s*:\s*(.*)$")


def read_xdi(path: str, mu: str | None = None) -> Record:
    """Read an XDI 1.0 file (see the module docstring); DataError naming the file and line."""
    p = str(path)
    text = read_text(p)
    lines = text.splitlines()
    if not lines or not re.match(r"#\s*XDI/1\.\d+", lines[0]):
        raise DataError(f"{p}: line 1: not an XDI file (it must start with '# XDI/1.0'); give "
                        f"the format of the file in the manifest's format column")
    fields: dict[str, str] = {"version": lines[0].lstrip("#").strip()}
    columns: dict[int, tuple[str, str]] = {}  # 1-based index -> (name, units)
    col_line = 0
    labels: list[str] | None = None
    in_comments = False
    end = None
    comments: list[str] = []
    for i, raw in enumerate(lines[1:], 2):
        s = raw.strip()
        if not s.startswith("#"):
            end = i - 1
            break
        if re.fullmatch(r"#\s*-{2,}\s*", s):
            in_comments = False
            end = i
            continue
        if end is not None:  # after '#----': the column-label line
            labels = s.lstrip("#").split()
            continue
        if re.fullmatch(r"#\s*/{3,}\s*", s):
            in_comments = True
            continue
        if in_comments:
            comments.append(s.lstrip("#").strip())
            continue
        m = _FIELD.match(s)
        if m is None:
            raise DataError(f"{p}: line {i}: {s!r} is not an XDI header field ('# Namespace.tag: "
                            f"value'); put free text after a '# ///' line")
        ns, tag, value = m.group(1), m.group(2), m.group(3).strip()
        if ns.lower() == "column":
            if not tag.isdigit() or int(tag) < 1:
                raise DataError(f"{p}: line {i}: Column.{tag}: column numbers start at 1")
            parts = value.split()
            if not parts:
                raise DataError(f"{p}: line {i}: Column.{tag} has no name")
            columns[int(tag)] = (parts[0].lower(), " ".join(parts[1:]))
            col_line = col_line or i
        else:
            fields[f"{ns}.{tag}"] = value
    first_data = (end or len(lines)) + 1
    if labels and not columns:
        columns = {j + 1: (lab.lower(), "") for j, lab in enumerate(labels)}
    if not columns:
        raise DataError(f"{p}: no 'Column.N: name' header fields and no column labels; an XDI "
                        f"file names its columns in the header")
    ncol = max(columns)
    names = {n: j for j, (n, _) in columns.items()}
    where_cols = f"line {col_line}" if col_line else "the header"

    def col(name: str, why: str) -> int:
        if name not in names:
            have = ", ".join(n for _, (n, _) in sorted(columns.items()))
            raise DataError(f"{p}: {where_cols}: no column {name!r} ({why}); the Column.N fields "
                            f"name {have}; choose another mu or fix the header")
        return names[name]

    xj = names.get("energy") or names.get("angle") or min(columns)
    x_units = columns[xj][1]
    if mu is None:
        have = [c for c in _MU_COLUMNS if c in names]
        if len(have) != 1:
            raise DataError(f"{p}: {where_cols}: {'no' if not have else 'more than one'} mu "
                            f"column ({', '.join(have) or 'none of ' + ', '.join(_MU_COLUMNS)}); "
                            f"set mu in the manifest: transmission (ln(i0/itrans)), fluorescence "
                            f"(ifluor/i0) or a column name")
        mu = have[0]
    mode = str(mu).lower()
    if mode == "transmission":
        need = {"i0": col("i0", "mu transmission"), "itrans": col("itrans", "mu transmission")}
    elif mode == "fluorescence":
        need = {"i0": col("i0", "mu fluorescence"), "ifluor": col("ifluor", "mu fluorescence")}
    else:
        need = {"mu": col(mode, "the mu column")}

    rows: list[list[float]] = []
    where: list[str] = []
    use = [xj, *need.values()]
    for i, raw in enumerate(lines[first_data - 1:], first_data):
        s = raw.split("#", 1)[0].strip()
        if not s:
            continue
        cells = s.split()
        if len(cells) < ncol:
            raise DataError(f"{p}: line {i}: has {len(cells)} column(s) but the header declares "
                            f"{ncol} (Column.1..Column.{ncol}); the row is truncated or a column "
                            f"is missing")
        rows.append([parse_cell(p, i, j - 1, cells[j - 1], columns.get(j, (f"#{j}",))[0])
                     for j in use])
        where.append(f"line {i}")
    if not rows:
        raise DataError(f"{p}: no data rows after the header (line {first_data - 1})")
    arr = np.asarray(rows, dtype=np.float64)
    x = arr[:, 0]
    if mode == "transmission":
        i0, it = arr[:, 1], arr[:, 2]
        bad = np.flatnonzero((i0 <= 0) | (it <= 0))
        if bad.size:
            k = int(bad[0])
            raise DataError(f"{p}: {where[k]}: i0 = {i0[k]:g}, itrans = {it[k]:g}; mu "
                            f"transmission = ln(i0/itrans) needs both > 0")
        y = np.log(i0 / it)
    elif mode == "fluorescence":
        i0, fl = arr[:, 1], arr[:, 2]
        bad = np.flatnonzero(i0 <= 0)
        if bad.size:
            k = int(bad[0])
            raise DataError(f"{p}: {where[k]}: i0 = {i0[k]:g}; mu fluorescence = ifluor/i0 "
                            f"needs i0 > 0")
        y = fl / i0
    else:
        y = arr[:, 1]
    rev = check_axis(p, x, where)
    if rev:
        x, y = x[::-1], y[::-1]
    meta = {f"xdi.{k}": v for k, v in fields.items()}
    meta.update(mu=mode, columns=[n for _, (n, _) in sorted(columns.items())])
    if comments:
        meta["xdi.comments"] = "\n".join(comments)
    if not all(math.isfinite(v) for v in y):
        raise DataError(f"{p}: mu is not finite")
    return Record(np.ascontiguousarray(x), np.ascontiguousarray(y), None, p,
                  x_units=x_units, y_units="", metadata=meta, reversed=rev)
