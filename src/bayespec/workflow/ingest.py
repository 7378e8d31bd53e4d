"""Stage ingest: a raw spectrum file (any :mod:`bayespec.io.readers` format) -> a small Zarr
dataset (x, y, sd, units, metadata), or an error marker when the file cannot be read."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from .. import __version__
from ..io.store import _dumps
from .markers import STATUS_OK, _error_status, log, write_dataset_atomic, write_marker


def read_source(path: str | os.PathLike, params: Mapping):
    """Read one manifest spectrum with :func:`bayespec.io.readers.read`: its ``format`` (empty: by
    extension) and that format's options from ``params`` (x_col/y_col/sd_col, mu, nxdata,
    index). Returns a :class:`bayespec.io.readers.Record`."""
    from ..io import readers

    fmt = readers.detect_format(path, params.get("format"))
    opts = {k: params.get(k) for k in readers.OPTIONS[fmt]}
    return readers.read(path, fmt, **opts)


def _sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def ingest(source: str | os.PathLike, out: str | os.PathLike, params: Mapping,
           log_path: str | None = None) -> str:
    """Raw file -> ``out`` (Zarr): an xr.Dataset with coord ``x`` and variables ``y`` (and
    ``sd``), attrs spectrum, source, sha256, format, units, manifest metadata and
    ``status = "ok"``. Any error reading the file (it is untrusted input) writes an error
    marker instead. Returns the status."""
    import xarray as xr

    sid = params.get("spectrum", Path(out).stem)
    try:
        spec = read_source(source, params)
        digest = _sha256(source)
    except Exception as e:  # noqa: BLE001 - a bad file is data, never a crashed campaign
        status = _error_status(e)
        log.error("%s: ingest failed: %s", sid, status)
        write_marker(out, status, spectrum=sid, stage="ingest", log=log_path, source=str(source))
        return status
    data = {"y": ("x", spec.y)}
    if spec.sd is not None:
        data["sd"] = ("x", spec.sd)
    # the manifest's units win over the file's (a file may state none or a wrong one)
    x_units = params.get("x_units") or spec.x_units
    y_units = params.get("y_units") or spec.y_units
    ds = xr.Dataset(data, coords={"x": spec.x}, attrs={
        "status": STATUS_OK, "spectrum": sid, "source": str(source), "sha256": digest,
        "format": spec.metadata.get("format", params.get("format") or "xy"),
        "n_points": int(spec.n), "x_units": x_units, "y_units": y_units,
        "axis_reversed": bool(spec.reversed),
        "metadata": _dumps(params.get("metadata") or {}),
        "file_metadata": _dumps(spec.metadata), "created_by": f"bayespec {__version__}",
    })
    if params.get("index") is not None:
        ds.attrs["index"] = int(params["index"])
    ds["x"].attrs["units"] = x_units
    ds["y"].attrs["units"] = y_units
    write_dataset_atomic(ds, out)
    log.info("%s: ingested %d points from %s (x %.6g .. %.6g)%s", sid, spec.n, source,
             spec.x[0], spec.x[-1], " with an sd column" if spec.sd is not None else "")
    return STATUS_OK
