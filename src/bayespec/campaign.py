"""Campaign glue for the Snakemake workflow: manifest and config checks, and one function per
rule stage (demo data, ingest, preprocess, fit one K, select, summarise, figures).

The rule scripts in ``scripts/`` are thin: they read ``snakemake.input``/``params``, call one
function here and write ``snakemake.output``. Everything a rule writes is written atomically
(temporary sibling, then rename), so an interrupted job never leaves a half-written store.

**Failures are data, not crashes.** A spectrum that cannot be read (or cropped, or fitted because
of a bayespec error) does not fail its job: the stage writes an *error marker* in place of its
output — a small Zarr group whose root attrs hold ``status = "error: <one line naming file and
line>"``, the ``stage`` and the ``log`` that has the cause — and every later stage copies the
marker on cheaply. The campaign table's ``status`` column shows the one line, the job log has
it, and the workflow's ``onsuccess`` handler counts the failures (:func:`failure_report`).
Other exceptions (bugs, out of memory) still fail the job so they are not mistaken for bad data.

Heavy imports (numba, xarray, zarr, matplotlib) happen inside the functions, so checking a
config or propagating a marker stays cheap.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import difflib
import hashlib
import json
import logging
import math
import os
import re
import shutil
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .errors import BayespecError, ConfigError, DataError
from .ids import ENTRY_PATTERN, ID_PATTERN, entry_name
from .io import parse_cell, read_text
from .store import _dumps, _json_default, _sibling
from .zarrio import load_tree, root_attrs, write_tree

__all__ = [
    "ID_PATTERN", "ENTRY_PATTERN", "entry_name", "STATUS_OK", "STAGES", "FORMATS",
    "NORMALISATIONS", "GPU_BACKENDS", "FIGURES",
    "MANIFEST_COLUMNS", "REPLACE_WHOLE", "Campaign", "load_manifest", "replace_whole",
    "schema_error_message", "demo_curve", "write_demo_csv", "read_columns", "read_source",
    "ingest", "preprocess", "fit_one", "select", "summarise", "spectrum_figures",
    "campaign_figures", "failure_report", "error_hint", "read_status", "is_ok",
    "write_marker", "write_dataset_atomic", "one_line", "logged",
]

log = logging.getLogger("bayespec.campaign")

#: spectrum ids and file keys (``id@index`` for row ``index`` of a stack file, shown as
#: ``id[index]``): the one naming rule of bayespec.ids, shared with GROUP.yaml data sets
_ID_RE = re.compile(ID_PATTERN)
STATUS_OK = "ok"
STAGES = ("ingest", "preprocess", "fit", "select")
FORMATS = ("xy", "columns", "diffraction", "xdi", "nexus")  # = bayespec.readers.FORMATS
NORMALISATIONS = ("none", "max", "area")
#: sampler backends that run on a GPU: their fit jobs declare a ``gpu`` resource
GPU_BACKENDS = ("cupy",)
#: per-spectrum figures (each written as PNG and PDF)
FIGURES = ("fit", "free_energy", "noise", "positions", "swap")
#: manifest columns the workflow reads; any other column is kept as metadata
MANIFEST_COLUMNS = ("id", "path", "format", "x_col", "y_col", "sd_col", "roi_min", "roi_max",
                    "x_units", "y_units", "group", "K", "shape", "likelihood", "priors",
                    "noise_sd", "seed",
                    "true_K", "mu", "index", "nxdata", "binding_energy", "bin", "subtract",
                    "normalise")
#: manifest columns that override the config's preprocess block for one spectrum
_PREPROCESS_COLS = ("roi_min", "roi_max", "binding_energy", "bin", "subtract", "normalise")
_INT_COLS = ("seed", "true_K", "bin")
_FLOAT_COLS = ("roi_min", "roi_max", "noise_sd", "binding_energy")
_INT_OR_STR_COLS = ("K", "x_col", "y_col", "sd_col", "index")
_PEAK_QUANTITIES = ("center", "width", "amplitude", "area")
_SELECTION_COLUMNS = ["K", "free_energy", "free_energy_se", "noise_sd", "probability"]


# ============================================================================ small helpers

def one_line(text: str) -> str:
    """``text`` as a single line (newlines and tabs become spaces): safe in a TSV cell."""
    return " ".join(str(text).split())


def _error_status(exc: BaseException) -> str:
    msg = str(exc) if isinstance(exc, BayespecError) else f"{type(exc).__name__}: {exc}"
    return "error: " + one_line(msg)


def is_ok(status: str) -> bool:
    """True when a stage status says the spectrum is fine so far."""
    return status == STATUS_OK


def _clean_stale(dest: Path) -> None:
    """Remove temporary siblings of ``dest`` left by a killed earlier attempt. Only the job that
    owns ``dest`` writes them, so this is safe while other jobs run."""
    for p in dest.parent.glob(f".{dest.name}.tmp-*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
    for p in dest.parent.glob(f".{dest.name}.old-*"):
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)


def _replace_dir(tmp: Path, dest: Path) -> None:
    """Move the finished directory ``tmp`` to ``dest`` (an existing ``dest`` is moved aside
    first and deleted after), so ``dest`` is always absent, old or complete."""
    old = None
    if dest.exists() or dest.is_symlink():
        old = _sibling(dest, "old")
        os.replace(dest, old)
    try:
        os.replace(tmp, dest)
    except BaseException:
        if old is not None:
            os.replace(old, dest)
            old = None
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)


def _write_file_atomic(dest: str | os.PathLike, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file to ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(dest)
    tmp = _sibling(dest, "tmp")
    try:
        write(tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def _write_text(dest: str | os.PathLike, text: str) -> Path:
    from .store import write_table_atomic

    _clean_stale(Path(dest))
    return write_table_atomic(dest, text)


def write_dataset_atomic(ds, path: str | os.PathLike) -> Path:
    """Write an ``xr.Dataset`` as a Zarr v3 store at ``path`` atomically (temporary sibling
    directory, then rename). Returns the path."""
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale(dest)
    tmp = _sibling(dest, "tmp")
    try:
        write_tree(ds, tmp, fsync=False)  # atomic by the rename (see store.write_datatree)
        _replace_dir(tmp, dest)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def write_marker(path: str | os.PathLike, status: str, **attrs: Any) -> Path:
    """Write an error marker: an empty Zarr group at ``path`` whose attrs hold ``status`` (and
    ``attrs``, e.g. stage, log, spectrum). It has no ``complete`` attr, so
    :func:`bayespec.store.read_fit` refuses it as a fit."""
    import xarray as xr

    clean = {k: v for k, v in attrs.items() if v is not None}
    ds = xr.Dataset(attrs={"status": one_line(status), "bayespec_marker": True,
                           "created_by": f"bayespec {__version__}", **clean})
    return write_dataset_atomic(ds, path)


def _read_attrs(path: str | os.PathLike) -> tuple[dict, str]:
    """The root attrs of a stage output and its status: ``"ok"`` for a data store or a complete
    fit store, else the marker's ``"error: ..."`` line ({} when the store cannot be read)."""
    p = Path(path)
    try:
        a = root_attrs(p)
    except Exception as e:  # missing or unreadable store: say so, do not crash the campaign
        return {}, _error_status(DataError(f"{p}: cannot open store ({one_line(str(e))})"))
    status = a.get("status")
    if status is not None:
        return a, str(status)
    if a.get("complete") is True:
        return a, STATUS_OK
    return a, _error_status(DataError(f"{p}: incomplete store (no 'complete' attr)"))


