"""Stage select: every K of one spectrum gathered into its model-selection table, the peak
table of the selected K and a JSON summary."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..io.store import _json_default
from .markers import STATUS_OK, _info_of, _read_attrs, _write_text, is_ok, log

_SELECTION_COLUMNS = ["K", "free_energy", "free_energy_se", "noise_sd", "probability"]


def _diagnostics(a: Mapping) -> dict:
    """A store's convergence and goodness-of-fit summary (its ``diagnostics`` attr), or {}."""
    try:
        return json.loads(a["diagnostics"]) if a.get("diagnostics") else {}
    except (TypeError, ValueError):
        return {}


def _components(a: Mapping) -> list[dict]:
    """A composite candidate's components (name, shape, K) from its store's attrs, or []."""
    return json.loads(a["components"]) if a.get("components") else []


def _label_of(a: Mapping) -> str:
    """A composite candidate's label (counts joined by '-') from its store's attrs."""
    return "-".join(str(int(c["K"])) for c in _components(a))


def _selection_table(attrs: Sequence[Mapping]):
    """The model-selection table from the root attrs of a spectrum's fit stores (as `bayespec
    fit` writes it: sorted by K; a composite model's candidates in model order, with one
    ``K_<component>`` column each)."""
    import pandas as pd

    from ..inference.freeenergy import model_probabilities
    from ..inference.selection import CHECK_COLUMNS, CRITERION_COLUMNS, check_values

    rows = []
    for a in attrs:
        rows.append({"K": int(a["K"]), "free_energy": float(a["free_energy"]),
                     "free_energy_se": float(a["free_energy_se"]),
                     "noise_sd": float(a["noise_sd"]),
                     **{f"K_{c['name']}": int(c["K"]) for c in _components(a)},
                     **check_values(_diagnostics(a)),
                     # stores written before WBIC existed: NaN
                     **{c: float(a.get(c, float("nan"))) for c in CRITERION_COLUMNS}})
    comp = [f"K_{c['name']}" for c in _components(attrs[0])] if attrs else []
    df = pd.DataFrame(rows, columns=_SELECTION_COLUMNS[:-1] + comp + CHECK_COLUMNS
                      + CRITERION_COLUMNS)
    if not comp:
        df = df.sort_values("K")
    df = df.reset_index(drop=True)
    df["probability"] = model_probabilities(df["free_energy"].to_numpy())
    return df[_SELECTION_COLUMNS + comp + CHECK_COLUMNS + CRITERION_COLUMNS]


def _averaged(table, stores: Sequence, attrs: Sequence[Mapping], composite: bool,
              selected: int, selected_tree) -> dict[str, float]:
    """The model-averaged quantities over every candidate (inference/averaging.py), the
    summary's ``_avg`` columns; each candidate's posterior read from its store."""
    from ..inference.averaging import line_draws, model_average
    from ..inference.selection import candidate_labels
    from ..io.store import read_fit

    by_label = {(_label_of(a) if composite else str(int(a["K"]))): (s, a)
                for s, a in zip(stores, attrs)}
    lines = []
    for r, label in enumerate(candidate_labels(table)):
        store, a = by_label[label]
        tree = selected_tree if r == selected else read_fit(store, groups=("posterior",))
        comps = {c["name"]: c for c in _components(a)} if composite else None
        lines.append(line_draws(tree["posterior"].to_dataset(), str(a["shape"]), comps))
    noise = table["noise_sd"].to_numpy(float)
    return model_average(lines, table["probability"].to_numpy(float), selected,
                         table["K"].to_numpy(int), None if np.all(np.isnan(noise)) else noise)


