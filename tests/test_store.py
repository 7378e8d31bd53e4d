"""Round-trip, ArviZ compatibility and atomicity of bayespec.io.store."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from bayespec.errors import DataError
from bayespec.inference.result import KFit, Ladder
from bayespec.io import store


def make_fit(K: int = 2, with_sd: bool = True, n_coef: int = 2, seed: int = 0) -> KFit:
    rng = np.random.default_rng(seed)
    C, D, L, n = 2, 50, 4, 30
    coef_names = [f"c{i}" for i in range(n_coef)]
    param_names = [f"{v}[{k}]" for k in range(K) for v in ("amplitude", "center", "width", "eta")]
    param_names += coef_names
    posterior = {v: rng.random((C, D, K)) for v in ("amplitude", "center", "width", "eta")}
    posterior["background"] = rng.normal(size=(C, D, n_coef))
    ladder = Ladder(
        beta=np.linspace(0.0, 10.0, L),
        mean_energy=rng.random(L),
        log_z=rng.normal(size=L),
        log_z_se=rng.random(L),
        free_energy=np.r_[np.nan, rng.normal(size=L - 1)],
        free_energy_se=np.r_[np.nan, rng.random(L - 1)],
        swap_acceptance=np.r_[rng.random(L - 1), np.nan],
    )
    x = np.linspace(0.0, 1.0, n)
    return KFit(
        K=K,
        shape="pseudo_voigt",
        background="poly" if n_coef else "none",
        coef_names=coef_names,
        x=x,
        y=rng.normal(size=n),
        sd=rng.random(n) + 0.1 if with_sd else None,
        posterior=posterior,
        sample_stats={
            "energy": rng.random((C, D)),
            "lp": rng.normal(size=(C, D)),
            "rung": np.full((C, D), L - 1, dtype=np.int64),
        },
        ladder=ladder,
        acceptance=rng.random((L, len(param_names))),
        param_names=param_names,
        free_energy=float(rng.normal()),
        free_energy_se=0.1,
        noise_sd=0.05,
        noise_estimated=not with_sd,
        target_rung=L - 1,
        seed=seed,
        config={"K": K, "nested": {"a": [1, 2]}, "np": np.float64(1.5)},
        versions={"numpy": np.__version__},
        timing={"sample": 1.25},
    )


@pytest.mark.parametrize(
    "K,with_sd,n_coef", [(2, True, 2), (2, False, 2), (0, True, 2), (0, False, 0)]
)
def test_round_trip(tmp_path: Path, K: int, with_sd: bool, n_coef: int) -> None:
    fit = make_fit(K, with_sd, n_coef)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no zarr "unstable dtype"/consolidated warnings
        out = store.write_fit(tmp_path / "fit.zarr", fit)
        tree = store.read_fit(out)
    assert out == tmp_path / "fit.zarr"

    post = tree["posterior"]
    for v in ("amplitude", "center", "width", "eta"):
        assert post[v].dims == ("chain", "draw", "peak")
        np.testing.assert_array_equal(post[v].values, fit.posterior[v])
    assert post["background"].dims == ("chain", "draw", "coef")
    np.testing.assert_array_equal(post["background"].values, fit.posterior["background"])
    assert list(post["coef"].values) == fit.coef_names
    assert list(post["peak"].values) == list(range(K))
    assert list(post["chain"].values) == [0, 1]
    assert post.sizes["draw"] == 50

    ss = tree["sample_stats"]
    for k, v in fit.sample_stats.items():
        assert ss[k].dims == ("chain", "draw")
        np.testing.assert_array_equal(ss[k].values, v)

    obs, const = tree["observed_data"], tree["constant_data"]
    assert obs["y"].dims == ("x",)
    np.testing.assert_array_equal(obs["x"].values, fit.x)
    np.testing.assert_array_equal(obs["y"].values, fit.y)
    np.testing.assert_array_equal(const["x"].values, fit.x)
    assert ("y_sd" in obs) == with_sd and ("sd" in const) == with_sd
    if with_sd:
        np.testing.assert_array_equal(obs["y_sd"].values, fit.sd)
        np.testing.assert_array_equal(const["sd"].values, fit.sd)
    assert float(const["noise_sd"]) == fit.noise_sd
    assert bool(const["noise_estimated"]) == fit.noise_estimated
    assert int(const["K"]) == K

    lad = tree["ladder"]
    for f in store._LADDER_FIELDS:
        assert lad[f].dims == ("rung",)
        np.testing.assert_array_equal(lad[f].values, getattr(fit.ladder, f))  # NaNs equal
    assert lad["acceptance"].dims == ("rung", "param")
    np.testing.assert_array_equal(lad["acceptance"].values, fit.acceptance)
    assert list(lad["param"].values) == fit.param_names
    assert list(lad["rung"].values) == [0, 1, 2, 3]

    a = tree.attrs
    assert a["complete"] is True
    assert a["K"] == K and a["shape"] == fit.shape and a["background"] == fit.background
    assert a["free_energy"] == fit.free_energy and a["free_energy_se"] == fit.free_energy_se
    assert a["noise_sd"] == fit.noise_sd and a["noise_estimated"] == fit.noise_estimated
    assert a["target_rung"] == fit.target_rung and a["seed"] == fit.seed
    assert json.loads(a["config"]) == {"K": K, "nested": {"a": [1, 2]}, "np": 1.5}
    assert json.loads(a["versions"]) == fit.versions
    assert json.loads(a["timing"]) == fit.timing
    assert a["created_by"].startswith("bayespec ")
    assert "created_at" in a
    # no stray temp directories left next to the store
    assert [p.name for p in tmp_path.iterdir()] == ["fit.zarr"]


@pytest.mark.parametrize("K", [2, 0])
def test_arviz(tmp_path: Path, K: int) -> None:
    import arviz_stats as azs
    import xarray as xr

    tree = store.read_fit(store.write_fit(tmp_path / "f.zarr", make_fit(K)))
    idata = store.to_inference_data(tree)  # ArviZ >= 1: the DataTree itself
    assert isinstance(idata, xr.DataTree)
    assert {"posterior", "sample_stats", "observed_data", "constant_data"} <= set(idata.children)
    assert idata.posterior["center"].dims == ("chain", "draw", "peak")
    var_names = ["center", "background"] if K else ["background"]
    summ = azs.summary(idata, var_names=var_names, kind="stats")
    assert len(summ) == K * 1 + 2
    diag = azs.summary(idata, var_names=var_names, kind="diagnostics")  # ess, r_hat, mcse
    assert len(diag) == K + 2 and (diag["ess_bulk"] > 0).all()
    # a store opened with plain xarray is what ArviZ reads (arviz.from_zarr in ArviZ 1.x is
    # xr.open_datatree(path, engine="zarr"))
    with xr.open_datatree(tmp_path / "f.zarr", engine="zarr") as raw:
        assert raw.posterior["center"].shape == (2, 50, K)
        assert len(azs.summary(raw, var_names=var_names, kind="stats")) == K + 2


def test_arviz_plots(tmp_path: Path) -> None:
    """ArviZ plots (arviz-plots, matplotlib backend) draw a store's posterior."""
    import matplotlib

    matplotlib.use("Agg")
    try:
        import arviz_plots as azp
    except (ImportError, AttributeError) as exc:  # 0.8 (Python 3.11) fails on matplotlib 3.11
        pytest.skip(f"arviz-plots not usable here: {exc!r}")
    import matplotlib.pyplot as plt

    tree = store.read_fit(store.write_fit(tmp_path / "f.zarr", make_fit(2)))
    try:
        for plot in (azp.plot_dist, azp.plot_trace):
            pc = plot(store.to_inference_data(tree), var_names=["center", "background"],
                      backend="matplotlib")
            pc.savefig(tmp_path / f"{plot.__name__}.png")
            assert (tmp_path / f"{plot.__name__}.png").stat().st_size > 0
    finally:
        plt.close("all")