def read_status(path: str | os.PathLike) -> str:
    """The status of a stage output (see :func:`_read_attrs`)."""
    return _read_attrs(path)[1]


def _marker_info(path: str | os.PathLike) -> dict:
    """status, stage and log of a stage output (empty stage/log for a good one)."""
    return _info_of(*_read_attrs(path))


def _info_of(a: Mapping, status: str) -> dict:
    return {"status": status, "stage": a.get("stage", ""), "log": a.get("log", "")}


@contextlib.contextmanager
def logged(log_path: str | os.PathLike | None) -> Iterator[logging.Logger]:
    """Send this process's logging, warnings, stdout and stderr to ``log_path`` (the rule's
    ``log:``); an uncaught exception is written there with its traceback, then re-raised."""
    if log_path is None:
        yield log
        return
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as fh:
        handler = logging.StreamHandler(fh)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        old_level = root.level
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)
        try:
            with contextlib.redirect_stdout(fh), contextlib.redirect_stderr(fh):
                try:
                    yield log
                except BaseException:
                    fh.write(traceback.format_exc())
                    fh.flush()
                    raise
        finally:
            logging.captureWarnings(False)
            root.removeHandler(handler)
            root.setLevel(old_level)


# ============================================================================ manifest

def load_manifest(path: str | os.PathLike):
    """Read the tab-separated manifest into a pandas DataFrame of plain Python values.

    Lines starting with ``#`` and blank lines are skipped; the first other line is the header.
    Empty cells become None; numbers in the numeric columns become int/float (a value that is
    not a number is kept as text, so the schema names it). ``df.attrs`` holds ``path`` and
    ``lines`` (the file line of each row) for error messages.
    """
    import pandas as pd

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{p}: manifest not found; set 'manifest' in the config to a "
                          f"tab-separated file with columns id, path, ...") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read the manifest ({e})") from None
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cells = next(csv.reader([raw], delimiter="\t", quoting=csv.QUOTE_NONE))
        if header is None:
            header = [c.strip() for c in cells]
            if len(header) < 2 or "\t" not in raw:
                raise ConfigError(f"{p}: line {lineno}: the header must be tab-separated "
                                  f"column names (id, path, ...); got {raw.strip()!r}")
            dup = sorted({h for h in header if header.count(h) > 1})
            if dup:
                raise ConfigError(f"{p}: line {lineno}: duplicated column(s) {dup}")
            continue
        if len(cells) > len(header):
            extra = [c for c in cells[len(header):] if c.strip()]
            if extra:
                raise ConfigError(f"{p}: line {lineno}: {len(cells)} cells but the header has "
                                  f"{len(header)} columns; check the tabs")
        cells = (cells + [""] * len(header))[: len(header)]
        rows.append([c.strip() for c in cells])
        lines.append(lineno)
    if header is None:
        raise ConfigError(f"{p}: the manifest is empty; expected a header line (id, path, ...) "
                          f"and one row per spectrum")
    if not rows:
        raise ConfigError(f"{p}: the manifest has a header but no spectra")
    for col in ("id", "path"):
        if col not in header:
            raise ConfigError(f"{p}: missing required column {col!r}; the header has "
                              f"{', '.join(header)}")
    records = [{h: _typed(h, c) for h, c in zip(header, r)} for r in rows]
    df = pd.DataFrame(records, columns=header, dtype=object)
    df.attrs["path"] = str(p)
    df.attrs["lines"] = lines
    return df


def _typed(col: str, cell: str) -> Any:
    if cell == "":
        return None
    if col in _INT_COLS or col in _INT_OR_STR_COLS:
        if re.fullmatch(r"[+-]?\d+", cell):
            return int(cell)
        return cell
    if col in _FLOAT_COLS:
        try:
            v = float(cell)
        except ValueError:
            return cell
        return v if math.isfinite(v) else cell
    return cell


def schema_error_message(exc: BaseException, source: str, manifest=None) -> str:
    """A one-paragraph message for a schema failure from ``snakemake.utils.validate``: the file,
    (for the manifest) the line and id of the row, the key and what is wrong."""
    import jsonschema

    ve, e = None, exc
    while e is not None and ve is None:  # snakemake keeps the ValidationError as the context
        if isinstance(e, jsonschema.ValidationError):
            ve = e
        e = e.__cause__ or e.__context__
    if ve is None:
        return f"{source}: {one_line(str(exc))}"
    where = source
    if manifest is not None:
        m = re.search(r"row (\d+)", str(exc))
        if m:
            i = int(m.group(1))
            lines = manifest.attrs.get("lines", [])
            line = lines[i] if i < len(lines) else i + 2
            rid = manifest["id"].iloc[i] if "id" in manifest else None
            where = f"{source}: line {line}" + (f" (id {rid!r})" if rid is not None else "")
    key = ".".join(str(k) for k in ve.absolute_path)
    msg = ve.message
    if ve.validator == "additionalProperties":
        m = re.search(r"\('([^']+)' was unexpected", msg) or re.search(r"'([^']+)' was", msg)
        allowed = list((ve.schema.get("properties") or {}).keys())
        bad = m.group(1) if m else None
        hint = difflib.get_close_matches(bad, allowed, n=1) if bad else []
        prefix = f"{key}." if key else ""
        msg = (f"unknown key {prefix}{bad}" if bad else msg) + (
            f"; did you mean '{prefix}{hint[0]}'?" if hint else "") + (
            f" Allowed: {', '.join(allowed)}" if allowed else "")
        return f"{where}: {msg}"
    desc = ve.schema.get("description") if isinstance(ve.schema, Mapping) else None
    return f"{where}: {key or 'value'}: {msg}" + (f" ({desc})" if desc else "")


# ============================================================================ config merging

#: config paths whose values a ``--configfile`` replaces whole instead of merging key by key
#: (``*`` = every key below): mixing two priors' keys, two noise settings or two background
#: kinds gives nonsense, so these follow bayespec.config.with_overrides.
REPLACE_WHOLE = (("fit", "priors", "*"), ("fit", "model", "background"), ("fit", "noise"),
                 ("prior_sets", "*"), ("demo", "spectra", "*"))


def replace_whole(config: dict, override: Mapping | None) -> dict:
    """Undo Snakemake's key-by-key merge of a ``--configfile`` (``override``) into the workflow
    config where it makes no sense (:data:`REPLACE_WHOLE`): there the override's value replaces
    the config's. ``config`` is changed in place and returned."""
    if not override:
        return config

    def walk(cfg: Any, over: Any, path: tuple[str, ...]) -> None:
        if not isinstance(cfg, dict) or not isinstance(over, Mapping):
            return
        for k, v in over.items():
            here = (*path, str(k))
            whole = any(len(p) == len(here) and all(a in ("*", b) for a, b in zip(p, here))
                        for p in REPLACE_WHOLE)
            if whole:
                cfg[k] = json.loads(json.dumps(v)) if v is not None else None
            elif any(len(p) > len(here) and all(a in ("*", b) for a, b in zip(p, here))
                     for p in REPLACE_WHOLE):
                walk(cfg.get(k), v, here)

    walk(config, override, ())
    return config


