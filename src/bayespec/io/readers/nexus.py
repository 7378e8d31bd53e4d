"""NeXus / HDF5 files: the NXdata group a NeXus reader plots by default.

The group is found as NeXus prescribes: the root's ``default`` attribute names an NXentry,
whose ``default`` names an NXdata (when an attribute is missing, the first NXentry / NXdata
child is taken); or the manifest's ``nxdata`` column gives its HDF5 path. In that group the
``signal`` attribute names the intensity dataset and ``axes`` the axis of each dimension
(``AXISNAME_indices`` is honoured too); the last dimension is the spectrum's x axis.
A dataset ``<signal>_errors`` (or ``errors``) gives the per-point sd. ``units`` and
``long_name`` attributes go to the units and metadata.

A 1-D signal is one spectrum. A 2-D signal of shape (m, n) is a stack of m spectra on one x
axis (a time-resolved or in-situ series): ``index`` picks row ``index``, and the campaign
makes one manifest entry ``id[index]`` per row. The first dimension's axis value (e.g. the time
of each pattern), if the file has one, goes into the metadata.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import DataError
from ..spectrum import check_axis
from . import Record

__all__ = ["read_nexus", "nexus_stack_size"]


def _h5py():
    try:
        import h5py
    except ImportError:  # pragma: no cover - h5py is a pinned dependency
        raise DataError("reading NeXus/HDF5 files needs h5py; pip install h5py") from None
    return h5py


def _text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return _text(v[()])
    return str(v)


def _texts(v: Any) -> list[str]:
    if isinstance(v, (str, bytes)):
        return [_text(v)]
    return [_text(a) for a in np.asarray(v).ravel().tolist()]


def _open(p: str):
    h5py = _h5py()
    try:
        return h5py.File(p, "r")
    except FileNotFoundError:
        raise DataError(f"{p}: file not found; check the path") from None
    except OSError as e:
        raise DataError(f"{p}: cannot open as HDF5 ({' '.join(str(e).split())}); the file is "
                        f"truncated, still being written, or not HDF5: copy it again or set "
                        f"the format") from None


def _nx_class(obj) -> str:
    return _text(obj.attrs.get("NX_class", ""))


def _child(group, name: str, where: str, p: str):
    try:
        return group[name]
    except KeyError:
        raise DataError(f"{p}: {where}: no member {name!r} (members: "
                        f"{', '.join(group.keys()) or 'none'})") from None
    except OSError as e:  # a damaged file often opens but fails on reading a member
        raise DataError(f"{p}: {where}/{name}: cannot read ({' '.join(str(e).split())}); the "
                        f"file is truncated or damaged") from None


def _find_nxdata(f, p: str, nxdata: str | None):
    h5py = _h5py()
    if nxdata:
        grp = f
        for part in [q for q in nxdata.split("/") if q]:
            grp = _child(grp, part, grp.name.rstrip("/") or "/", p)
        if not isinstance(grp, h5py.Group):
            raise DataError(f"{p}: {nxdata}: is a dataset, not an NXdata group; give the group "
                            f"path in the manifest's nxdata column")
        return grp
    grp = f
    for level in ("NXentry", "NXdata"):
        name = grp.attrs.get("default")
        if name is not None:
            grp = _child(grp, _text(name), grp.name, p)
            continue
        subs = [g for g in grp.values() if isinstance(g, h5py.Group) and _nx_class(g) == level]
        if not subs:
            if level == "NXdata" and "signal" in grp.attrs:
                return grp
            raise DataError(f"{p}: {grp.name}: no 'default' attribute and no {level} group; "
                            f"write NeXus default attributes or give the NXdata path in the "
                            f"manifest's nxdata column")
        grp = subs[0]
    return grp


def _signal(grp, p: str):
    h5py = _h5py()
    name = grp.attrs.get("signal")
    if name is None:
        old = [d for d in grp.values() if isinstance(d, h5py.Dataset)
               and _text(d.attrs.get("signal", "")) in ("1", "True")]
        if not old:
            raise DataError(f"{p}: {grp.name}: NXdata group has no 'signal' attribute; set it to "
                            f"the name of the intensity dataset")
        return old[0]
    sig = _child(grp, _text(name), grp.name, p)
    if not isinstance(sig, h5py.Dataset):
        raise DataError(f"{p}: {sig.name}: the signal is a group, not a dataset")
    return sig


def _axis_names(grp, sig) -> list[str | None]:
    """The axis dataset name of each dimension of the signal (None where there is none)."""
    rank = sig.ndim
    names: list[str | None] = [None] * rank
    axes = grp.attrs.get("axes")
    if axes is None:
        axes = sig.attrs.get("axes")  # NeXus 2012-style attribute on the signal
        if axes is not None:
            axes = _text(axes).replace(",", ":").split(":")
    if axes is not None:
        lst = _texts(axes)
        if len(lst) == rank:
            names = [None if a in (".", "") else a for a in lst]
    for key in grp.attrs:
        if str(key).endswith("_indices"):
            idx = np.asarray(grp.attrs[key]).ravel()
            if idx.size == 1 and 0 <= int(idx[0]) < rank:
                names[int(idx[0])] = str(key)[: -len("_indices")]
    return names


def _describe(f, p: str, nxdata: str | None):
    grp = _find_nxdata(f, p, nxdata)
    sig = _signal(grp, p)
    if sig.ndim not in (1, 2):
        raise DataError(f"{p}: {sig.name}: signal has {sig.ndim} dimensions {sig.shape}; bayespec "
                        f"reads a 1-D spectrum or a 2-D stack (one spectrum per row)")
    return grp, sig, _axis_names(grp, sig)


def nexus_stack_size(path: str, nxdata: str | None = None) -> int | None:
    """Rows of a 2-D signal (a stack), None for a 1-D signal."""
    p = str(path)
    with _open(p) as f:
        _, sig, _ = _describe(f, p, nxdata)
        return int(sig.shape[0]) if sig.ndim == 2 else None


def _read(ds, p: str, sel=()) -> np.ndarray:
    try:
        a = np.asarray(ds[sel], dtype=np.float64)
    except OSError as e:
        raise DataError(f"{p}: {ds.name}: cannot read ({' '.join(str(e).split())}); the file is "
                        f"truncated or damaged") from None
    except (TypeError, ValueError):
        raise DataError(f"{p}: {ds.name}: not numeric (dtype {ds.dtype})") from None
    return a


def read_nexus(path: str, index: int | None = None, nxdata: str | None = None) -> Record:
    """Read the default NXdata (or ``nxdata``) of ``path``; row ``index`` of a 2-D signal."""
    p = str(path)
    with _open(p) as f:
        grp, sig, axes = _describe(f, p, nxdata)
        sel: tuple = ()
        meta: dict[str, Any] = {"nxdata": grp.name, "signal": sig.name}
        if sig.ndim == 2:
            m = int(sig.shape[0])
            if index is None:
                raise DataError(f"{p}: {sig.name}: a stack of {m} spectra (shape {sig.shape}); "
                                f"pick one row with index (`bayespec fit --index N`; a "
                                f"campaign fits every row)")
            if not 0 <= int(index) < m:
                raise DataError(f"{p}: {sig.name}: index {index} is out of range; the stack has "
                                f"rows 0..{m - 1}")
            sel = (int(index),)
            meta.update(index=int(index), stack_size=m)
            if axes[0] is not None and axes[0] in grp:
                a0 = grp[axes[0]]
                if a0.ndim == 1 and a0.shape[0] == m:
                    meta[axes[0]] = float(_read(a0, p, (int(index),)))
                    if "units" in a0.attrs:
                        meta[f"{axes[0]}_units"] = _text(a0.attrs["units"])
        elif index is not None:
            raise DataError(f"{p}: {sig.name}: index {index} given but the signal is 1-D "
                            f"(one spectrum); clear the index")
        n = int(sig.shape[-1])
        y = _read(sig, p, sel)
        xname = axes[-1]
        if xname is None:
            x = np.arange(n, dtype=np.float64)
            x_units, xds = "", None
            meta["axis"] = "point index (the NXdata has no axis for the last dimension)"
        else:
            xds = _child(grp, xname, grp.name, p)
            x = _read(xds, p)
            if x.ndim != 1 or x.shape[0] != n:
                raise DataError(f"{p}: {xds.name}: axis has shape {x.shape} but the signal's "
                                f"last dimension has {n} points; they must match")
            x_units = _text(xds.attrs.get("units", ""))
            meta["axis"] = xds.name
            if "long_name" in xds.attrs:
                meta["x_long_name"] = _text(xds.attrs["long_name"])
        sd = None
        for ename in (f"{sig.name.rsplit('/', 1)[-1]}_errors", "errors"):
            if ename in grp:
                eds = grp[ename]
                if eds.shape != sig.shape:
                    raise DataError(f"{p}: {eds.name}: shape {eds.shape} differs from the "
                                    f"signal's {sig.shape}")
                sd = _read(eds, p, sel)
                meta["errors"] = eds.name
                break
        y_units = _text(sig.attrs.get("units", ""))
        if "long_name" in sig.attrs:
            meta["y_long_name"] = _text(sig.attrs["long_name"])
        if "title" in grp.parent:
            try:
                meta["title"] = _text(grp.parent["title"][()])
            except (OSError, TypeError):
                pass
        row = f"[{index}]" if sig.ndim == 2 else ""
        for name, arr in (("signal", y), ("axis", x), ("errors", sd)):
            if arr is None:
                continue
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                ds_name = {"signal": sig.name, "axis": xds.name if xds is not None else "",
                           "errors": meta.get("errors", "")}[name]
                raise DataError(f"{p}: {ds_name}{row if name != 'axis' else ''}: element "
                                f"{int(bad[0])} is {float(arr[bad[0]])!r} (NaN or inf); mask "
                                f"or remove it (crop with roi_min/roi_max if it is at an end)")
        if sd is not None and np.any(sd <= 0):
            k = int(np.flatnonzero(sd <= 0)[0])
            raise DataError(f"{p}: {meta['errors']}{row}: element {k}: sd must be > 0, got "
                            f"{float(sd[k])!r}")
        where = [f"{xds.name if xds is not None else 'axis'} element {i}" for i in range(n)]
        rev = check_axis(p, x, where)
    if rev:
        x, y = x[::-1], y[::-1]
        sd = sd[::-1] if sd is not None else None
    return Record(np.ascontiguousarray(x), np.ascontiguousarray(y),
                  None if sd is None else np.ascontiguousarray(sd), p, x_units=x_units,
                  y_units=y_units, metadata=meta, reversed=rev)
