"""Write (and read back) a small xarray tree (a fit, an ingested spectrum) as Zarr v3, fast.

Why not ``DataTree.to_zarr``: zarr-python 3 spends several milliseconds of Python per array
(metadata objects, codec pipelines, a thread-pool hop per file) and a fit store has ~36 tiny
arrays, so ``to_zarr`` took ~0.2 s per store, and even zarr's own async API written in a single
coroutine took about as long (measured, bench notes in README). A campaign writes thousands of
stores; that was a large share of its run time. The Zarr v3 format itself is small and fully
specified, so this module writes it directly: one ``zarr.json`` per node, one chunk per array
(chunk = whole array, key ``0.0`` beside the array's ``zarr.json``), encoded by numcodecs with
the codecs zarr-python chooses by default (``bytes`` little-endian + ``zstd`` level 0;
``vlen-utf8`` + ``zstd`` for strings), and the metadata consolidated into the root
``zarr.json`` the way zarr-python does it.

tests/test_zarrio.py reads what this writes back with zarr-python and ``xr.open_datatree`` and
checks it is identical to the tree written and to what ``to_zarr`` writes. Only plain variables
are supported (bool, integer, float, string; no CF encodings such as datetimes): anything
else is refused with an error, never silently changed. :func:`read_tree` reads such stores
back (single-chunk arrays, plain attributes); :func:`readable` says whether a store is one, so
callers use xarray's general reader for anything else.
"""

from __future__ import annotations

import functools
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    # imported by the functions that take or build a tree: checkpoint files and the store
    # helpers below need only numpy and numcodecs, not xarray (~0.1 s)
    import xarray as xr

__all__ = ["write_tree", "readable", "read_tree", "load_tree", "root_attrs", "json_default",
           "fsync_path"]

_ZSTD = {"name": "zstd", "configuration": {"level": 0, "checksum": False}}
# chunk keys "0.0" in the array's own directory (the spec's "v2" encoding), not "c/0/0": the
# default nests one directory per dimension, and directory creation was half the write time of
# a fit store (~90 directories a store, on this machine's disk); both encodings are read
_CHUNK_KEYS = {"name": "v2", "configuration": {"separator": "."}}
_DEFAULT_KEYS = {"name": "default", "configuration": {"separator": "/"}}
_DATA_TYPES = {"bool", "string", "float16", "float32", "float64",
               *(f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64))}
_CF_KEYS = {"coordinates", "scale_factor", "add_offset", "calendar", "_Unsigned", "dtype"}


@functools.cache
def _codecs():
    """(Zstd level 0, VLenUTF8): stateless numcodecs codecs, made once per process."""
    from numcodecs import VLenUTF8, Zstd

    return Zstd(level=0), VLenUTF8()


