"""Persist a :class:`~bayespec.inference.result.KFit` as an ArviZ-style Zarr v3 store, atomically.

Layout (one ``xr.DataTree``):

* ``posterior``: peak variables (``amplitude``, ``center``, ``width``, extras such as ``eta``)
  dims (chain, draw, peak); ``background`` dims (chain, draw, coef), coord coef = coef names.
* ``sample_stats``: every ``KFit.sample_stats`` entry, dims (chain, draw).
* ``observed_data``: ``y`` (x) and ``y_sd`` (x) when the data has standard deviations.
* ``constant_data``: coord ``x`` (x), ``sd`` (x) if present, scalars ``noise_sd``,
  ``noise_estimated``, ``K``.
* ``ladder`` (not an ArviZ group): per-rung arrays dims (rung,), ``acceptance`` (rung, param),
  and with block moves ``block_acceptance`` (rung, block).
* ``diagnostics`` (not an ArviZ group; fits with ``KFit.diagnostics``): ``rhat``, ``ess_bulk``
  dims (param,) over the posterior's scalar parameters (``center[0]``, ``background[c0]``;
  NaN if not sampled), ``free_energy_chain``, ``free_energy_chain_se`` dims (chain,) (nats).
* root attrs: fit metadata (JSON strings for ``config``, ``versions``, ``timing``,
  ``diagnostics``: every scalar of ``KFit.diagnostics`` with the reasons and warnings; booleans
  ``converged`` and ``adequate`` beside it), ``created_by``, ``created_at`` and, written last,
  ``complete = True``.

Strings (coords ``coef`` and ``param``) are stored as numpy ``StringDType`` (Zarr v3 ``string``),
so they read back as ``StringDType`` arrays. Metadata is consolidated (zarr-python's v3 extension)
so a plain ``xr.open_datatree(path, engine="zarr")`` opens the store without xarray's "failed to
open with consolidated metadata" RuntimeWarning. The bytes are written by bayespec.io.zarrio (the
same format ``to_zarr`` writes, several times faster for these small stores).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bayespec import __version__
from bayespec.errors import DataError
from bayespec.io.zarrio import fsync_path as _fsync_path
from bayespec.io.zarrio import json_default as _json_default
from bayespec.io.zarrio import load_tree, write_tree

if TYPE_CHECKING:  # annotations only: io/ sits below inference/ (see tests/test_layout.py)
    # xarray (~0.1 s) is imported by the functions that build a tree, so that a fit writing no
    # store, and the sampler (sampling/checkpoint.py imports this module), never load it
    import xarray as xr

    from bayespec.inference.result import KFit

__all__ = ["to_datatree", "write_fit", "read_fit", "to_inference_data", "write_table_atomic"]

_LADDER_FIELDS = (
    "beta",
    "mean_energy",
    "log_z",
    "log_z_se",
    "free_energy",
    "free_energy_se",
    "swap_acceptance",
)

# Indirection so tests can simulate a crash at the rename step.
_rename = os.rename


def _dumps(obj: Any) -> str:
    return json.dumps(obj, default=_json_default, sort_keys=True)


def _strings(names: list[str]) -> np.ndarray:
    # StringDType round-trips through Zarr v3 (even when empty); '<U' warns as unstable and an
    # empty object array reads back as float64.
    return np.asarray([str(n) for n in names], dtype=np.dtypes.StringDType())


def to_datatree(fit: KFit) -> xr.DataTree:
    """Convert a fit to a DataTree (groups and dims as described in the module docstring)."""
    import xarray as xr

    bg = np.asarray(fit.posterior["background"], dtype=float)
    n_chain, n_draw = bg.shape[:2]
    peak_vars = {k: np.asarray(v) for k, v in fit.posterior.items() if k != "background"}
    coords: dict[str, Any] = {"chain": np.arange(n_chain), "draw": np.arange(n_draw)}
    if fit.components:  # composite: <component>_<kind> on dim <component>_peak
        owner = {k: max((c for c in fit.components if k.startswith(c + "_")), key=len)
                 for k in peak_vars}
        post_vars: dict[str, Any] = {k: (("chain", "draw", f"{owner[k]}_peak"), v)
                                     for k, v in peak_vars.items()}
        for name, c in fit.components.items():
            coords[f"{name}_peak"] = np.arange(int(c["K"]))
    else:
        post_vars = {k: (("chain", "draw", "peak"), v) for k, v in peak_vars.items()}
        coords["peak"] = np.arange(int(fit.K))
    post_vars["background"] = (("chain", "draw", "coef"), bg)
    coords["coef"] = _strings(fit.coef_names)
    posterior = xr.Dataset(post_vars, coords=coords)

    chain_draw = {"chain": np.arange(n_chain), "draw": np.arange(n_draw)}
    sample_stats = xr.Dataset(
        {k: (("chain", "draw"), np.asarray(v)) for k, v in fit.sample_stats.items()},
        coords=chain_draw,
    )

    x = np.asarray(fit.x, dtype=float)
    obs: dict[str, Any] = {"y": ("x", np.asarray(fit.y, dtype=float))}
    const: dict[str, Any] = {
        "noise_sd": ((), float(fit.noise_sd)),
        "noise_estimated": ((), bool(fit.noise_estimated)),
        "K": ((), int(fit.K)),
    }
    if fit.sd is not None:
        sd = np.asarray(fit.sd, dtype=float)
        obs["y_sd"] = ("x", sd)
        const["sd"] = ("x", sd)
    observed_data = xr.Dataset(obs, coords={"x": x})
    constant_data = xr.Dataset(const, coords={"x": x})

    lad = fit.ladder
    n_rung = len(np.asarray(lad.beta))
    lad_vars: dict[str, Any] = {
        f: ("rung", np.asarray(getattr(lad, f), dtype=float)) for f in _LADDER_FIELDS
    }
    lad_vars["acceptance"] = (("rung", "param"), np.asarray(fit.acceptance, dtype=float))
    coords = {"rung": np.arange(n_rung), "param": _strings(fit.param_names)}
    if getattr(fit, "block_acceptance", None) is not None:  # sampler.moves: block
        lad_vars["block_acceptance"] = (("rung", "block"),
                                        np.asarray(fit.block_acceptance, dtype=float))
        coords["block"] = _strings(fit.block_names)
    ladder = xr.Dataset(lad_vars, coords=coords)

    created_at = _dt.datetime.now(_dt.timezone.utc).isoformat()
    group_attrs = {
        "created_at": created_at,
        "inference_library": "bayespec",
        "inference_library_version": __version__,
    }
    for ds in (posterior, sample_stats, observed_data, constant_data):
        ds.attrs.update(group_attrs)

    root = xr.Dataset(
        attrs={
            "K": int(fit.K),
            "shape": str(fit.shape),
            # model order matters (K_<name> columns): a list, not a sorted mapping
            **({"components": _dumps([{"name": n, **c} for n, c in fit.components.items()])}
               if fit.components else {}),
            "background": str(fit.background),
            "free_energy": float(fit.free_energy),
            "free_energy_se": float(fit.free_energy_se),
            "wbic": float(getattr(fit, "wbic", float("nan"))),
            "wbic_se": float(getattr(fit, "wbic_se", float("nan"))),
            **({"warm_start": str(fit.warm_start)} if getattr(fit, "warm_start", "") else {}),
            "noise_sd": float(fit.noise_sd),
            "noise_estimated": bool(fit.noise_estimated),
            "likelihood": str(fit.likelihood),
            "target_rung": int(fit.target_rung),
            "seed": int(fit.seed),
            "config": _dumps(fit.config),
            "versions": _dumps(fit.versions),
            "timing": _dumps(fit.timing),
            "warnings": _dumps(fit.warnings),
            **_diagnostic_attrs(fit.diagnostics),
            "replicas": int(n_rung),
            "created_by": f"bayespec {__version__}",
            "created_at": created_at,
        }
    )
    groups = {
            "/": root,
            "posterior": posterior,
            "sample_stats": sample_stats,
            "observed_data": observed_data,
            "constant_data": constant_data,
            "ladder": ladder,
    }
    if fit.diagnostics.get("per_param") is not None:
        groups["diagnostics"] = _diagnostics_group(fit.diagnostics)
    if fit.predictive:
        # fitted-curve band and per-peak components at the posterior rung, dims (x,) / (component, x)
        groups["predictive"] = xr.Dataset(
            {k: (("component", "x") if np.ndim(v) == 2 else ("x",), np.asarray(v, dtype=float))
             for k, v in fit.predictive.items()}, coords={"x": x})
    return xr.DataTree.from_dict(groups)


def _diagnostic_attrs(diag: dict[str, Any]) -> dict[str, Any]:
    """Root attrs of a fit's diagnostics: ``converged``, ``adequate`` (bool; not for a joint
    fit, which has no goodness-of-fit check) and ``diagnostics`` (JSON of every entry but the
    per-parameter and per-chain arrays)."""
    if not diag:
        return {}
    scalars = {k: v for k, v in diag.items() if k not in ("per_param", "per_chain")}
    flags = {k: bool(diag[k]) for k in ("converged", "adequate") if k in diag}
    return {**flags, "diagnostics": _dumps(scalars)}


def _diagnostics_group(diag: dict[str, Any]) -> xr.Dataset:
    """The ``diagnostics`` group: R-hat and bulk ESS per parameter, F and SE per chain."""
    import xarray as xr

    pp, pc = diag["per_param"], diag["per_chain"]
    f = np.asarray(pc["free_energy"], dtype=float)
    return xr.Dataset(
        {"rhat": ("param", np.asarray(pp["rhat"], dtype=float)),
         "ess_bulk": ("param", np.asarray(pp["ess_bulk"], dtype=float)),
         "free_energy_chain": ("chain", f),
         "free_energy_chain_se": ("chain", np.asarray(pc["free_energy_se"], dtype=float))},
        coords={"param": _strings(list(pp["param"])), "chain": np.arange(f.size)})


def _sibling(dest: Path, tag: str) -> Path:
    return dest.parent / f".{dest.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}"


def write_fit(path: str | os.PathLike[str], fit: KFit) -> Path:
    """Write ``fit`` as a Zarr v3 store at ``path`` atomically (:func:`write_datatree`)."""
    return write_datatree(path, to_datatree(fit))


def read_fit(path: str | os.PathLike[str], groups: Sequence[str] | None = None) -> xr.DataTree:
    """Open a store written by :func:`write_fit`, load it (or only ``groups``, e.g.
    ``["posterior"]``, with the root's attrs) into memory and close the files.

    Raises DataError if ``path`` is missing, not a Zarr store, or lacks the ``complete`` marker.
    """
    p = Path(path)
    hint = "delete it and rerun the fit"
    if not p.exists():
        raise DataError(f"{p}: no bayespec result store here; rerun the fit to create it")
    try:
        tree = load_tree(p, groups)
    except Exception as exc:  # zarr/xarray raise a variety of types for bad stores
        raise DataError(f"{p}: not a bayespec store or incomplete ({exc}); {hint}") from exc
    if tree.attrs.get("complete") is not True:
        raise DataError(f"{p}: not a bayespec store or incomplete (no 'complete' marker); {hint}")
    return tree


def to_inference_data(tree: xr.DataTree) -> xr.DataTree:
    """Return the bayespec tree as the object ArviZ works with.

    ArviZ >= 1 (arviz-base, arviz-stats, arviz-plots; on Python 3.11 their 0.8 releases) has
    no ``InferenceData``: its functions take an ``xarray.DataTree`` with the ArviZ groups
    (``posterior``, ``sample_stats``, ...), which a bayespec tree already is, so this returns
    ``tree`` itself (through ``arviz_base.convert_to_datatree``, which leaves a DataTree
    unchanged; non-ArviZ groups such as ``ladder`` and ``predictive`` are kept). E.g.
    ``arviz_stats.summary(to_inference_data(tree), var_names=["center"])``.
    """
    from arviz_base import convert_to_datatree

    return convert_to_datatree(tree)


def write_table_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write a small text file atomically (temp sibling + fsync + os.replace); return its path."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(dest, "tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            try:
                os.fsync(fh.fileno())
            except OSError:
                pass
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def write_datatree(path: str | os.PathLike[str], tree: xr.DataTree) -> Path:
    """Write a DataTree (a fit, a joint integration fit) as a Zarr v3 store at ``path``
    atomically; return the final path.

    The store is written (bayespec.io.zarrio) to a hidden sibling temp directory, its root
    metadata with ``complete = True`` last, then renamed into place (an existing store is
    moved aside first and deleted after). A crash leaves either the old store or nothing at
    ``path``, never a partial store.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(dest, "tmp")
    old: Path | None = None
    try:
        # no per-file fsync: a killed job cannot leave a partial store (the rename is the
        # commit) and fsyncing ~80 small files cost five times the write itself
        write_tree(tree, tmp, final_attrs={"complete": True}, fsync=False)
        if dest.exists() or dest.is_symlink():
            old = _sibling(dest, "old")
            _rename(dest, old)
        try:
            _rename(tmp, dest)
        except BaseException:
            if old is not None:  # put the previous store back
                _rename(old, dest)
                old = None
            raise
        _fsync_path(dest.parent, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)
    return dest
