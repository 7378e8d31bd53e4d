"""Integration groups in a campaign: manifest rows with the same ``group`` value are fitted
jointly (bayespec.inference.integrate) into ``<results>/integrate/<group>/``.

Config block (schema: workflow/schemas/config.schema.yaml)::

    integration:
      groups:
        pair:                                   # a group value of the manifest
          ties: ["pair_b.center[0] = pair.center[0]", ...]
          offsets: {shift: {dist: normal, mean: 0, sd: 0.1}}
          K: [2, 3]                             # optional: K of every member (default: its own)

Each member's model, priors and noise are its campaign fit config (the fit block with the
row's overrides); its data is its preprocessed store. A failing group (a member that failed
upstream, a bad tie) writes an integration.csv whose ``status`` says why and a placeholder
figure; the other groups and spectra are unaffected.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ..errors import BayespecError, ConfigError
from . import paths
from .figures import _placeholder, _save_atomic
from .markers import (STATUS_OK, _error_status, _marker_info, _open_dataset, _write_text, is_ok,
                      read_status)

log = logging.getLogger("bayespec.campaign")
TABLE_COLUMNS = ["model", "free_energy", "free_energy_se", "K", "noise_sd", "delta", "delta_se",
                 "verdict", "status"]


def groups(campaign, config: Mapping) -> tuple[dict[str, list[str]], list[str]]:
    """Group name -> member ids (manifest order) of every group with two or more members and an
    entry under ``integration.groups``; plus warnings for what is skipped (a group with one
    member, e.g. in a subset of the manifest, or a declared group no row uses). A group with
    members but no config entry is an error (its ties would be unknown)."""
    found: dict[str, list[str]] = {}
    for sid, row in campaign.rows.items():
        g = row.get("group")
        if g:
            found.setdefault(str(g), []).append(sid)
    declared = ((config.get("integration") or {}).get("groups") or {})
    out, warnings = {}, []
    for g, ids in found.items():
        if g not in declared:
            raise ConfigError(f"{campaign.manifest_path}: group {g!r} has no entry under "
                              f"integration.groups in the config; add "
                              f"integration: {{groups: {{{g}: {{ties: [...]}}}}}}")
        if len(ids) < 2:
            warnings.append(f"integration group {g!r} has one spectrum ({ids[0]}) in "
                            f"{campaign.manifest_path}; not integrated")
            continue
        group_mapping(campaign, config, g)  # errors (ties, priors) at workflow start
        out[g] = ids
    for g in declared:
        if g not in found:
            warnings.append(f"config integration.groups.{g}: no manifest row has group {g!r}; "
                            f"not integrated")
    return out, warnings


def outputs(results: str, groups: Mapping[str, Sequence[str]]) -> list[str]:
    """The files `rule all` asks for from the integrate stage (none without groups)."""
    if not groups:
        return []
    return [paths.path(results, paths.INTEGRATION_TSV)] + [
        paths.path(results, paths.INTEGRATION, group=g, ext=e)
        for g in groups for e in ("csv", "png")]


def group_mapping(campaign, config: Mapping, group: str) -> dict:
    """The GROUP.yaml mapping of ``group`` (without data paths; data come from the stores).
    Validated here, so a bad tie fails at workflow start naming the config key."""
    from ..inference.integrate import parse_group_config
    from ..io.spectrum import Spectrum

    spec = ((config.get("integration") or {}).get("groups") or {})[group] or {}
    ids = [s for s, r in campaign.rows.items() if r.get("group") == group]
    datasets = {}
    sampler = None
    for sid in ids:
        raw = json.loads(json.dumps(campaign.fit_config(sid).raw))
        if spec.get("K") is not None:
            raw["model"]["K"] = list(spec["K"])
        sampler = sampler or raw["sampler"]
        datasets[sid] = {k: raw[k] for k in ("model", "priors", "noise")}
    sampler = dict(sampler or {})
    sampler["threads"] = None
    d = {"datasets": datasets, "ties": list(spec.get("ties") or []),
         "offsets": dict(spec.get("offsets") or {}), "sampler": sampler}
    dummy = Spectrum(np.linspace(0, 1, 5), np.zeros(5), None, "<check>")
    parse_group_config(d, f"config integration.groups.{group}",
                       spectra={s: dummy for s in ids})
    return d


def _failed_table(status: str) -> str:
    import pandas as pd

    df = pd.DataFrame([{c: math.nan for c in TABLE_COLUMNS} | {"model": m, "status": status}
                       for m in ("joint", "separate")])
    return df[TABLE_COLUMNS].to_csv(index=False)


def integrate_group(stores: Mapping[str, str | os.PathLike], out_csv: str | os.PathLike,
                    group_raw: Mapping, group: str, threads: int | None = None) -> str:
    """Run the integration of one group from its members' preprocessed stores; write
    everything next to ``out_csv`` (= <dir>/integration.csv, written last). Returns the status."""
    import dataclasses

    from ..inference.integrate import integrate, parse_group_config
    from ..inference.integrate_output import write_integration
    from ..io.spectrum import Spectrum

    out_dir = Path(out_csv).parent
    try:
        spectra = {}
        for sid, src in stores.items():
            if not is_ok(read_status(src)):
                info = _marker_info(src)
                raise BayespecError(f"member {sid} failed upstream ({info['stage'] or 'stage'}): "
                                    f"{read_status(src)}")
            ds = _open_dataset(src)
            sd = np.asarray(ds["sd"], dtype=float) if "sd" in ds else None
            spectra[sid] = Spectrum(np.asarray(ds["x"], dtype=float),
                                    np.asarray(ds["y"], dtype=float), sd,
                                    str(ds.attrs.get("source", src)))
        cfg = parse_group_config(dict(group_raw), f"integration group {group}", spectra=spectra)
        cfg = dataclasses.replace(cfg, sampler=dataclasses.replace(cfg.sampler, threads=threads))
        res = integrate(cfg)
        res.table["status"] = STATUS_OK
        write_integration(res, out_dir)
    except BayespecError as e:
        status = _error_status(e)
        log.error("integration group %s failed: %s", group, status)
        _save_atomic(_placeholder(f"integration group {group}: failed", status),
                     out_dir / "integration")
        _write_text(out_csv, _failed_table(status))
        return status
    t = res.table.set_index("model")
    log.info("integration group %s: F_joint = %.3f +- %.3f, F_separate = %.3f +- %.3f: %s",
             group, t.loc["joint", "free_energy"], t.loc["joint", "free_energy_se"],
             t.loc["separate", "free_energy"], t.loc["separate", "free_energy_se"],
             t.loc["joint", "verdict"])
    return STATUS_OK


def integration_summary(csvs: Sequence[str | os.PathLike], names: Sequence[str],
                        members: Mapping[str, Sequence[str]], out_tsv: str | os.PathLike):
    """One row per group: members, F_joint and F_separate with SEs, their difference, the
    verdict, the K used and the status; written as TSV (atomically)."""
    import pandas as pd

    rows = []
    for name, p in zip(names, csvs):
        t = pd.read_csv(p).set_index("model")
        j, s = t.loc["joint"], t.loc["separate"]
        rows.append({"group": name, "members": ",".join(members[name]),
                     "free_energy_joint": j["free_energy"], "free_energy_joint_se":
                     j["free_energy_se"], "free_energy_separate": s["free_energy"],
                     "free_energy_separate_se": s["free_energy_se"], "delta": j["delta"],
                     "delta_se": j["delta_se"], "verdict": j["verdict"], "K_joint": j["K"],
                     "K_separate": s["K"], "status": j.get("status", STATUS_OK)})
    df = pd.DataFrame(rows)
    _write_text(out_tsv, df.to_csv(sep="\t", index=False, float_format="%.6g"))
    return df