def json_default(obj: Any) -> Any:
    """``json.dumps`` default: numpy scalars and arrays as Python values, paths as strings."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def _json_attrs(attrs: dict) -> dict[str, Any]:
    """Attributes as plain JSON values (numpy scalars and arrays become Python ones)."""
    return json.loads(json.dumps(dict(attrs), default=json_default, allow_nan=True))


def _data_type(data: np.ndarray, name: str) -> tuple[str, Any]:
    """The Zarr v3 data type name and fill value of ``data``."""
    kind = data.dtype.kind
    if isinstance(data.dtype, np.dtypes.StringDType) or kind in "UT":
        return "string", ""
    if kind == "b":
        return "bool", False
    if kind in "iu":
        return data.dtype.name, 0
    if kind == "f":
        return data.dtype.name, "NaN"  # xarray's choice for floats
    raise TypeError(f"variable {name!r} has dtype {data.dtype}, which zarrio does not encode; "
                    f"use DataTree.to_zarr for it")


def _chunk(data: np.ndarray, data_type: str) -> bytes:
    """The encoded single chunk of ``data`` (C order)."""
    zstd, vlen = _codecs()
    if data_type == "string":
        raw = vlen.encode(np.asarray(data, dtype=object).ravel())
    else:
        raw = np.ascontiguousarray(data, dtype=data.dtype.newbyteorder("<")).tobytes()
    return bytes(zstd.encode(raw))


def _array_meta(data: np.ndarray, dims: tuple[str, ...], attrs: dict, name: str) -> dict:
    data_type, fill = _data_type(data, name)
    if data_type == "string":
        codecs = [{"name": "vlen-utf8", "configuration": {}}, _ZSTD]
    elif data_type in ("bool", "int8", "uint8"):
        codecs = [{"name": "bytes"}, _ZSTD]  # one byte: no endianness
    else:
        codecs = [{"name": "bytes", "configuration": {"endian": "little"}}, _ZSTD]
    meta = {
        "shape": list(data.shape), "data_type": data_type,
        # a zero-length dimension still needs a chunk length of at least 1
        "chunk_grid": {"name": "regular",
                       "configuration": {"chunk_shape": [max(1, s) for s in data.shape]}},
        "chunk_key_encoding": _CHUNK_KEYS, "fill_value": fill, "codecs": codecs,
        "attributes": attrs,
    }
    if dims:
        meta["dimension_names"] = list(dims)
    meta.update({"zarr_format": 3, "node_type": "array", "storage_transformers": []})
    return meta


def _chunk_key(ndim: int, encoding: dict) -> str:
    """The key (relative path) of an array's only chunk, (0, ..., 0), under ``encoding``."""
    sep = encoding["configuration"]["separator"]
    if encoding["name"] == "v2":
        return sep.join(["0"] * ndim) or "0"
    return sep.join(["c", *["0"] * ndim])


def _group_meta(attrs: dict) -> dict:
    return {"attributes": attrs, "zarr_format": 3, "node_type": "group"}


def _write_bytes(path: str, payload: bytes, sync: bool) -> None:
    with open(path, "wb") as fh:
        fh.write(payload)
        if sync:
            fh.flush()
            os.fsync(fh.fileno())


def _dumps(meta: dict) -> bytes:
    # compact: the consolidated root metadata of a fit is ~40 kB, indenting costs 3x the time
    return json.dumps(meta, separators=(",", ":"), allow_nan=True).encode()


def write_tree(tree: xr.DataTree | xr.Dataset, path: str | os.PathLike,
               final_attrs: dict | None = None, fsync: bool = True) -> None:
    """Write ``tree`` (or a Dataset, as the root group) as a new Zarr v3 store at ``path``.

    ``final_attrs`` (e.g. ``{"complete": True}``) are added to the root attributes, and the
    root ``zarr.json`` (with the consolidated metadata) is written last, after every array.
    ``path`` must not exist: callers write to a temporary directory and rename it into place
    (the atomicity is theirs). With ``fsync`` every file is flushed to disk before returning.
    """
    import xarray as xr

    if isinstance(tree, xr.Dataset):
        tree = xr.DataTree(dataset=tree)
    root = os.fspath(path)
    if os.path.exists(root):
        raise FileExistsError(f"{root}: exists; write_tree only writes new stores")
    os.makedirs(root)
    consolidated: dict[str, dict] = {}
    dirs = [root]  # plain os calls, not pathlib: ~70 files and ~40 directories a store
    for node in tree.subtree:
        rel = node.path.strip("/")
        if rel:
            gdir = os.path.join(root, rel)
            os.mkdir(gdir)
            dirs.append(gdir)
            meta = _group_meta(_json_attrs(node.attrs))
            _write_bytes(os.path.join(gdir, "zarr.json"), _dumps(meta), fsync)
            consolidated[rel] = {**meta, "consolidated_metadata": {
                "kind": "inline", "must_understand": False, "metadata": {}}}
        ds = node.to_dataset(inherit=False)
        for name, var in ds.variables.items():
            key = f"{rel}/{name}" if rel else str(name)
            data = np.asarray(var.values)
            meta = _array_meta(data, tuple(str(d) for d in var.dims), _json_attrs(var.attrs), key)
            adir = os.path.join(root, key)
            os.mkdir(adir)
            dirs.append(adir)
            _write_bytes(os.path.join(adir, "zarr.json"), _dumps(meta), fsync)
            if data.size:
                _write_bytes(os.path.join(adir, _chunk_key(data.ndim, _CHUNK_KEYS)),
                             _chunk(data, meta["data_type"]), fsync)
            consolidated[key] = meta
    attrs = _json_attrs({**tree.attrs, **(final_attrs or {})})
    root_meta = {"attributes": attrs, "zarr_format": 3,
                 "consolidated_metadata": {"kind": "inline", "must_understand": False,
                                           "metadata": dict(sorted(consolidated.items()))},
                 "node_type": "group"}
    _write_bytes(os.path.join(root, "zarr.json"), _dumps(root_meta), fsync)
    if fsync:
        for d in reversed(dirs):
            fsync_path(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))


