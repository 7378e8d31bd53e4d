"""Batch jobs for large campaigns: several spectra per workflow job, one job per (batch, stage).

A 1,000-spectrum time series would otherwise be 1,000 x (ingest, preprocess, select) + 4,000 fit
jobs, each paying a process start and imports (about 1-2 s on a laptop core, more than a
short fit) and, on a cluster, a scheduler round trip. With ``batch_size: B`` in the campaign
config, spectra with the same fit settings (model, priors, noise, sampler, K list) are cut, in
manifest order, into batches of at most B, and each stage runs one job per batch (the fit
stage one job per (batch, K)). Outputs stay per spectrum (the same paths as without batching),
so selection, summary, figures and reruns do not change; a spectrum's numbers do not depend on
its batch-mates (seeds are per spectrum). A bad spectrum still becomes its own error marker.

Each batch job also writes a batch index (``results/batches/<stage>/<batch>.tsv``: spectrum,
store, status), last, and the next stage's batch job takes that one file as its input instead
of the batch's 100 stores. The DAG is the same (a store missing or rerun reruns the job that
writes it and so its index), but Snakemake's scheduler, which stats the inputs of every ready
job each time it selects jobs, has 1 path per job to look at, not hundreds: with 1,000 spectra
the per-store inputs kept its process busy for about half a core (measured with py-spy).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from ..errors import DataError
from .ingest import ingest
from .manifest import Campaign
from .markers import one_line
from .preprocess import preprocess
from .select import select

__all__ = ["batch_size", "plan", "ingest_many", "preprocess_many", "select_many",
           "write_index", "read_index"]

INDEX_COLUMNS = ("spectrum", "store", "status")


def batch_size(c: Campaign) -> int:
    """The campaign's ``batch_size`` (1: one job per spectrum and stage, no batching)."""
    return int(c.config.get("batch_size", 1) or 1)


def _key(c: Campaign, sid: str) -> str:
    """Spectra with equal keys may share a fit job: their whole fit config agrees."""
    return json.dumps(c.fit_config(sid).raw, sort_keys=True, default=str)


def plan(c: Campaign) -> dict[str, list[str]]:
    """Batches in manifest order: {label: [ids]}. Ids are grouped by fit settings, then cut into
    runs of at most ``batch_size``. A label is the first id, with ``..<last id>`` when the batch
    has more than one spectrum; it names the batch's log files."""
    size = batch_size(c)
    groups: dict[str, list[str]] = {}
    for sid in c.ids:
        groups.setdefault(_key(c, sid), []).append(sid)
    out: dict[str, list[str]] = {}
    for ids in groups.values():
        for i in range(0, len(ids), size):
            chunk = ids[i:i + size]
            label = chunk[0] if len(chunk) == 1 else f"{chunk[0]}..{chunk[-1]}"
            out[label] = chunk
    return out


def ingest_many(sources: Sequence[str | os.PathLike], outs: Sequence[str | os.PathLike],
                params: Sequence[Mapping], log_path: str | None = None) -> list[str]:
    """:func:`.ingest.ingest` for each spectrum of a batch; returns the statuses."""
    return [ingest(s, o, p, log_path=log_path) for s, o, p in zip(sources, outs, params)]


def preprocess_many(srcs: Sequence[str | os.PathLike], outs: Sequence[str | os.PathLike],
                    params: Sequence[Mapping], log_path: str | None = None) -> list[str]:
    """:func:`.preprocess.preprocess` for each spectrum of a batch."""
    return [preprocess(s, o, p, log_path=log_path) for s, o, p in zip(srcs, outs, params)]


def select_many(stores: Sequence[Sequence[str | os.PathLike]],
                tables: Sequence[str | os.PathLike], peaks: Sequence[str | os.PathLike],
                infos: Sequence[str | os.PathLike], spectra: Sequence[str],
                log_path: str | None = None) -> list[dict]:
    """:func:`.select.select` for each spectrum of a batch (stores[i]: its K stores)."""
    return [select(st, t, p, i, spectrum=sid, log_path=log_path)
            for st, t, p, i, sid in zip(stores, tables, peaks, infos, spectra)]


def write_index(path: str | os.PathLike, spectra: Sequence[str],
                stores: Sequence[str | os.PathLike], statuses: Sequence[str]) -> None:
    """Write a batch index (TSV: spectrum, store, status; one row per spectrum, batch order)
    atomically. Statuses are one line each (``ok`` or ``error: ...``)."""
    from ..io.store import write_table_atomic

    rows = ["\t".join(INDEX_COLUMNS)]
    for sid, st, status in zip(spectra, stores, statuses, strict=True):
        rows.append("\t".join((str(sid), os.fspath(st),
                               one_line(str(status)).replace("\t", " "))))
    write_table_atomic(path, "\n".join(rows) + "\n")


def read_index(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a batch index written by :func:`write_index`."""
    from ..io.spectrum import read_text

    lines = read_text(path).splitlines()
    if not lines or tuple(lines[0].split("\t")) != INDEX_COLUMNS:
        raise DataError(f"{path}: not a bayespec batch index (header "
                        f"{'/'.join(INDEX_COLUMNS)}); delete it and rerun the batch")
    return [dict(zip(INDEX_COLUMNS, line.split("\t"))) for line in lines[1:] if line]
