"""Powder-diffraction patterns: ``.xy``, ``.xye`` and ``.chi`` columns 2-theta or Q, intensity,
optional sd.

Two header styles are understood, everything else is the plain column format of
:mod:`bayespec.io.spectrum` (``#`` comments, comma or whitespace delimiters):

- Fit2D ``.chi``: four header lines without ``#``: a title, the x label (e.g.
  ``2-Theta Angle (Degrees)`` or ``Q (nm^-1)``), the y label and the number of points, which
  is checked against the data (a shorter file is reported as truncated);
- pyFAI-style ``#`` comments whose last line before the data names the columns, e.g.
  ``#  2th_deg  I  sigma`` or ``# q_nm^-1 I``.

The axis quantity (``2theta`` or ``q``) and its units go into the record's metadata and
``x_units``; the intensity has no units unless the manifest gives them.
"""

from __future__ import annotations

import re

from ...errors import DataError
from ..spectrum import parse_columns, read_text
from . import Record

__all__ = ["read_diffraction", "axis_from_label"]


def axis_from_label(label: str) -> tuple[str, str] | None:
    """(quantity, units) of an axis label such as ``2th_deg``, ``2-Theta Angle (Degrees)``,
    ``q_nm^-1``, ``Q (A^-1)``; None when the label names neither 2-theta nor Q."""
    s = label.strip().lower()
    if re.search(r"2[-_ ]?th|two[-_ ]?theta|2\u03b8|tth", s):
        return "2theta", "rad" if "rad" in s else "deg"
    if re.match(r"q\b|q_|q\s*\(", s):
        if "nm" in s:
            return "q", "nm^-1"
        if re.search(r"a\^-1|a-1|\u00e5|angstrom|1/a", s):
            return "q", "A^-1"
        return "q", ""
    return None


def _is_count(line: str) -> bool:
    return re.fullmatch(r"\s*\d+\s*", line) is not None


def read_diffraction(path: str) -> Record:
    """Read a 2- or 3-column diffraction pattern (see the module docstring)."""
    p = str(path)
    text = read_text(p)
    lines = text.splitlines()
    meta: dict = {}
    declared = None
    axis = None
    head = lines[:4]
    if (len(head) == 4 and not any(h.lstrip().startswith("#") for h in head)
            and _is_count(head[3]) and not _is_count(head[1])):
        # Fit2D chi header: blank the four lines (line numbers stay right) and keep the labels
        meta.update(title=head[0].strip(), x_label=head[1].strip(), y_label=head[2].strip())
        declared = int(head[3])
        axis = axis_from_label(head[1])
        if axis is None:
            raise DataError(f"{p}: line 2: x label {head[1].strip()!r} names neither 2-theta nor "
                            f"Q; a Fit2D .chi header is title, x label, y label, point count")
        lines = ["#"] * 4 + lines[4:]
    else:
        last = None
        for raw in lines:
            s = raw.strip()
            if not s:
                continue
            if not s.startswith("#"):
                break
            last = s.lstrip("#").strip()
        if last:
            names = last.split()
            if 2 <= len(names) <= 3:
                axis = axis_from_label(names[0])
                if axis is not None:
                    meta["columns"] = names
    spec = parse_columns(p, "\n".join(lines))
    if declared is not None and declared != spec.n:
        raise DataError(f"{p}: line 4 declares {declared} points but the file has {spec.n} data "
                        f"rows; the file is truncated or the header is wrong")
    if axis is not None:
        meta["axis"] = axis[0]
    return Record(spec.x, spec.y, spec.sd, p, x_units=axis[1] if axis else "",
                  metadata=meta, reversed=spec.reversed)