# ============================================================================ the campaign

@dataclasses.dataclass
class Campaign:
    """A validated campaign: the workflow config and the manifest rows, keyed by spectrum id.

    Build it with :meth:`Campaign.load` after schema validation; it raises ConfigError naming
    the file, line, id and column of the first problem it finds.
    """

    config: dict
    rows: dict[str, dict]
    manifest_path: str
    check_paths: bool = True
    fit_source: str = "config 'fit' block"
    base_fit: Any = dataclasses.field(default=None, repr=False)  # the validated fit block

    # ------------------------------------------------------------------ construction
    @classmethod
    def load(cls, config: Mapping, manifest=None, check_paths: bool = True) -> "Campaign":
        """Check the config (its ``fit`` block with bayespec's own validator) and the manifest
        (ids unique and safe, paths present unless the demo rule makes them, ROI, K, shape,
        prior set, noise), resolving each spectrum's fit config so errors surface at start."""
        config = dict(config)
        mpath = str(config.get("manifest", "config/spectra.tsv"))
        if manifest is None:
            manifest = load_manifest(mpath)
        c = cls(config=config, rows={}, manifest_path=mpath, check_paths=check_paths)
        c._check_config()
        lines = manifest.attrs.get("lines", list(range(2, len(manifest) + 2)))
        known = set(MANIFEST_COLUMNS)
        for col in manifest.columns:
            if col not in known:
                close = difflib.get_close_matches(col, MANIFEST_COLUMNS, n=1, cutoff=0.8)
                if close:
                    raise ConfigError(f"{mpath}: column {col!r} is not a manifest column; did "
                                      f"you mean {close[0]!r}? (other columns are kept as "
                                      f"metadata, so a typo would be ignored silently)")
        seen: dict[str, int] = {}
        for (_, rec), line in zip(manifest.iterrows(), lines):
            row = {k: (None if _isnull(v) else v) for k, v in rec.items()}
            c._check_row(row, line, seen)
            c.rows.update(c._entries(row, line))
        return c

    def _entries(self, row: dict, line: int) -> dict[str, dict]:
        """The manifest entries of one row, by file key: the row itself, or for a stack file
        (a NeXus 2-D signal) one entry per selected row ``index``: key ``id@index``, shown as
        ``id[index]``. A stack that cannot be opened now stays one entry, so its ingest job
        reports the error and only that spectrum fails."""
        from . import readers

        rid = row["id"]
        where = f"{self.manifest_path}: line {line} (id {rid!r})"
        fmt = row["_format"]
        sel = row.get("index")
        size = None
        if fmt == "nexus" and Path(str(row["path"])).exists():
            try:
                size = readers.stack_size(row["path"], fmt, nxdata=row.get("nxdata"))
            except DataError as e:
                log.warning("%s: cannot open the file to list its spectra (%s); its ingest "
                            "will fail", where, e)
                if sel is None:
                    return {rid: row}
            if size is None and sel is not None:
                raise ConfigError(f"{where}: index: {sel!r} given but {row['path']} holds one "
                                  f"spectrum (a 1-D signal); clear the index")
        elif sel is not None and fmt != "nexus":
            raise ConfigError(f"{where}: index: only used with stack files (format nexus); "
                              f"clear it")
        if size is None and sel is None:
            return {rid: row}
        idx = _stack_indices(sel, size, where)
        out = {}
        for i in idx:
            e = dict(row, id=f"{rid}[{i}]", _index=i, _stack=rid)
            out[f"{rid}@{i}"] = e
        return out

    def _check_config(self) -> None:
        from .config import parse_fit_config

        cfg = self.config
        fit = dict(cfg.get("fit") or {})
        backend = cfg.get("backend")
        if backend is not None:
            sampler = dict(fit.get("sampler") or {})
            if sampler.get("backend") not in (None, backend):
                raise ConfigError(f"config: backend is {backend!r} but fit.sampler.backend is "
                                  f"{sampler['backend']!r}; set the backend in one place")
            sampler["backend"] = backend
            fit["sampler"] = sampler
        self.base_fit = parse_fit_config(fit, self.fit_source)
        if self.base_fit.model.components:
            # its jobs, stores and summary columns are per K; a composite's are per candidate
            raise ConfigError(f"{self.fit_source}: model.components: the campaign workflow does "
                              f"not run composite models yet (its jobs are one per spectrum "
                              f"and K); fit them with `bayespec fit --config FIT.yaml` or "
                              f"bayespec.fit(), or use model.shape and model.K here")
        for name, spec in (cfg.get("prior_sets") or {}).items():
            if not _ID_RE.fullmatch(str(name)):
                raise ConfigError(f"config: prior_sets: name {name!r} must match {ID_PATTERN}")
            try:
                self._with(self.base_fit, priors=spec)
            except ConfigError as e:
                raise ConfigError(f"config: prior_sets.{name}: {e}") from None
        x = (cfg.get("demo") or {}).get("x") or {}
        if x and not float(x.get("stop", 1)) > float(x.get("start", 0)):
            raise ConfigError(f"config: demo.x: stop ({x.get('stop')}) must be larger than start "
                              f"({x.get('start')})")

    @staticmethod
    def _with(base, source: str | None = None, **sections):
        from .config import with_overrides

        cfg = with_overrides(base, **sections)
        return dataclasses.replace(cfg, source=source or cfg.source)

    def _check_row(self, row: dict, line: int, seen: dict[str, int]) -> None:
        mp = self.manifest_path
        rid = row.get("id")
        where = f"{mp}: line {line}"
        if not isinstance(rid, str) or not _ID_RE.fullmatch(rid):
            raise ConfigError(f"{where}: id {rid!r} is not allowed; ids become file names: "
                              f"use letters, digits, '_', '.' and '-', starting with a letter or "
                              f"digit (pattern {ID_PATTERN}; no '/' and no '..')")
        where = f"{where} (id {rid!r})"
        low = rid.lower()
        if low in seen:
            raise ConfigError(f"{where}: duplicated id (also on line {seen[low]}; ids must be "
                              f"unique, ignoring case, since they name files)")
        seen[low] = line
        path = row.get("path")
        if not path:
            raise ConfigError(f"{where}: path: empty; give the spectrum file")
        if self.check_paths and not self.is_demo_row(row) and not Path(path).exists():
            if str(path).startswith(self.results + "/demo_data/"):
                hint = (f"; the demo rule makes {self.demo_path(rid)} only when {rid!r} is "
                        f"listed under demo.spectra in the config")
            else:
                hint = f" (paths are relative to the working directory {Path.cwd()})"
            raise ConfigError(f"{where}: path: {path} does not exist{hint}")
        from . import preprocessing, readers

        try:
            fmt = readers.detect_format(path, row.get("format"))
            readers.check_options(str(path), fmt, {k: row.get(k) for k in ("mu", "nxdata")})
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
        row["_format"] = fmt
        if row.get("mu") is not None and str(row["mu"]).lower() not in (
                "transmission", "fluorescence") and not re.fullmatch(r"[A-Za-z_]\w*",
                                                                     str(row["mu"])):
            raise ConfigError(f"{where}: mu: {row['mu']!r}; use transmission, fluorescence or "
                              f"the name of a column of the XDI file")
        cols = [k for k in ("x_col", "y_col", "sd_col") if row.get(k) is not None]
        if fmt != "columns" and cols:
            raise ConfigError(f"{where}: {', '.join(cols)}: only used with format 'columns' "
                              f"(format {fmt!r} reads its own columns); set format to columns "
                              f"or clear them")
        if fmt == "columns":
            for k in ("x_col", "y_col"):
                if row.get(k) is None:
                    raise ConfigError(f"{where}: {k}: required with format 'columns' (a "
                                      f"header name or a 1-based column number)")
            for k in cols:
                v = row[k]
                if isinstance(v, int) and v < 1:
                    raise ConfigError(f"{where}: {k}: column numbers start at 1, got {v}")
        lo, hi = row.get("roi_min"), row.get("roi_max")
        if lo is not None and hi is not None and not lo < hi:
            raise ConfigError(f"{where}: roi_min ({lo:g}) must be smaller than roi_max "
                              f"({hi:g})")
        preprocessing.check_params(self._preprocess_block(row), f"{where}: preprocess")
        tk = row.get("true_K")
        if tk is not None and (not isinstance(tk, int) or tk < 0):
            raise ConfigError(f"{where}: true_K: must be an integer >= 0, got {tk!r}")
        pset = row.get("priors")
        if pset is not None and pset not in (self.config.get("prior_sets") or {}):
            names = ", ".join(self.config.get("prior_sets") or {}) or "none defined"
            raise ConfigError(f"{where}: priors: no prior set {pset!r} under prior_sets in the "
                              f"config (defined: {names})")
        try:
            cfg = self.fit_config_for(row)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
        row["_K"] = list(cfg.model.K)

    # ------------------------------------------------------------------ queries
    @property
    def results(self) -> str:
        """Root of the outputs (config ``results``, default ``results``)."""
        return str(self.config.get("results", "results")).rstrip("/")

    @property
    def logs(self) -> str:
        """Root of the logs (config ``logs``, default ``logs``)."""
        return str(self.config.get("logs", "logs")).rstrip("/")

    @property
    def ids(self) -> list[str]:
        """Spectrum ids in manifest order."""
        return list(self.rows)

    @property
    def has_true_K(self) -> bool:
        return any(r.get("true_K") is not None for r in self.rows.values())

    def demo_path(self, sid: str) -> str:
        return f"{self.results}/demo_data/{sid}.csv"

    def is_demo_row(self, row: dict) -> bool:
        spectra = (self.config.get("demo") or {}).get("spectra") or {}
        return row.get("id") in spectra and str(row.get("path")) == self.demo_path(row["id"])

    @property
    def demo_ids(self) -> list[str]:
        """Ids whose file the demo rule generates."""
        return [i for i, r in self.rows.items() if self.is_demo_row(r)]

    @property
    def demo_id_pattern(self) -> str:
        """A regex matching exactly the demo ids (a wildcard constraint for the demo rule)."""
        return "|".join(re.escape(i) for i in self.demo_ids) or "(?!)"

    def demo_spec(self, sid: str) -> dict:
        """The known parameters of demo spectrum ``sid`` (with the shared x grid)."""
        demo = self.config.get("demo") or {}
        spec = (demo.get("spectra") or {}).get(sid)
        if spec is None:
            raise ConfigError(f"config: demo.spectra: no spectrum {sid!r}")
        return {"x": dict(demo.get("x") or {}), **spec}

    def Ks(self, sid: str) -> list[int]:
        """The numbers of peaks fitted to ``sid``."""
        return list(self.rows[sid]["_K"])

    def fit_config_for(self, row: dict):
        """The FitConfig of one manifest row: the config's fit block with the row's K, shape,
        likelihood, prior set, known noise sd and seed applied (validated by bayespec). A row
        with likelihood poisson drops the campaign's noise block (counts have no noise level
        to give or estimate)."""
        over: dict[str, dict] = {}
        src = f"{self.fit_source} + manifest row {row.get('id')!r}"
        base = self.base_fit
        if row.get("K") is not None:
            over.setdefault("model", {})["K"] = _K_value(row["K"])
        if row.get("shape") is not None:
            over.setdefault("model", {})["shape"] = row["shape"]
        if row.get("likelihood") is not None:
            over.setdefault("model", {})["likelihood"] = row["likelihood"]
            if row["likelihood"] == "poisson" and base.model.likelihood != "poisson":
                from .config import parse_fit_config

                raw = json.loads(json.dumps(base.raw))
                raw.pop("noise", None)
                raw["model"]["likelihood"] = "poisson"
                base = parse_fit_config(raw, src)
        if row.get("priors") is not None:
            over["priors"] = dict((self.config.get("prior_sets") or {})[row["priors"]])
        if row.get("noise_sd") is not None:
            over["noise"] = {"sd": row["noise_sd"]}
        if row.get("seed") is not None:
            over.setdefault("sampler", {})["seed"] = row["seed"]
        if not over:
            return base
        return self._with(base, source=src, **over)

    def fit_config(self, sid: str):
        return self.fit_config_for(self.rows[sid])

    def fit_params(self, sid: str, K: int) -> dict:
        """The FIT.yaml mapping one (spectrum, K) job fits with (model.K = [K]); a rule param,
        so editing the config reruns exactly the jobs it changes."""
        raw = json.loads(json.dumps(self.fit_config(sid).raw))
        raw["model"]["K"] = [int(K)]
        raw["sampler"]["threads"] = None  # set per job from its threads; numbers do not depend on it
        return raw

    def ingest_params(self, sid: str) -> dict:
        """What ingest needs besides the file: format, columns, units and the row as metadata."""
        r = self.rows[sid]
        meta = {k: v for k, v in r.items() if not k.startswith("_") and v is not None}
        return {"spectrum": r["id"], "format": r.get("_format") or r.get("format") or "xy",
                "x_col": r.get("x_col"), "y_col": r.get("y_col"), "sd_col": r.get("sd_col"),
                "mu": r.get("mu"), "nxdata": r.get("nxdata"), "index": r.get("_index"),
                "x_units": r.get("x_units") or "", "y_units": r.get("y_units") or "",
                "metadata": meta}

    def _preprocess_block(self, row: dict) -> dict:
        """The config's preprocess block with the row's own preprocessing columns over it."""
        p = json.loads(json.dumps(self.config.get("preprocess") or {}))
        p.update({k: row[k] for k in _PREPROCESS_COLS if row.get(k) is not None})
        return p

    def preprocess_params(self, sid: str) -> dict:
        """The preprocessing keys of one spectrum (bayespec.preprocessing.KEYS, defaults filled
        in): the config's preprocess block, overridden by the manifest row's columns."""
        from .preprocessing import check_params

        r = self.rows[sid]
        p = check_params(self._preprocess_block(r), f"{self.manifest_path}: id {r['id']!r}")
        return {"spectrum": r["id"], **p}

    def source(self, sid: str) -> str:
        return str(self.rows[sid]["path"])

    def true_K(self) -> dict[str, int | None]:
        return {i: r.get("true_K") for i, r in self.rows.items()}

    @property
    def backend(self) -> str:
        """The sampler backend of the campaign (config ``backend`` = fit.sampler.backend)."""
        return self.base_fit.sampler.backend

    def fit_resources(self) -> dict[str, Any]:
        """Resources of one fit job: ``fit_resources`` from the config, plus ``gpu: 1`` when the
        backend runs on a GPU (cupy; and only then: ``auto`` uses a GPU only if the node has
        one, so it requests none)."""
        res = dict(self.config.get("fit_resources") or {})
        if self.backend in GPU_BACKENDS:
            res.setdefault("gpu", 1)
        return res

    # ------------------------------------------------------------------ paths
    def fit_stores(self, sid: str) -> list[str]:
        return [f"{self.results}/fits/{sid}/K{K}.zarr" for K in self.Ks(sid)]

    def figure_files(self, sid: str) -> list[str]:
        return [f"{self.results}/figures/{sid}/{n}.{e}" for n in FIGURES for e in ("png", "pdf")]

    def final_outputs(self) -> list[str]:
        """Everything ``rule all`` asks for."""
        R = self.results
        out = [f"{R}/summary.tsv", f"{R}/summary.parquet", f"{R}/figures/campaign.png",
               f"{R}/figures/campaign.pdf"]
        for sid in self.ids:
            out += [f"{R}/fits/{sid}/model_selection.csv", f"{R}/select/{sid}.tsv"]
            if self.config.get("spectrum_figures", True):
                out += self.figure_files(sid)
        return out