def fsync_path(path: str | os.PathLike, flags: int) -> None:
    """Best-effort fsync of ``path`` opened with ``flags`` (e.g. a directory after a rename)."""
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _decode(chunk: bytes, meta: dict) -> np.ndarray:
    zstd, vlen = _codecs()
    shape = tuple(meta["shape"])
    for codec in reversed(meta["codecs"]):
        name = codec["name"]
        if name == "zstd":
            chunk = zstd.decode(chunk)
        elif name == "vlen-utf8":
            strings = vlen.decode(chunk, out=np.empty(int(np.prod(shape)), dtype=object))
            return np.asarray(strings, dtype=np.dtypes.StringDType()).reshape(shape)
        elif name == "bytes":
            big = codec.get("configuration", {}).get("endian", "little") == "big"
            dtype = np.dtype(meta["data_type"]).newbyteorder(">" if big else "<")
            data = np.frombuffer(chunk, dtype=dtype)
            return data.astype(dtype.newbyteorder("=")).reshape(shape)
    raise ValueError(f"no bytes codec in {meta['codecs']}")


def _root_meta(path: str | os.PathLike) -> dict:
    """The root ``zarr.json`` of a store, parsed (OSError / ValueError when absent or bad)."""
    return json.loads((Path(path) / "zarr.json").read_text(encoding="utf-8"))


def root_attrs(path: str | os.PathLike) -> dict:
    """Root attributes of a Zarr v3 store, from its ``zarr.json``: what ``zarr.open_group``
    returns, ~50x quicker (a campaign reads them thousands of times)."""
    meta = _root_meta(path)
    if meta.get("node_type") != "group":
        raise ValueError(f"{path}: not a Zarr v3 group (no group zarr.json)")
    return dict(meta.get("attributes", {}))


