"""bayespec.io.zarrio writes the Zarr v3 that zarr-python and xarray read back identically."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import xarray as xr
import zarr

from bayespec.io.zarrio import load_tree, read_tree, readable, write_tree


def _tree() -> xr.DataTree:
    rng = np.random.default_rng(0)
    post = xr.Dataset(
        {"amplitude": (("chain", "draw", "peak"), rng.normal(size=(2, 5, 3))),
         "background": (("chain", "draw", "coef"), rng.normal(size=(2, 5, 2)))},
        coords={"chain": np.arange(2), "draw": np.arange(5), "peak": np.arange(3),
                "coef": np.array(["c0", "c1"], dtype=np.dtypes.StringDType())},
        attrs={"inference_library": "bayespec", "n": np.int64(3)})
    const = xr.Dataset({"K": ((), np.int64(3)), "noise_estimated": ((), True),
                        "noise_sd": ((), 0.25), "x": (("x",), np.linspace(0, 1, 7)),
                        "flag": (("x",), np.arange(7) % 2 == 0),
                        "counts": (("x",), np.arange(7, dtype=np.int32)),
                        "f32": (("x",), np.linspace(0, 1, 7, dtype=np.float32))})
    empty = xr.Dataset({"amplitude": (("chain", "peak"), np.zeros((2, 0)))})
    ladder = xr.Dataset({"beta": (("rung",), np.array([0.0, 0.5, np.nan]))},
                        coords={"param": ("param", np.array(["a[0]", "wµ"]))},
                        attrs={"note": "ä", "nan": float("nan"), "list": [1, 2]})
    return xr.DataTree.from_dict({"/": xr.Dataset(attrs={"K": 3, "config": "{}"}),
                                  "posterior": post, "constant_data": const,
                                  "empty": empty, "ladder": ladder})


def test_round_trip_identical_to_the_tree_and_to_xarrays_writer(tmp_path):
    tree = _tree()
    write_tree(tree, tmp_path / "fast.zarr", final_attrs={"complete": True})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zarr: consolidated metadata / fixed-length strings
        tree.to_zarr(tmp_path / "xr.zarr", zarr_format=3, consolidated=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "failed to open with consolidated metadata"
        fast = xr.open_datatree(tmp_path / "fast.zarr", engine="zarr", zarr_format=3).load()
    ref = xr.open_datatree(tmp_path / "xr.zarr", engine="zarr", zarr_format=3).load()
    assert fast.attrs.pop("complete") is True
    xr.testing.assert_identical(fast, ref)
    # fixed-width unicode is stored as variable-length strings (xarray's writer uses zarr's
    # unstable fixed-length type); both read back as the same strings
    assert fast["ladder"]["param"].values.tolist() == ["a[0]", "wµ"]
    assert np.isnan(fast["ladder"].attrs["nan"])
    assert fast["constant_data"]["counts"].dtype == np.int32
    assert fast["constant_data"]["f32"].dtype == np.float32


def test_zarr_python_reads_every_array_and_the_consolidated_metadata(tmp_path):
    tree = _tree()
    write_tree(tree, tmp_path / "s.zarr")
    g = zarr.open_group(tmp_path / "s.zarr", mode="r", zarr_format=3, use_consolidated=True)
    np.testing.assert_array_equal(g["posterior/amplitude"][:], tree["posterior"]["amplitude"])
    assert g["constant_data/K"][()] == 3
    assert g["empty/amplitude"].shape == (2, 0)
    meta = json.loads((tmp_path / "s.zarr" / "zarr.json").read_text())
    listed = set(meta["consolidated_metadata"]["metadata"])
    on_disk = {p.parent.relative_to(tmp_path / "s.zarr").as_posix()
               for p in (tmp_path / "s.zarr").rglob("zarr.json")} - {"."}
    assert listed == on_disk


def test_a_plain_dataset_is_the_root_group(tmp_path):
    ds = xr.Dataset({"y": (("x",), [1.0, 2.0])}, coords={"x": [0.0, 1.0]}, attrs={"id": "s1"})
    write_tree(ds, tmp_path / "d.zarr")
    xr.testing.assert_identical(xr.open_zarr(tmp_path / "d.zarr", zarr_format=3).load(), ds)


def test_refuses_what_it_cannot_encode_and_existing_paths(tmp_path):
    ds = xr.Dataset({"t": (("x",), np.array(["2020-01-01"], dtype="datetime64[ns]"))})
    with pytest.raises(TypeError, match="'t' has dtype datetime64"):
        write_tree(ds, tmp_path / "t.zarr")
    (tmp_path / "e.zarr").mkdir()
    with pytest.raises(FileExistsError):
        write_tree(xr.Dataset(), tmp_path / "e.zarr")


def _to_zarr(tree: xr.DataTree, path) -> None:
    """xarray's own writer (its warnings on consolidated metadata and fixed-length strings
    silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tree.to_zarr(path, zarr_format=3, consolidated=True)