def _isnull(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(v != v)  # NaN
    except Exception:
        return False


def _K_value(v: Any) -> Any:
    """Manifest K cell -> what bayespec.config accepts: int, 'lo-hi' or a list ('1,2,4')."""
    if isinstance(v, str) and "," in v:
        parts = [p.strip() for p in v.split(",") if p.strip()]
        return [int(p) if re.fullmatch(r"\d+", p) else p for p in parts]
    return v


def _stack_indices(sel: Any, size: int | None, where: str) -> list[int]:
    """Rows of a stack picked by a manifest ``index`` cell: empty = all ``size`` rows, ``3``,
    ``0-9`` (inclusive) or ``0,4,8``; ConfigError naming ``where`` for a bad or out-of-range
    pick (unchecked when the size is unknown)."""
    if sel is None:
        return list(range(int(size or 0)))
    out: list[int] = []
    for part in str(sel).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)|(\d+)", part)
        if m is None:
            raise ConfigError(f"{where}: index: {sel!r}; give row numbers from 0 like 3, 0-9 or "
                              f"0,4,8 (empty = every row)")
        if m.group(3) is None:
            lo, hi = int(m.group(1)), int(m.group(2))
        else:
            lo = hi = int(m.group(3))
        if hi < lo:
            raise ConfigError(f"{where}: index: range {part!r} is empty")
        out += range(lo, hi + 1)
    dup = sorted({i for i in out if out.count(i) > 1})
    if dup:
        raise ConfigError(f"{where}: index: row(s) {dup} picked twice")
    if size is not None and max(out) >= size:
        raise ConfigError(f"{where}: index: row {max(out)} is out of range; the stack has rows "
                          f"0..{size - 1}")
    return out


