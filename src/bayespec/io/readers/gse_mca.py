"""GSE MCA text files (GSECARS / xraylarch, EPICS multi-element fluorescence detectors).

Layout: header lines ``KEY: values``, one value per detector element for the per-element keys
(``VERSION``, ``ELEMENTS``, ``DATE``, ``CHANNELS``, ``REAL_TIME``, ``LIVE_TIME``,
``CAL_OFFSET``, ``CAL_SLOPE``, ``CAL_QUAD``, ``TWO_THETA``, ``ROIS``, ``ROI_i_LEFT`` /
``ROI_i_RIGHT`` (channels) / ``ROI_i_LABEL`` ('&'-separated), repeated ``ENVIRONMENT:
PV="value" (description)``), then ``DATA:`` and ``CHANNELS`` rows of ``ELEMENTS`` integer
counts, one column per element.

The file is a stack of ELEMENTS spectra (like a 2-D NeXus signal): ``index`` picks element
``index`` (0-based; :func:`bayespec.io.readers.stack_size` gives ELEMENTS, for one entry
``id[index]`` per element), or ``sum_elements`` adds all columns, allowed only when every
element has the same calibration (no silent rebinning). Each spectrum: x (shape (CHANNELS,))
the channel energies in eV,
``1000 * (CAL_OFFSET + CAL_SLOPE*i + CAL_QUAD*i**2)`` (calibration in keV, i = 0-based
channel), y the raw counts as float64 (not dead-time corrected), sd None (use the Poisson
likelihood). The metadata holds the element, calibration (keV), real/live times (s), ROIs
(channels and eV), date, version, two-theta and the ENVIRONMENT entries; ``mono_energy`` is the
"Mono Energy" ENVIRONMENT value as written (the file states no units).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ...errors import ConfigError, DataError
from ..spectrum import read_text
from . import Record

__all__ = ["read_gse_mca", "gse_mca_stack_size"]

_ENV = re.compile(r'(\S+?)="(.*?)"\s*(?:\((.*)\))?\s*$')
_INT = re.compile(r"\d+")


def _fail(p: str, line: int, what: str) -> DataError:
    return DataError(f"{p}: line {line}: {what}")


def _parse_header(p: str, lines: list[str]) -> tuple[dict[str, tuple[int, str]], list, int]:
    """Header fields ``KEY -> (line, value text)`` (``DATA`` included), ENVIRONMENT entries
    and the line number of ``DATA:``."""
    if not any(s.strip() for s in lines):
        raise DataError(f"{p}: line 1: empty file; a GSE MCA file has header lines 'KEY: "
                        f"values' (ELEMENTS, CHANNELS, CAL_OFFSET, CAL_SLOPE ...) then 'DATA:' "
                        f"and the counts: copy the file again or set the format")
    fields: dict[str, tuple[int, str]] = {}
    env: list[dict[str, str]] = []
    for i, raw in enumerate(lines, 1):
        s = raw.strip()
        if not s:
            continue
        key, sep, value = s.partition(":")
        key, value = key.strip().upper(), value.strip()
        if not sep or not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            raise _fail(p, i, f"{s[:40]!r} is not a 'KEY: values' header line and no 'DATA:' "
                        f"line came before it; the file is not a GSE MCA file or its header is "
                        f"damaged: set the format or copy the file again")
        if key == "DATA":
            fields["DATA"] = (i, value)
            return fields, env, i
        if key == "ENVIRONMENT":
            m = _ENV.match(value)
            env.append({"pv": m.group(1), "value": m.group(2), "description": m.group(3) or ""}
                       if m else {"pv": "", "value": value, "description": ""})
            continue
        if key in fields:
            raise _fail(p, i, f"{key} given twice (also line {fields[key][0]}); keep one")
        fields[key] = (i, value)
    raise _fail(p, len(lines), "no 'DATA:' line after the header; the file is truncated or not "
                "a GSE MCA file: copy it again or set the format")


def _count(p: str, fields: dict, key: str, minimum: int) -> int:
    if key not in fields:
        raise DataError(f"{p}: lines 1-{fields['DATA'][0]}: the header has no {key} line; a GSE "
                        f"MCA file states '{key}: N' before DATA: (add it or copy the file "
                        f"again)")
    line, v = fields[key]
    if not _INT.fullmatch(v) or int(v) < minimum:
        raise _fail(p, line, f"{key}: {v!r} must be a whole number >= {minimum}")
    return int(v)


def _values(p: str, fields: dict, key: str, m: int, kind: type = float) -> list | None:
    """The ``m`` per-element values of header line ``key`` (None when absent)."""
    if key not in fields:
        return None
    line, v = fields[key]
    cells = v.split()
    if len(cells) != m:
        raise _fail(p, line, f"{key} has {len(cells)} value(s) but ELEMENTS is {m}; give one "
                    f"value per detector element")
    out = []
    for e, c in enumerate(cells):
        try:
            x = kind(c)
        except ValueError:
            x = None
        if x is None or not np.isfinite(x):
            raise _fail(p, line, f"{key}, element {e}: cannot read {c!r} as "
                        f"{'a whole number' if kind is int else 'a finite number'}; fix the "
                        f"value")
        out.append(x)
    return out


def gse_mca_stack_size(path: str, sum_elements: Any = None) -> int | None:
    """ELEMENTS of a multi-element file, None for one element or with ``sum_elements``."""
    p = str(path)
    fields, _, _ = _parse_header(p, read_text(p).splitlines())
    m = _count(p, fields, "ELEMENTS", 1)
    return None if m == 1 or _flag(p, sum_elements) else m


def _flag(p: str, v: Any) -> bool:
    if v is None or isinstance(v, (bool, np.bool_)):
        return bool(v)
    s = str(v).strip().lower()
    if s in ("1", "true", "yes"):
        return True
    if s in ("0", "false", "no", ""):
        return False
    raise ConfigError(f"{p}: sum_elements: {v!r}; use true or false")


def _index(p: str, index: Any) -> int | None:
    if index is None:
        return None
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        return int(index)
    if isinstance(index, str) and _INT.fullmatch(index.strip()):
        return int(index)
    raise ConfigError(f"{p}: index: {index!r}; give the 0-based detector element number")


def _rois(p: str, fields: dict, m: int, e: int, count: int, x: np.ndarray) -> list[dict]:
    """Element ``e``'s ROIs: label, left/right channel and their energies (eV)."""
    out = []
    for r in range(count):
        lkey, rkey, tkey = (f"ROI_{r}_{s}" for s in ("LEFT", "RIGHT", "LABEL"))
        left, right = _values(p, fields, lkey, m, int), _values(p, fields, rkey, m, int)
        if left is None or right is None:
            raise _fail(p, fields["ROIS"][0], f"ROIS declares {count} ROIs for element {e} but "
                        f"{lkey} or {rkey} is missing; fix ROIS or add the lines")
        labels = [s.strip() for s in fields.get(tkey, (0, ""))[1].split("&")]
        roi: dict[str, Any] = {"label": labels[e] if e < len(labels) else "",
                               "left": left[e], "right": right[e]}
        if 0 <= left[e] < x.size and 0 <= right[e] < x.size:
            roi.update(left_eV=float(x[left[e]]), right_eV=float(x[right[e]]))
        out.append(roi)
    return out


