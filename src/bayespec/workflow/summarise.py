"""Stage summarise: the campaign table (one row per spectrum), and what the workflow prints
when it ends (:func:`failure_report`, :func:`error_hint`)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..ids import entry_name
from ..models.shapes import LINE_QUANTITIES
from .markers import STATUS_OK, _write_file_atomic, _write_text, is_ok, log, one_line

_PEAK_QUANTITIES = LINE_QUANTITIES
#: the selected candidate's checks (select.py's info), the summary's last columns
_CHECKS = ("converged", "adequate")


def summarise(infos: Sequence[str | os.PathLike], peaks: Sequence[str | os.PathLike],
              out_tsv: str | os.PathLike, out_parquet: str | os.PathLike | None = None,
              true_K: Mapping[str, int | None] | None = None,
              groups: Mapping[str, str | None] | None = None,
              integration: str | os.PathLike | None = None):
    """The campaign table, one row per spectrum (in the order given): ``spectrum``, ``K``
    (selected), ``probability`` (its p(K|D)), ``noise_sd``, ``status`` (ok or the one-line
    error), ``true_K`` (when given), ``group`` (when any), ``free_energy``, ``free_energy_se``,
    ``warnings`` (how many sampler warnings its fits logged, e.g. a stalled ladder), ``log``
    (where a failure's cause is), then per peak k = 1.. the posterior mean and 95 %
    interval of center, width, amplitude and area: ``peak{k}_{q}``, ``peak{k}_{q}_lo``,
    ``peak{k}_{q}_hi`` (a composite model: ``{component}{k}_{q}`` per component, and the
    selected ``candidate`` label after ``K``), and last ``converged`` and ``adequate``, the
    selected candidate's convergence and goodness-of-fit flags (empty for a failed spectrum;
    README "Convergence and goodness of fit"), after the model-averaged columns (``K_avg``,
    ``noise_sd_avg``, per line of the selected model ``{line}_p`` and ``{line}_{q}_avg``,
    ``_avg_lo``, ``_avg_hi``: inference/averaging.py). With ``integration`` (results/integration.tsv, one row per group) the
    members of each group also get ``group_verdict`` (joint | separate | undecided, or the
    group's error), ``group_delta`` and ``group_delta_se`` (F_joint - sum of separate F, nats).
    Written as TSV (atomically) and Parquet. Returns the DataFrame."""
    import pandas as pd

    verdicts = None
    if integration is not None:
        it = pd.read_csv(integration, sep="\t", dtype={"group": str})
        verdicts = {str(g): {"verdict": (v if str(st) == STATUS_OK else str(st)),
                             "delta": d, "delta_se": e}
                    for g, v, d, e, st in zip(it["group"], it["verdict"], it["delta"],
                                              it["delta_se"], it["status"])}
    recs = []
    comp_cols: list[str] = []  # composite models' peak columns, in order of appearance
    avg_cols: list[str] = []  # the model-averaged columns (select.py's info "averaged")
    for ip, pp in zip(infos, peaks):
        info = json.loads(Path(ip).read_text(encoding="utf-8"))
        sid = info["spectrum"]
        r: dict[str, Any] = {"spectrum": entry_name(sid), "K": info.get("K"),
                             **({"candidate": info["candidate"]} if info.get("candidate")
                                else {}),
                             "probability": info.get("probability"),
                             "noise_sd": info.get("noise_sd"), "status": info.get("status")}
        if true_K is not None:
            r["true_K"] = true_K.get(sid)
        if groups is not None and any(v for v in groups.values()):
            r["group"] = groups.get(sid) or ""
            if verdicts is not None:
                v = verdicts.get(r["group"]) if r["group"] else None
                r["group_verdict"] = "" if v is None else v["verdict"]
                r["group_delta"] = None if v is None else v["delta"]
                r["group_delta_se"] = None if v is None else v["delta_se"]
        r.update(free_energy=info.get("free_energy"), free_energy_se=info.get("free_energy_se"),
                 warnings=len(info.get("warnings") or []), log=info.get("log", ""))
        checks = {c: info.get(c) for c in _CHECKS}  # appended after the peak columns
        if is_ok(str(info.get("status"))) and info.get("candidate"):
            pt = pd.read_csv(pp, sep="\t", keep_default_na=False)
            pt = pt[pd.to_numeric(pt["peak"]) >= 0]
            for (c, k, q), g in pt.groupby(["component", "peak", "quantity"], sort=False):
                if q in _PEAK_QUANTITIES:
                    row = g.iloc[0]
                    base = f"{c}{int(k) + 1}_{q}"
                    for suffix, col in (("", "mean"), ("_lo", "q2.5"), ("_hi", "q97.5")):
                        r[base + suffix] = float(row[col])
                        if base + suffix not in comp_cols:
                            comp_cols.append(base + suffix)
        elif is_ok(str(info.get("status"))):
            pt = pd.read_csv(pp, sep="\t")
            for (k, q), g in pt[pt["peak"] >= 0].groupby(["peak", "quantity"]):
                if q in _PEAK_QUANTITIES:
                    row = g.iloc[0]
                    base = f"peak{int(k) + 1}_{q}"
                    r[base] = float(row["mean"])
                    r[base + "_lo"] = float(row["q2.5"])
                    r[base + "_hi"] = float(row["q97.5"])
        avg = {k: float(v) for k, v in (info.get("averaged") or {}).items()}
        for c in avg:
            if c not in avg_cols:
                avg_cols.append(c)
        recs.append({**r, **avg, **checks})
    df = pd.DataFrame(recs)
    lead = [c for c in ("spectrum", "K", "candidate", "probability", "noise_sd", "status", "true_K", "group",
                        "group_verdict", "group_delta", "group_delta_se", "free_energy", "free_energy_se", "warnings", "log") if c in df.columns]
    npk = max([int(m.group(1)) for c in df.columns if (m := re.match(r"peak(\d+)_", c))] or [0])
    peak_cols = [f"peak{k}_{q}{s}" for k in range(1, npk + 1) for q in _PEAK_QUANTITIES
                 for s in ("", "_lo", "_hi")]
    df = df.reindex(columns=lead + [c for c in peak_cols if c in df.columns] + comp_cols
                    + _avg_order(avg_cols) + list(_CHECKS))
    for c in ("K", "true_K", "warnings"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in _CHECKS:
        df[c] = df[c].astype("boolean")
    for c in df.columns:
        if c not in ("spectrum", "candidate", "status", "group", "group_verdict", "log", "K",
                     "true_K", "warnings", *_CHECKS):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["status"] = df["status"].astype(str).map(one_line)
    _write_text(out_tsv, df.to_csv(sep="\t", index=False, float_format="%.6g"))
    if out_parquet is not None:
        _write_file_atomic(out_parquet, lambda p: df.to_parquet(p, index=False))
    nfail = int((df["status"] != STATUS_OK).sum())
    log.info("summary of %d spectra, %d failed:\n%s", len(df), nfail,
             df[lead + list(_CHECKS)].to_string(index=False))
    return df


def _avg_order(cols: list[str]) -> list[str]:
    """The averaged columns: K_avg, noise_sd_avg, then per line (peak1, peak2, ...; a
    composite's lines in order of appearance) its _p and quantity columns."""
    from ..inference.series import sort_line_names

    head = [c for c in ("K_avg", "noise_sd_avg") if c in cols]
    out = list(head)
    for line in sort_line_names([c[:-2] for c in cols if c.endswith("_p")]):
        out.append(f"{line}_p")
        out += [f"{line}_{q}_avg{s}" for q in _PEAK_QUANTITIES for s in ("", "_lo", "_hi")
                if f"{line}_{q}_avg{s}" in cols]
    return out + [c for c in cols if c not in out]


# ============================================================================ reporting

def failure_report(summary_tsv: str | os.PathLike, logs: str = "logs") -> str:
    """What the workflow's onsuccess handler prints: how many spectra failed, which, and where
    the causes are (the summary's status column and each failure's log)."""
    p = Path(summary_tsv)
    if not p.is_file():
        return (f"bayespec campaign: finished; {p} was not part of this run, so failures are "
                f"not counted (job logs are under {logs}/)")
    import pandas as pd

    df = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False)
    failed = df[df["status"] != STATUS_OK]
    n = len(df)
    if failed.empty:
        return f"bayespec campaign: {n} spectra, 0 failed; summary in {p}"
    lines = [f"bayespec campaign: {n} spectra, {len(failed)} failed; the causes are in the "
             f"status column of {p} and in the logs under {logs}/:"]
    for _, r in failed.iterrows():
        where = r.get("log") or f"{logs}/ingest/{r['spectrum']}.log"
        lines.append(f"  {r['spectrum']}: {r['status']}  [log: {where}]")
    return "\n".join(lines)


def error_hint(logs: str = "logs") -> str:
    """What the onerror handler prints: a job crashed (not a data error)."""
    return (f"bayespec campaign: a job failed with an unexpected error (bad data does not fail "
            f"jobs; it is reported in the summary's status column). See the job's log under "
            f"{logs}/; rerun with --keep-going to finish the other spectra, and "
            f"--rerun-incomplete after an interruption.")