# ============================================================================ demo data

def demo_curve(spec: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Noisy spectrum from known parameters: ``spec`` has ``x`` {start, stop, n}, ``shape``
    (gaussian: width = sd; gaussian_nagata: width = b of a exp(-b (x-mu)^2 / 2); lorentzian:
    width = HWHM), ``peaks`` [[amplitude, center, width], ...], ``background`` polynomial
    coefficients from the constant term up, ``noise_sd`` and ``seed``.

    y = sum of peaks + background + noise_sd * default_rng(seed).standard_normal(n); the Nagata
    (2012) entry reproduces examples/demo/nagata2012.csv bit for bit."""
    xs = spec.get("x") or {}
    x = np.linspace(float(xs.get("start", 0.0)), float(xs.get("stop", 3.0)),
                    int(xs.get("n", 301)))
    shape = spec.get("shape", "gaussian")
    f = np.zeros_like(x)
    for a, m, w in spec.get("peaks", []):
        if shape == "gaussian_nagata":
            f = f + a * np.exp(-w * (x - m) ** 2 / 2)
        elif shape == "gaussian":
            f = f + a * np.exp(-((x - m) ** 2) / (2 * w ** 2))
        elif shape == "lorentzian":
            f = f + a / (1 + ((x - m) / w) ** 2)
        else:
            raise ConfigError(f"demo: shape {shape!r}: the demo generator knows gaussian, "
                              f"gaussian_nagata and lorentzian")
    for j, c in enumerate(spec.get("background") or []):
        f = f + c * x ** j
    noise = float(spec.get("noise_sd", 0.1))
    y = f + noise * np.random.default_rng(int(spec.get("seed", 0))).standard_normal(x.size)
    return x, y


def write_demo_csv(path: str | os.PathLike, sid: str, spec: Mapping) -> Path:
    """Write demo spectrum ``sid`` as CSV ``x,y`` with its true parameters in ``#`` comments."""
    x, y = demo_curve(spec)
    peaks = spec.get("peaks", [])
    head = [f"# bayespec demo spectrum {sid}: {len(peaks)} {spec.get('shape', 'gaussian')} "
            f"peak(s) (amplitude, center, width) = "
            + ", ".join(f"({a:g}, {m:g}, {w:g})" for a, m, w in peaks),
            f"# background coefficients {list(spec.get('background') or [])}, noise sd "
            f"{spec.get('noise_sd', 0.1)} from numpy.random.default_rng({spec.get('seed', 0)})",
            "x,y"]
    body = "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y))
    return _write_text(path, "\n".join(head) + "\n" + body)


# ============================================================================ ingest

def read_columns(path: str | os.PathLike, x_col: str | int, y_col: str | int,
                 sd_col: str | int | None = None):
    """Read chosen columns of a delimited text file with a header line (format ``columns``).

    Columns are named by header name or 1-based number. Delimiter: tab, comma or semicolon
    (from the header line), else whitespace. ``#`` starts a comment. Every problem raises a
    one-line DataError naming the file and line. Returns a :class:`bayespec.io.Spectrum`
    (x increasing; a decreasing axis is reversed)."""
    from .io import Spectrum

    p = str(path)
    text = read_text(p)
    header: list[str] | None = None
    hline = 0
    delim: str | None = None
    idx: dict[str, int] = {}
    vals: list[list[float]] = []
    lines: list[int] = []
    want = {"x": x_col, "y": y_col}
    if sd_col is not None:
        want["sd"] = sd_col
    for lineno, raw in enumerate(text.splitlines(), 1):
        s = raw.split("#", 1)[0].strip()
        if not s:
            continue
        if header is None:
            delim = next((d for d in ("\t", ",", ";") if d in s), None)
            header = [h.strip() for h in (s.split(delim) if delim else s.split())]
            hline = lineno
            for role, spec in want.items():
                if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
                    j = int(spec) - 1
                    if not 0 <= j < len(header):
                        raise DataError(f"{p}: line {lineno}: {role}_col {spec} is out of range; "
                                        f"the header has {len(header)} columns")
                elif spec in header:
                    j = header.index(spec)
                else:
                    close = difflib.get_close_matches(str(spec), header, n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    raise DataError(f"{p}: line {lineno}: no column {spec!r} ({role}_col) in the "
                                    f"header; {hint}columns: {', '.join(header)}")
                idx[role] = j
            continue
        cells = [c.strip() for c in (s.split(delim) if delim else s.split())]
        if len(cells) != len(header):
            raise DataError(f"{p}: line {lineno}: has {len(cells)} column(s) but the header "
                            f"(line {hline}) has {len(header)}")
        row = []
        for role, j in idx.items():
            cell = cells[j]
            v = parse_cell(p, lineno, j, cell, header[j])
            if role == "sd" and v <= 0:
                raise DataError(f"{p}: line {lineno}, column {j + 1} ({header[j]}): sd must be "
                                f"> 0, got {cell!r}")
            row.append(v)
        vals.append(row)
        lines.append(lineno)
    if header is None or not vals:
        raise DataError(f"{p}: no data rows (a header line and numeric rows are expected)")
    arr = np.asarray(vals, dtype=float)
    x = arr[:, 0]
    first: dict[float, int] = {}
    for xi, li in zip(x.tolist(), lines):
        if xi in first:
            raise DataError(f"{p}: lines {first[xi]} and {li}: duplicated x = {xi!r}")
        first[xi] = li
    if len(x) >= 2:
        inc = x[1] > x[0]
        bad = np.flatnonzero(np.diff(x) < 0 if inc else np.diff(x) > 0)
        if bad.size:
            k = int(bad[0])
            raise DataError(f"{p}: line {lines[k + 1]}: x = {x[k + 1]!r} breaks the "
                            f"{'increasing' if inc else 'decreasing'} order (previous x on line "
                            f"{lines[k]}); sort the rows by x")
        if not inc:
            arr = arr[::-1]
    arr = np.ascontiguousarray(arr)
    return Spectrum(x=arr[:, 0].copy(), y=arr[:, 1].copy(),
                    sd=arr[:, 2].copy() if arr.shape[1] == 3 else None, path=p,
                    reversed=bool(len(x) >= 2 and x[1] < x[0]))


def read_source(path: str | os.PathLike, params: Mapping):
    """Read one manifest spectrum with :func:`bayespec.readers.read`: its ``format`` (empty: by
    extension) and that format's options from ``params`` (x_col/y_col/sd_col, mu, nxdata,
    index). Returns a :class:`bayespec.readers.Record`."""
    from . import readers

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


def _open_dataset(path: str | os.PathLike):
    return load_tree(path).to_dataset()


def _propagate(src: str | os.PathLike, out: str | os.PathLike, sid: str, **extra: Any) -> str:
    """Copy the error of upstream store ``src`` to a marker at ``out``; return its status."""
    info = _marker_info(src)
    log.warning("%s: skipped, upstream %s failed: %s (see %s)", sid, info["stage"] or "stage",
                info["status"], info["log"] or "its log")
    write_marker(out, info["status"], spectrum=sid, stage=info["stage"] or "upstream",
                 log=info["log"] or None, **extra)
    return info["status"]


# ============================================================================ preprocess

def preprocess(src: str | os.PathLike, out: str | os.PathLike, params: Mapping,
               log_path: str | None = None) -> str:
    """Apply the preprocessing steps of :mod:`bayespec.preprocessing` (binding energy, crop to
    [roi_min, roi_max], bin, subtract a linear or Shirley background, normalise) and check at
    least ``min_points`` remain. The attrs record every step (``preprocessing``: JSON list in
    order) and the classic keys roi_min, roi_max, bin, normalise, subtract, subtracted_line,
    scale, n_points; a subtracted background is kept as the variable ``background``. Upstream
    markers are copied on; a step that fails writes a marker. Returns the status."""
    from . import preprocessing

    sid = params.get("spectrum", Path(out).stem)
    if not is_ok(read_status(src)):
        return _propagate(src, out, sid)
    ds = _open_dataset(src)
    source = str(ds.attrs.get("source", src))
    try:
        (x, y, sd), bg, steps, p = preprocessing.run(
            np.asarray(ds["x"], dtype=float), np.asarray(ds["y"], dtype=float),
            np.asarray(ds["sd"], dtype=float) if "sd" in ds else None, params, source)
    except DataError as e:
        status = _error_status(e)
        log.error("%s: %s", sid, status)
        write_marker(out, status, spectrum=sid, stage="preprocess", log=log_path)
        return status
    import xarray as xr

    data = {"y": ("x", y)}
    if sd is not None:
        data["sd"] = ("x", sd)
    if bg is not None:
        data["background"] = ("x", bg)
    line = next(([s["intercept"], s["slope"]] for s in steps if s.get("kind") == "linear"),
                [0.0, 0.0])
    scale = next((s["scale"] for s in steps if s["step"] == "normalise"), 1.0)
    lo, hi = p["roi_min"], p["roi_max"]
    attrs = dict(ds.attrs)
    attrs.update({"roi_min": "" if lo is None else float(lo),
                  "roi_max": "" if hi is None else float(hi), "bin": int(p["bin"]),
                  "normalise": p["normalise"], "subtract": p["subtract"],
                  "subtracted_line": line, "scale": scale, "n_points": int(x.size),
                  "preprocessing": _dumps(steps)})
    new = xr.Dataset(data, coords={"x": x}, attrs=attrs)
    for v in ("x", "y"):
        new[v].attrs.update(ds[v].attrs)
    write_dataset_atomic(new, out)
    log.info("%s: %d points after %s", sid, x.size,
             ", ".join(s["step"] + (f" {s['kind']}" if "kind" in s else "") for s in steps)
             or "no preprocessing")
    return STATUS_OK


# ============================================================================ fit

def fit_one(src: str | os.PathLike, out: str | os.PathLike, fit_raw: Mapping, K: int,
            threads: int | None = None, spectrum: str | None = None,
            log_path: str | None = None, checkpoint: str | os.PathLike | None = None) -> str:
    """Fit K peaks to the preprocessed spectrum ``src`` and write the store ``out`` with
    :func:`bayespec.store.write_fit` (atomic), exactly as ``bayespec fit`` would for that K
    (same seeds: SeedSequence(seed, spawn_key=(K, chain)); predictive band spawn_key (K, 99)).
    ``fit_raw`` is a FIT.yaml mapping; ``threads`` only sets the worker count (the numbers do
    not depend on it). A bayespec error (bad prior for these data, too few points, sd column
    with a known noise sd) writes an error marker; other exceptions propagate."""
    sid = spectrum or Path(out).parent.name
    return fit_many([src], [out], [fit_raw], K, threads, [sid], log_path, checkpoint)[0]


def _fit_problem(src: str | os.PathLike, fit_raw: Mapping, K: int, sid: str):
    """(FitConfig, Problem) of one preprocessed spectrum; raises BayespecError for bad input."""
    from .config import parse_fit_config
    from .model import build_problem

    cfg = parse_fit_config(fit_raw, f"fit of {sid} K={K}")
    ds = _open_dataset(src)
    x = np.asarray(ds["x"], dtype=float)
    y = np.asarray(ds["y"], dtype=float)
    sd = np.asarray(ds["sd"], dtype=float) if "sd" in ds else None
    source = str(ds.attrs.get("source", src))
    if sd is not None and cfg.noise.sd is not None:
        raise ConfigError(f"{source}: the file has an sd column (per-point noise) and the "
                          f"fit config sets noise.sd; remove noise.sd (or the manifest's "
                          f"noise_sd) to use the column")
    m = cfg.model
    return cfg, build_problem(x, y, sd, m.shape, K, m.background, m.degree, cfg.priors,
                              source=source, likelihood=m.likelihood, shirley=m.shirley)


def fit_many(srcs: Sequence[str | os.PathLike], outs: Sequence[str | os.PathLike],
             fit_raws: Sequence[Mapping], K: int, threads: int | None = None,
             spectra: Sequence[str] | None = None, log_path: str | None = None,
             checkpoint: str | os.PathLike | None = None) -> list[str]:
    """Fit K peaks to several preprocessed spectra in one process (a batch job) and write one
    store per spectrum, each identical to what :func:`fit_one` writes for it alone.

    Spectra whose fit settings (sampler, noise) agree are sampled together: on the Numba backend
    all their (spectrum, chain) tasks share one thread pool; on the array backends spectra that
    also share an axis, model and priors run as one vectorised batch. Seeds are per spectrum
    (SeedSequence(seed, spawn_key=(K, chain))), so batch-mates never change a spectrum's numbers.
    A bayespec error in one spectrum writes its marker; the others are fitted. Returns the
    statuses (same order).
    ``checkpoint``: a file outside the job's outputs (Snakemake deletes the outputs of a failed
    job) for the sampler state (numba backend; ``.g{n}`` is added per settings group when there
    are several): a rerun after a kill resumes from it, one left by another config or batch is
    ignored (logged), and it is deleted once the group's stores are written. SIGTERM writes it
    and raises errors.FitInterrupted (the job fails; rerun it to resume)."""
    from .checkpoint import remove as remove_checkpoint
    from .inference.fit import fit_problems, resolve_backend, settings_from_config
    from .store import write_fit
    from .summary import predictive_band

    K = int(K)
    sids = list(spectra) if spectra is not None else [Path(o).parent.name for o in outs]
    status: list[str | None] = [None] * len(outs)
    todo: dict[str, list[tuple[int, Any, Any]]] = {}  # settings -> [(index, cfg, problem)]
    for i, (src, out, raw, sid) in enumerate(zip(srcs, outs, fit_raws, sids)):
        if not is_ok(read_status(src)):
            status[i] = _propagate(src, out, sid, K=K)
            continue
        _clean_stale(Path(out))
        try:
            cfg, prob = _fit_problem(src, raw, K, sid)
        except BayespecError as e:
            status[i] = _error_status(e)
            log.error("%s K=%d: fit failed: %s", sid, K, status[i])
            write_marker(out, status[i], spectrum=sid, stage="fit", log=log_path, K=K)
            continue
        settings = dataclasses.replace(settings_from_config(cfg), threads=threads)
        todo.setdefault(repr(settings), []).append((i, cfg, prob))
    for g, group in enumerate(todo.values()):
        settings = dataclasses.replace(settings_from_config(group[0][1]), threads=threads)
        ck = None
        if checkpoint is not None and resolve_backend(settings.backend) == "numba":
            ck = Path(checkpoint) if len(todo) == 1 else Path(checkpoint).with_suffix(f".g{g}.npz")
        try:
            fits = fit_problems([prob for _, _, prob in group], settings,
                                json.loads(json.dumps(group[0][1].raw)), checkpoint=ck,
                                restart_on_mismatch=True)
        except BayespecError as e:  # e.g. backend cupy without a GPU: every spectrum of it
            for i, _, _ in group:
                status[i] = _error_status(e)
                log.error("%s K=%d: fit failed: %s", sids[i], K, status[i])
                write_marker(outs[i], status[i], spectrum=sids[i], stage="fit", log=log_path,
                             K=K)
            continue
        for (i, cfg, prob), fit in zip(group, fits):
            fit.config = json.loads(json.dumps(cfg.raw))
            rng = np.random.default_rng(np.random.SeedSequence(cfg.sampler.seed,
                                                               spawn_key=(K, 99)))
            fit.predictive = predictive_band(prob, fit, rng)
            if len(outs) > 1:
                fit.timing["batch_size"] = float(len(outs))
            write_fit(outs[i], fit)
            for w in fit.warnings:
                log.warning("%s: %s", sids[i], w)
            log.info("%s K=%d: F = %.4f +- %.4f, noise sd %.4g (%s), %d rungs, %.1f s", sids[i],
                     K, fit.free_energy, fit.free_energy_se, fit.noise_sd,
                     "estimated" if fit.noise_estimated else "given", len(fit.ladder.beta),
                     fit.timing.get("wall_seconds", float("nan")))
            status[i] = STATUS_OK
        remove_checkpoint(ck)
    return [str(s) for s in status]


# ============================================================================ select

def _selection_table(attrs: Sequence[Mapping]):
    """The model-selection table from the root attrs of a spectrum's fit stores."""
    import pandas as pd

    from .inference.freeenergy import model_probabilities

    rows = []
    for a in attrs:
        rows.append({"K": int(a["K"]), "free_energy": float(a["free_energy"]),
                     "free_energy_se": float(a["free_energy_se"]),
                     "noise_sd": float(a["noise_sd"])})
    df = pd.DataFrame(rows, columns=_SELECTION_COLUMNS[:-1]).sort_values("K")
    df = df.reset_index(drop=True)
    df["probability"] = model_probabilities(df["free_energy"].to_numpy())
    return df[_SELECTION_COLUMNS]


def select(stores: Sequence[str | os.PathLike], table_out: str | os.PathLike,
           peaks_out: str | os.PathLike, info_out: str | os.PathLike, spectrum: str,
           log_path: str | None = None) -> dict:
    """Gather every K of one spectrum: ``table_out`` (model_selection.csv, as ``bayespec fit``
    writes it: K, free_energy, free_energy_se, noise_sd, probability), ``peaks_out`` (peak table
    of the selected K: one row per peak and quantity with mean, sd, 2.5/50/97.5 % quantiles and
    MAP) and ``info_out`` (JSON: status, selected K, p(K|D), noise, F, warnings, failed stage
    and log). A spectrum with any failed K is failed (its tables have headers only)."""
    import pandas as pd

    from .inference.selection import format_table

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
        _write_text(table_out, format_table(pd.DataFrame(columns=_SELECTION_COLUMNS)))
        _write_text(peaks_out, pd.DataFrame(columns=peak_cols).to_csv(sep="\t", index=False))
        _write_text(info_out, json.dumps(info, indent=1, default=_json_default) + "\n")
        return info
    from .store import read_fit
    from .summary import peak_table

    attrs = [a for a, _ in read]
    table = _selection_table(attrs)
    i = int(table["probability"].to_numpy().argmax())
    best = table.iloc[i]
    K = int(best["K"])
    store = next(s for s, a in zip(stores, attrs) if int(a["K"]) == K)
    tree = read_fit(store, groups=("posterior", "sample_stats"))
    shape = str(tree.attrs["shape"])
    peaks = peak_table(tree["posterior"].to_dataset(), np.asarray(tree["sample_stats"]["lp"]),
                       shape)
    peaks.insert(0, "K", K)
    peaks.insert(0, "spectrum", spectrum)
    warns = []
    for a in attrs:
        try:
            warns += json.loads(a.get("warnings", "[]"))
        except (TypeError, ValueError):
            pass
    info.update(K=K, probability=float(best["probability"]), noise_sd=float(best["noise_sd"]),
                free_energy=float(best["free_energy"]),
                free_energy_se=float(best["free_energy_se"]),
                noise_estimated=bool(tree.attrs.get("noise_estimated")), shape=shape,
                warnings=warns)
    _write_text(table_out, format_table(table))
    _write_text(peaks_out, peaks[peak_cols].to_csv(sep="\t", index=False, float_format="%.6g"))
    _write_text(info_out, json.dumps(info, indent=1, default=_json_default) + "\n")
    log.info("%s: selected K = %d, p(K|D) = %.4f, noise sd %.4g\n%s", spectrum, K,
             info["probability"], info["noise_sd"], table.to_string(index=False))
    return info


def fit_priority(wildcards: Any) -> int:
    """Snakemake priority of a fit job: its K (wildcard). A fit's run time grows with K, so
    the largest K start first (longest job first) and a campaign does not end on one long fit."""
    return int(wildcards.K)


# ============================================================================ summarise

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
    ``peak{k}_{q}_hi``. With ``integration`` (results/integration.tsv, one row per group) the
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
    for ip, pp in zip(infos, peaks):
        info = json.loads(Path(ip).read_text(encoding="utf-8"))
        sid = info["spectrum"]
        r: dict[str, Any] = {"spectrum": entry_name(sid), "K": info.get("K"),
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
        if is_ok(str(info.get("status"))):
            pt = pd.read_csv(pp, sep="\t")
            for (k, q), g in pt[pt["peak"] >= 0].groupby(["peak", "quantity"]):
                if q in _PEAK_QUANTITIES:
                    row = g.iloc[0]
                    base = f"peak{int(k) + 1}_{q}"
                    r[base] = float(row["mean"])
                    r[base + "_lo"] = float(row["q2.5"])
                    r[base + "_hi"] = float(row["q97.5"])
        recs.append(r)
    df = pd.DataFrame(recs)
    lead = [c for c in ("spectrum", "K", "probability", "noise_sd", "status", "true_K", "group",
                        "group_verdict", "group_delta", "group_delta_se", "free_energy", "free_energy_se", "warnings", "log") if c in df.columns]
    npk = max([int(m.group(1)) for c in df.columns if (m := re.match(r"peak(\d+)_", c))] or [0])
    peak_cols = [f"peak{k}_{q}{s}" for k in range(1, npk + 1) for q in _PEAK_QUANTITIES
                 for s in ("", "_lo", "_hi")]
    df = df.reindex(columns=lead + [c for c in peak_cols if c in df.columns])
    for c in ("K", "true_K", "warnings"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("Int64")
    for c in df.columns:
        if c not in ("spectrum", "status", "group", "group_verdict", "log", "K", "true_K",
                     "warnings"):
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    df["status"] = df["status"].astype(str).map(one_line)
    _write_text(out_tsv, df.to_csv(sep="\t", index=False, float_format="%.6g"))
    if out_parquet is not None:
        _write_file_atomic(out_parquet, lambda p: df.to_parquet(p, index=False))
    nfail = int((df["status"] != STATUS_OK).sum())
    log.info("summary of %d spectra, %d failed:\n%s", len(df), nfail,
             df[lead].to_string(index=False))
    return df


# ============================================================================ figures

def _save_atomic(fig, stem: Path) -> list[Path]:
    """plots.save to a temporary stem, then rename each file into place."""
    from .plots import save

    stem.parent.mkdir(parents=True, exist_ok=True)
    tmp = _sibling(stem, "tmp")
    out = []
    for p in save(fig, tmp):
        dest = stem.parent / (stem.name + p.suffix)
        os.replace(p, dest)
        out.append(dest)
    return out


def _placeholder(title: str, text: str):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3))
    FigureCanvasAgg(fig)
    fig.text(0.5, 0.62, title, ha="center", fontsize=12)
    import textwrap

    fig.text(0.5, 0.45, "\n".join(textwrap.wrap(text, 95)), ha="center", va="top", fontsize=8,
             color="C3")
    return fig


def spectrum_figures(spectrum: str, stores: Sequence[str | os.PathLike],
                     table: str | os.PathLike, info: str | os.PathLike,
                     out_dir: str | os.PathLike) -> list[Path]:
    """The five figures of one spectrum in ``out_dir`` as PNG and PDF: ``fit`` and
    ``positions`` (selected K), ``free_energy`` (F vs K), ``noise`` (F vs noise sd along the
    ladder, all K) and ``swap`` (swap acceptance per rung, all K). A failed spectrum gets
    placeholder figures that show its status line."""
    import pandas as pd

    from . import plots
    from .store import read_fit

    out_dir = Path(out_dir)
    meta = json.loads(Path(info).read_text(encoding="utf-8"))
    paths: list[Path] = []
    if not is_ok(str(meta.get("status"))):
        for name in FIGURES:
            fig = _placeholder(f"{spectrum}: no {name.replace('_', ' ')} figure",
                               str(meta.get("status")))
            paths += _save_atomic(fig, out_dir / name)
        log.warning("%s: failed spectrum, placeholder figures: %s", spectrum, meta.get("status"))
        return paths
    trees = {int(t.attrs["K"]): t for t in (read_fit(s) for s in stores)}
    sel = int(meta["K"])
    figs = {
        "fit": plots.fit_figure(trees[sel]),
        "free_energy": plots.free_energy_figure(pd.read_csv(table)),
        "noise": plots.noise_figure(list(trees.values())),
        "positions": plots.positions_figure(trees[sel]),
        "swap": plots.swap_figure(list(trees.values())),
    }
    figs["fit"].suptitle(spectrum, fontsize=10)
    figs["free_energy"].suptitle(spectrum, fontsize=10)
    for name in FIGURES:
        paths += _save_atomic(figs[name], out_dir / name)
    log.info("%s: wrote %s", spectrum, ", ".join(str(p) for p in paths))
    return paths


def campaign_figures(summary_tsv: str | os.PathLike, stem: str | os.PathLike) -> list[Path]:
    """The campaign overview (selected K vs true K, p(K|D), noise sd; failures marked) as
    ``stem``.png and ``stem``.pdf."""
    import pandas as pd

    from .plots import campaign_figure

    df = pd.read_csv(summary_tsv, sep="\t", keep_default_na=True)
    paths = _save_atomic(campaign_figure(df), Path(stem))
    log.info("campaign overview of %d spectra: %s", len(df), ", ".join(map(str, paths)))
    return paths


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