def readable(path: str | os.PathLike) -> dict | None:
    """The consolidated metadata of ``path`` if :func:`read_tree` can read it (every array one
    chunk, codecs bytes / zstd / vlen-utf8, "v2" "." or default "/" chunk keys), else None."""
    try:
        root = _root_meta(path)
        nodes = root["consolidated_metadata"]["metadata"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for meta in nodes.values():
        if meta.get("node_type") != "array":
            continue
        chunks = meta["chunk_grid"]["configuration"]["chunk_shape"]
        if (any(c < s for c, s in zip(chunks, meta["shape"]))
                or meta["chunk_key_encoding"] not in (_CHUNK_KEYS, _DEFAULT_KEYS)
                or meta.get("storage_transformers")
                or {c["name"] for c in meta["codecs"]} - {"bytes", "zstd", "vlen-utf8"}
                or str(meta["data_type"]) not in _DATA_TYPES or _cf_encoded(meta)):
            return None
    return root


def _cf_encoded(meta: dict) -> bool:
    """Whether xarray would decode this array's attributes into something else (masking,
    scaling, times, non-index coordinates): read_tree does none of that."""
    attrs = meta.get("attributes", {})
    if _CF_KEYS & set(attrs) or " since " in str(attrs.get("units", "")):
        return True
    return "_FillValue" in attrs and not meta["data_type"].startswith("float")


def read_tree(path: str | os.PathLike, root: dict | None = None,
              groups: Sequence[str] | None = None) -> xr.DataTree:
    """Read a store that :func:`readable` accepts (what :func:`write_tree` writes, and what
    ``to_zarr`` writes for small variables) into memory as a DataTree. Decoding as xarray does
    for such stores: dims from ``dimension_names``, attrs as stored, floats' NaN fill kept.
    ``groups`` (paths such as ``"posterior"``): read only these groups (and the root's attrs)."""
    import xarray as xr

    root = root if root is not None else readable(path)
    if root is None:
        raise ValueError(f"{path}: not a single-chunk consolidated Zarr v3 store")
    base = Path(path)
    wanted = None if groups is None else {g.strip("/") for g in groups}
    nodes = root["consolidated_metadata"]["metadata"]
    if wanted is not None:
        nodes = {k: m for k, m in nodes.items() if k.rpartition("/")[0] in wanted
                 or (m.get("node_type") == "group" and k in wanted)}
    out: dict[str, dict] = {"": {"attrs": root.get("attributes", {}), "vars": {}}}
    for key, meta in nodes.items():
        if meta.get("node_type") == "group":
            out.setdefault(key, {"vars": {}})["attrs"] = meta.get("attributes", {})
    for key, meta in nodes.items():
        if meta.get("node_type") != "array":
            continue
        parent, _, name = key.rpartition("/")
        shape = tuple(meta["shape"])
        chunk = base / key / _chunk_key(len(shape), meta["chunk_key_encoding"])
        attrs = {k: v for k, v in meta.get("attributes", {}).items() if k != "_FillValue"}
        if chunk.exists():
            data = _decode(chunk.read_bytes(), meta)
        elif meta["data_type"] == "string":
            data = np.full(shape, meta["fill_value"], dtype=np.dtypes.StringDType())
        else:
            fill = meta["fill_value"]
            data = np.full(shape, float("nan") if fill == "NaN" else fill,
                           dtype=np.dtype(meta["data_type"]))
        dims = tuple(meta.get("dimension_names") or ())
        out.setdefault(parent, {"attrs": {}, "vars": {}})["vars"][name] = \
            xr.Variable(dims, data, attrs)
    tree = {}
    for key, g in out.items():
        variables = g["vars"]
        coords = {k: v for k, v in variables.items() if v.dims == (k,)}
        data_vars = {k: v for k, v in variables.items() if k not in coords}
        tree["/" + key] = xr.Dataset(data_vars, coords=coords, attrs=g.get("attrs", {}))
    return xr.DataTree.from_dict(tree)


def load_tree(path: str | os.PathLike, groups: Sequence[str] | None = None) -> xr.DataTree:
    """The store at ``path`` in memory (only ``groups``, when given, with the root's attrs):
    read directly when :func:`readable`, else with xarray's general reader (files closed after
    loading). xarray's errors pass through."""
    import xarray as xr

    root = readable(path)
    if root is not None:
        return read_tree(path, root, groups)
    with warnings.catch_warnings():
        # "Consolidated metadata is currently not part in the Zarr format 3 specification"
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        tree = xr.open_datatree(path, engine="zarr", zarr_format=3)
    try:
        if groups is not None:
            keep = {"/" + g.strip("/") for g in groups}
            return xr.DataTree.from_dict(
                {"/": tree.to_dataset(inherit=False).load(),
                 **{n.path: n.to_dataset(inherit=False).load() for n in tree.subtree
                    if n.path in keep}})
        return tree.load()
    finally:
        tree.close()