def read_gse_mca(path: str, index: Any = None, sum_elements: Any = None) -> Record:
    """Element ``index`` of a GSE MCA file, or the sum of its elements (module docstring)."""
    p = str(path)
    lines = read_text(p).splitlines()
    fields, env, data_line = _parse_header(p, lines)
    m = _count(p, fields, "ELEMENTS", 1)
    n = _count(p, fields, "CHANNELS", 2)
    idx, total = _index(p, index), _flag(p, sum_elements)
    if total and idx is not None:
        raise ConfigError(f"{p}: index {idx} and sum_elements both given; choose one")
    if idx is None and not total:
        if m > 1:
            raise DataError(f"{p}: a stack of {m} spectra (ELEMENTS: {m}, one per detector "
                            f"element); pick one with index (`bayespec fit --index N`; a "
                            f"campaign fits every element) or set sum_elements")
        idx = 0
    if idx is not None and not 0 <= idx < m:
        raise DataError(f"{p}: index {idx} is out of range; the file has elements 0..{m - 1}")
    cal: dict[str, list[float]] = {}
    for key in ("CAL_OFFSET", "CAL_SLOPE"):
        got = _values(p, fields, key, m)
        if got is None:
            raise DataError(f"{p}: lines 1-{data_line}: the header has no {key} line; the "
                            f"energy axis needs CAL_OFFSET and CAL_SLOPE (keV), one value per "
                            f"element: add it")
        cal[key] = got
    cal["CAL_QUAD"] = _values(p, fields, "CAL_QUAD", m) or [0.0] * m
    per = {k: _values(p, fields, k, m) for k in ("REAL_TIME", "LIVE_TIME", "TWO_THETA")}
    elems = list(range(m)) if total else [int(idx)]
    ch = np.arange(n, dtype=np.float64)
    axes = {}
    for e in elems:
        off, slope, quad = (cal[k][e] for k in ("CAL_OFFSET", "CAL_SLOPE", "CAL_QUAD"))
        if slope <= 0:
            raise _fail(p, fields["CAL_SLOPE"][0], f"CAL_SLOPE, element {e}: {slope!r} keV per "
                        f"channel; it must be > 0 (energy increasing with channel): fix the "
                        f"calibration")
        x = 1000.0 * (off + slope * ch + quad * ch * ch)
        bad = np.flatnonzero(np.diff(x) <= 0)
        if bad.size:
            raise _fail(p, fields["CAL_QUAD"][0],  # CAL_QUAD = 0 never gets here
                        f"CAL_QUAD, element {e}: {quad!r} makes the energy stop increasing at "
                        f"channel {int(bad[0])}; fix the calibration")
        axes[e] = x
    if total and len({tuple(cal[k][e] for k in cal) for e in elems}) > 1:
        diff = [k for k in cal if k in fields and len(set(cal[k])) > 1]
        where = ("lines " if len(diff) > 1 else "line ") + ", ".join(
            f"{fields[k][0]} ({k})" for k in diff)
        raise DataError(f"{p}: {where}: the elements' calibrations differ, so their channels "
                        f"are not one energy axis; sum_elements would need rebinning: fit the "
                        f"elements one by one (index) or jointly (GROUP.yaml)")

    counts = np.empty((n, m), dtype=np.float64)
    row = 0
    for i in range(data_line + 1, len(lines) + 1):
        cells = lines[i - 1].split()
        if not cells:
            continue
        if row == n:
            raise _fail(p, i, f"more than CHANNELS = {n} data rows after DATA: (line "
                        f"{data_line}); fix CHANNELS or remove the extra rows")
        if len(cells) != m:
            raise _fail(p, i, f"has {len(cells)} column(s) but ELEMENTS is {m}; each data row "
                        f"holds one count per detector element")
        for e, c in enumerate(cells):
            if not _INT.fullmatch(c):
                what = "a negative count" if re.fullmatch(r"-\d+", c) else "not a whole number"
                raise _fail(p, i, f"element {e}: {c!r} is {what}; the counts of a GSE MCA "
                            f"file are raw integers >= 0 (restore the raw file)")
            counts[row, e] = float(c)
        row += 1
    if row < n:
        raise _fail(p, len(lines), f"only {row} data row(s) after DATA: (line {data_line}) but "
                    f"CHANNELS is {n}; the file is truncated: copy it again")

    y = counts[:, elems].sum(axis=1)
    meta: dict[str, Any] = {"elements": m, "channels": n,
                            "element": "sum" if total else elems[0]}
    for k in ("VERSION", "DATE"):
        if k in fields:
            meta[k.lower()] = fields[k][1]
    if not total:
        meta.update(index=elems[0], stack_size=m)
    pick = (lambda v: list(v)) if total else (lambda v: v[elems[0]])
    for k, v in cal.items():
        meta[f"{k.lower()}_keV"] = pick(v)
    for k, v in per.items():
        if v is not None:
            meta[k.lower() + ("_deg" if k == "TWO_THETA" else "_s")] = pick(v)
    nroi = _values(p, fields, "ROIS", m, int)
    if nroi is not None:
        rois = [_rois(p, fields, m, e, nroi[e], axes[e]) for e in elems]
        meta["rois"] = rois if total else rois[0]
    if env:
        meta["environment"] = env
        mono = [d["value"] for d in env if "mono energy" in d["description"].lower()]
        if mono:
            try:
                meta["mono_energy"] = float(mono[0])
            except ValueError:
                meta["mono_energy"] = mono[0]
    return Record(axes[elems[0]], y, None, p, x_units="eV", y_units="counts", metadata=meta)