def test_read_tree_reads_both_writers_as_xarray_does(tmp_path):
    tree = _tree()
    write_tree(tree, tmp_path / "fast.zarr")
    _to_zarr(tree, tmp_path / "xr.zarr")
    # xarray stores fixed-width unicode with zarr's unstable fixed-length type: not ours
    assert readable(tmp_path / "xr.zarr") is None
    del tree["ladder"]["param"]
    _to_zarr(tree, tmp_path / "xr2.zarr")
    for name in ("fast.zarr", "xr2.zarr"):
        assert readable(tmp_path / name) is not None
        ref = xr.open_datatree(tmp_path / name, engine="zarr", zarr_format=3).load()
        got = read_tree(tmp_path / name)
        xr.testing.assert_identical(got, ref)
        for node in ref.subtree:  # same dtypes too (assert_identical compares values)
            for k, v in node.to_dataset(inherit=False).variables.items():
                assert got[node.path][k].dtype == v.dtype or v.dtype.kind == "U", (node.path, k)


def test_readable_refuses_what_xarray_would_decode(tmp_path):
    ds = xr.Dataset({"y": (("x",), np.arange(3.0))}, coords={"t": ("x", [1, 2, 3])})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(tmp_path / "c.zarr", zarr_format=3, consolidated=True)  # "coordinates"
        ds.to_zarr(tmp_path / "u.zarr", zarr_format=3, consolidated=False)
    assert readable(tmp_path / "c.zarr") is None
    assert readable(tmp_path / "u.zarr") is None  # no consolidated metadata
    assert readable(tmp_path / "missing.zarr") is None


def test_reading_some_groups_gives_those_groups_of_the_whole_tree(tmp_path):
    tree = _tree()
    write_tree(tree, tmp_path / "fast.zarr")
    _to_zarr(tree, tmp_path / "xr.zarr")
    assert readable(tmp_path / "xr.zarr") is None  # load_tree falls back to xarray's reader
    whole = read_tree(tmp_path / "fast.zarr")
    for name in ("fast.zarr", "xr.zarr"):
        part = load_tree(tmp_path / name, groups=["posterior", "/ladder"])
        assert sorted(part.children) == ["ladder", "posterior"], name
        assert part.attrs == whole.attrs, name
        for g in ("posterior", "ladder"):
            xr.testing.assert_identical(part[g].to_dataset(), whole[g].to_dataset())


def test_chunks_sit_beside_the_array_metadata(tmp_path):
    """One directory per node: the chunk key is "0.0.0" (Zarr v3 "v2" encoding), not c/0/0/0."""
    write_tree(_tree(), tmp_path / "s.zarr")
    amp = tmp_path / "s.zarr" / "posterior" / "amplitude"
    assert sorted(p.name for p in amp.iterdir()) == ["0.0.0", "zarr.json"]
    assert sorted(p.name for p in (tmp_path / "s.zarr" / "constant_data" / "K").iterdir()) == \
        ["0", "zarr.json"]
    meta = json.loads((amp / "zarr.json").read_text())
    assert meta["chunk_key_encoding"] == {"name": "v2", "configuration": {"separator": "."}}