def select(stores: Sequence[str | os.PathLike], table_out: str | os.PathLike,
           peaks_out: str | os.PathLike, info_out: str | os.PathLike, spectrum: str,
           log_path: str | None = None) -> dict:
    """Gather every K of one spectrum: ``table_out`` (model_selection.csv, as ``bayespec fit``
    writes it: K, free_energy, free_energy_se, noise_sd, probability), ``peaks_out`` (peak table
    of the selected K: one row per peak and quantity with mean, sd, 2.5/50/97.5 % quantiles and
    MAP) and ``info_out`` (JSON: status, selected K, p(K|D), noise, F, warnings, failed stage
    and log; with the selected candidate's checks ``converged``, ``convergence_reasons``,
    ``adequate``, ``adequacy_warning``; ``averaged``: the quantities averaged over the
    candidates with weights p(candidate | D), inference/averaging.py). The table's check columns (sweeps ... adequate)
    come from each store's ``diagnostics`` attr. A spectrum with any failed K is failed (its
    tables have headers only)."""
    import pandas as pd

    from ..inference.selection import CHECK_COLUMNS, CRITERION_COLUMNS, format_table

    read = [_read_attrs(s) for s in stores]  # each store's attrs read once, used throughout
    infos = [_info_of(a, status) for a, status in read]
    bad = [i for i in infos if not is_ok(i["status"])]
    info: dict[str, Any] = {"spectrum": spectrum, "status": STATUS_OK, "K": None,
                            "probability": None, "noise_sd": None, "free_energy": None,
                            "free_energy_se": None, "noise_estimated": None, "shape": None,
                            "stage": "", "log": "", "warnings": []}
    peak_cols = ["spectrum", "K", "peak", "quantity", "mean", "sd", "q2.5", "q50", "q97.5", "map"]
    if bad:
        first = bad[0]
        info.update(status=first["status"], stage=first["stage"] or "fit",
                    log=first["log"] or (str(log_path) if log_path else ""))
        log.error("%s: failed at %s: %s", spectrum, info["stage"], info["status"])
        _write_text(table_out, format_table(pd.DataFrame(columns=_SELECTION_COLUMNS
                                                          + CHECK_COLUMNS
                                                          + CRITERION_COLUMNS)))
        _write_text(peaks_out, pd.DataFrame(columns=peak_cols).to_csv(sep="\t", index=False))
        _write_text(info_out, json.dumps(info, indent=1, default=_json_default) + "\n")
        return info
    from ..inference.selection import candidate_labels
    from ..inference.summary import component_table, peak_table
    from ..io.store import read_fit

    attrs = [a for a, _ in read]
    table = _selection_table(attrs)
    i = int(table["probability"].to_numpy().argmax())
    best = table.iloc[i]
    K = int(best["K"])
    label = candidate_labels(table)[i]
    composite = bool(_components(attrs[0]))
    store = next(s for s, a in zip(stores, attrs)
                 if (_label_of(a) if composite else str(int(a["K"]))) == label)
    tree = read_fit(store, groups=("posterior", "sample_stats"))
    info["averaged"] = _averaged(table, stores, attrs, composite, i, tree)
    shape = str(tree.attrs["shape"])
    post, lp = tree["posterior"].to_dataset(), np.asarray(tree["sample_stats"]["lp"])
    if composite:
        peaks = component_table(post, lp, {c["name"]: c for c in _components(tree.attrs)})
        peak_cols = peak_cols[:2] + ["component"] + peak_cols[2:]
    else:
        peaks = peak_table(post, lp, shape)
    peaks.insert(0, "K", K)
    peaks.insert(0, "spectrum", spectrum)
    warns = []
    for a in attrs:
        try:
            warns += json.loads(a.get("warnings", "[]"))
        except (TypeError, ValueError):
            pass
    if composite:
        info["candidate"] = label
    info.update(K=K, probability=float(best["probability"]), noise_sd=float(best["noise_sd"]),
                free_energy=float(best["free_energy"]),
                free_energy_se=float(best["free_energy_se"]),
                noise_estimated=bool(tree.attrs.get("noise_estimated")), shape=shape,
                warnings=warns)
    diag = _diagnostics(tree.attrs)
    if diag:  # the selected candidate's checks (README "Convergence and goodness of fit")
        info.update(converged=bool(diag.get("converged")),
                    convergence_reasons=list(diag.get("convergence_reasons") or []),
                    adequate=bool(diag.get("adequate")),
                    adequacy_warning=str(diag.get("adequacy_warning") or ""))
        if not info["converged"]:
            log.warning("%s: the selected K=%s has not converged: %s", spectrum, label,
                        "; ".join(info["convergence_reasons"]))
        if not info["adequate"]:
            log.warning("%s: %s", spectrum, info["adequacy_warning"])
    _write_text(table_out, format_table(table))
    _write_text(peaks_out, peaks[peak_cols].to_csv(sep="\t", index=False, float_format="%.6g"))
    _write_text(info_out, json.dumps(info, indent=1, default=_json_default) + "\n")
    log.info("%s: selected K = %d, p(K|D) = %.4f, noise sd %.4g\n%s", spectrum, K,
             info["probability"], info["noise_sd"], table.to_string(index=False))
    return info
