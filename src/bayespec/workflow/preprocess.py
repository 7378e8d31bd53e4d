"""Stage preprocess: the steps of :mod:`bayespec.io.preprocessing` (binding energy, crop,
bin, subtract a background, normalise) on an ingested spectrum."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io.store import _dumps
from .markers import (STATUS_OK, _error_status, _open_dataset, _propagate, is_ok, log,
                      read_status, write_dataset_atomic, write_marker)




def preprocess(src: str | os.PathLike, out: str | os.PathLike, params: Mapping,
               log_path: str | None = None) -> str:
    """Apply the preprocessing steps of :mod:`bayespec.io.preprocessing` (binding energy, crop to
    [roi_min, roi_max], bin, subtract a linear or Shirley background, normalise) and check at
    least ``min_points`` remain. The attrs record every step (``preprocessing``: JSON list in
    order) and the classic keys roi_min, roi_max, bin, normalise, subtract, subtracted_line,
    scale, n_points; a subtracted background is kept as the variable ``background``. Upstream
    markers are copied on; a step that fails writes a marker. Returns the status."""
    from ..io import preprocessing

    sid = params.get("spectrum", Path(out).stem)
    if not is_ok(read_status(src)):
        return _propagate(src, out, sid)
    ds = _open_dataset(src)
    source = str(ds.attrs.get("source", src))
    try:
        (x, y, sd), bg, steps, p = preprocessing.run(
            np.asarray(ds["x"], dtype=float), np.asarray(ds["y"], dtype=float),
            np.asarray(ds["sd"], dtype=float) if "sd" in ds else None, params, source)
    except DataError as e:
        status = _error_status(e)
        log.error("%s: %s", sid, status)
        write_marker(out, status, spectrum=sid, stage="preprocess", log=log_path)
        return status
    import xarray as xr

    data = {"y": ("x", y)}
    if sd is not None:
        data["sd"] = ("x", sd)
    if bg is not None:
        data["background"] = ("x", bg)
    line = next(([s["intercept"], s["slope"]] for s in steps if s.get("kind") == "linear"),
                [0.0, 0.0])
    scale = next((s["scale"] for s in steps if s["step"] == "normalise"), 1.0)
    lo, hi = p["roi_min"], p["roi_max"]
    attrs = dict(ds.attrs)
    attrs.update({"roi_min": "" if lo is None else float(lo),
                  "roi_max": "" if hi is None else float(hi), "bin": int(p["bin"]),
                  "normalise": p["normalise"], "subtract": p["subtract"],
                  "subtracted_line": line, "scale": scale, "n_points": int(x.size),
                  "preprocessing": _dumps(steps)})
    new = xr.Dataset(data, coords={"x": x}, attrs=attrs)
    for v in ("x", "y"):
        new[v].attrs.update(ds[v].attrs)
    write_dataset_atomic(new, out)
    log.info("%s: %d points after %s", sid, x.size,
             ", ".join(s["step"] + (f" {s['kind']}" if "kind" in s else "") for s in steps)
             or "no preprocessing")
    return STATUS_OK