def test_overwrite(tmp_path: Path) -> None:
    dest = tmp_path / "f.zarr"
    store.write_fit(dest, make_fit(2, seed=1))
    store.write_fit(dest, make_fit(0, seed=2))
    tree = store.read_fit(dest)
    assert tree.attrs["K"] == 0 and tree.attrs["seed"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["f.zarr"]


def _fail_on_tmp(real):
    def fake(src, dst):
        if ".tmp-" in Path(src).name:
            raise OSError("simulated crash during rename")
        return real(src, dst)

    return fake


def test_crash_without_existing_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "f.zarr"
    monkeypatch.setattr(store, "_rename", _fail_on_tmp(store._rename))
    with pytest.raises(OSError, match="simulated"):
        store.write_fit(dest, make_fit())
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []  # temp dir cleaned up


def test_crash_keeps_old_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "f.zarr"
    store.write_fit(dest, make_fit(2, seed=1))
    monkeypatch.setattr(store, "_rename", _fail_on_tmp(store._rename))
    with pytest.raises(OSError, match="simulated"):
        store.write_fit(dest, make_fit(0, seed=2))
    tree = store.read_fit(dest)  # still the old, complete store
    assert tree.attrs["seed"] == 1 and tree.attrs["complete"] is True
    assert [p.name for p in tmp_path.iterdir()] == ["f.zarr"]


def test_crash_while_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "f.zarr"

    def boom(tree, tmp, *a, **k):
        Path(tmp).mkdir()
        (Path(tmp) / "zarr.json").write_text("{")  # half-written store
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "write_tree", boom)
    with pytest.raises(RuntimeError):
        store.write_fit(dest, make_fit())
    assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_read_missing_or_incomplete(tmp_path: Path) -> None:
    import zarr

    with pytest.raises(DataError, match="no bayespec result store"):
        store.read_fit(tmp_path / "nope.zarr")
    junk = tmp_path / "junk.zarr"
    junk.mkdir()
    with pytest.raises(DataError, match="delete it and rerun"):
        store.read_fit(junk)
    dest = store.write_fit(tmp_path / "f.zarr", make_fit())
    del zarr.open_group(dest, mode="r+").attrs["complete"]
    with pytest.raises(DataError, match="incomplete"):
        store.read_fit(dest)


def test_write_table_atomic(tmp_path: Path) -> None:
    p = store.write_table_atomic(tmp_path / "sub" / "t.csv", "a,b\n1,2\n")
    assert p.read_text() == "a,b\n1,2\n"
    store.write_table_atomic(p, "a\n")
    assert p.read_text() == "a\n"
    assert [q.name for q in p.parent.iterdir()] == ["t.csv"]
