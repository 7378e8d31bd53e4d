"""The campaign: the manifest (spectra.tsv) and the workflow config, checked and resolved into
a :class:`Campaign` (rows keyed by spectrum id, each with its fit config, preprocessing and
ingest parameters), plus the config repair for ``--configfile`` (:func:`replace_whole`) and the
schema error messages. Heavy imports happen inside the functions, so checking a config stays
cheap (the Snakefile builds the Campaign at parse time).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import functools
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError
from ..ids import ID_PATTERN
from . import paths
from .markers import log, one_line

#: spectrum ids and file keys (``id@index`` for row ``index`` of a stack file, shown as
#: ``id[index]``): the one naming rule of bayespec.ids, shared with GROUP.yaml data sets
_ID_RE = re.compile(ID_PATTERN)
STAGES = ("ingest", "preprocess", "fit", "select")
FORMATS = ("xy", "columns", "diffraction", "xdi", "nexus", "gse_mca")  # = io.readers.FORMATS
STACK_FORMATS = ("nexus", "gse_mca")  # a file may hold several spectra: one entry per index
NORMALISATIONS = ("none", "max", "area")
#: sampler backends that run on a GPU: their fit jobs declare a ``gpu`` resource
GPU_BACKENDS = ("cupy",)
#: manifest columns the workflow reads; any other column is kept as metadata
MANIFEST_COLUMNS = ("id", "path", "format", "x_col", "y_col", "sd_col", "roi_min", "roi_max",
                    "x_units", "y_units", "group", "K", "shape", "likelihood", "priors",
                    "model", "noise_sd", "seed",
                    "true_K", "mu", "index", "nxdata", "binding_energy", "bin", "subtract",
                    "normalise", "series", "order")
#: what a model set (config model_sets, a row's model column) replaces in the fit block
MODEL_SET_KEYS = ("model", "priors", "ties", "offsets")
#: manifest columns that override the config's preprocess block for one spectrum
_PREPROCESS_COLS = ("roi_min", "roi_max", "binding_energy", "bin", "subtract", "normalise")
_INT_COLS = ("seed", "true_K", "bin")
_FLOAT_COLS = ("roi_min", "roi_max", "noise_sd", "binding_energy", "order")
_INT_OR_STR_COLS = ("K", "x_col", "y_col", "sd_col", "index")


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
        c._check_series()
        return c

    def _check_series(self) -> None:
        """Every series' members have distinct numeric orders (a stack: its indices); warm
        starts need one spectrum per fit job and the numba backend."""
        if self.warm_start:
            if int(self.config.get("batch_size", 1)) != 1:
                raise ConfigError("config: series.warm_start needs batch_size: 1 (each frame "
                                  "waits for the fit of the frame before it)")
            if self.backend != "numba":
                raise ConfigError(f"config: series.warm_start runs on the numba backend only "
                                  f"(backend is {self.backend}); set backend: numba or "
                                  f"series.warm_start: false")
        by: dict[str, dict[float, str]] = {}
        for key, r in self.rows.items():
            name = self.series_of(key)
            where = f"{self.manifest_path}: id {r['id']!r}"
            if name is None:
                if r.get("order") is not None:
                    raise ConfigError(f"{where}: order: only used for rows of a series; set "
                                      f"the row's series or clear its order")
                continue
            o = self.order_of(key)
            if not _ID_RE.fullmatch(name):
                raise ConfigError(f"{where}: series: {name!r} is not allowed; series names "
                                  f"become file names (pattern {ID_PATTERN})")
            if o is None or isinstance(o, str) or not math.isfinite(o):
                raise ConfigError(f"{where}: order: a number is required for a row of series "
                                  f"{name!r} (its time, temperature or frame), got "
                                  f"{r.get('order')!r}")
            if o in by.setdefault(name, {}):
                raise ConfigError(f"{where}: order: {o:g} is also the order of "
                                  f"{self.rows[by[name][o]]['id']!r} in series {name!r}; orders "
                                  f"within a series must be distinct")
            by[name][o] = key

    @property
    def warm_start(self) -> bool:
        """Config ``series.warm_start``: frames start from their predecessor's draws."""
        return bool((self.config.get("series") or {}).get("warm_start", False))

    @property
    def warm_burn_in(self) -> int:
        """Config ``series.burn_in``: the burn-in of a warm-started fit."""
        return int((self.config.get("series") or {}).get("burn_in", 250))

    def warm_store(self, key: str, K: int | str) -> str | None:
        """With series.warm_start: the fit store of the same K of the frame before ``key`` in
        its series (None for a first frame, a frame outside a series, or when the previous
        frame does not fit that K)."""
        name = self.series_of(key) if self.warm_start else None
        if name is None:
            return None
        members = self.series[name]
        i = members.index(key)
        if i == 0 or str(K) not in [str(k) for k in self.Ks(members[i - 1])]:
            return None
        return paths.path(self.results, paths.FIT, id=members[i - 1], K=K)

    def series_of(self, key: str) -> str | None:
        """The series of entry ``key``: its ``series`` column, else the stack it comes from."""
        r = self.rows[key]
        return r.get("series") or r.get("_stack")

    def order_of(self, key: str) -> float | None:
        """The order of entry ``key`` in its series: a stack's index, else its ``order``."""
        r = self.rows[key]
        if r.get("_stack") is not None:
            return float(r["_index"])
        o = r.get("order")
        return o if o is None or isinstance(o, str) else float(o)

    @functools.cached_property
    def series(self) -> dict[str, list[str]]:
        """Series name -> its entries' keys sorted by order (manifest order of first
        appearance). Cached: the rules ask for it once per job, and the rows do not change
        after load."""
        out: dict[str, list[str]] = {}
        for key in self.rows:
            name = self.series_of(key)
            if name is not None:
                out.setdefault(name, []).append(key)
        return {n: sorted(ks, key=self.order_of) for n, ks in out.items()}

    def _entries(self, row: dict, line: int) -> dict[str, dict]:
        """The manifest entries of one row, by file key: the row itself, or for a stack file
        (a NeXus 2-D signal, a multi-element GSE MCA file) one entry per selected ``index``
        (row, detector element): key ``id@index``, shown as
        ``id[index]``. A stack that cannot be opened now stays one entry, so its ingest job
        reports the error and only that spectrum fails."""
        from ..io import readers

        rid = row["id"]
        where = f"{self.manifest_path}: line {line} (id {rid!r})"
        fmt = row["_format"]
        sel = row.get("index")
        size = None
        if fmt in STACK_FORMATS and Path(str(row["path"])).exists():
            opts = {"nxdata": row.get("nxdata")} if fmt == "nexus" else {}
            try:
                size = readers.stack_size(row["path"], fmt, **opts)
            except DataError as e:
                log.warning("%s: cannot open the file to list its spectra (%s); its ingest "
                            "will fail", where, e)
                if sel is None:
                    return {rid: row}
            if size is None and sel is not None:
                raise ConfigError(f"{where}: index: {sel!r} given but {row['path']} holds one "
                                  f"spectrum; clear the index")
        elif sel is not None and fmt not in STACK_FORMATS:
            raise ConfigError(f"{where}: index: only used with stack files (formats "
                              f"{', '.join(STACK_FORMATS)}); clear it")
        if size is None and sel is None:
            return {rid: row}
        idx = _stack_indices(sel, size, where)
        out = {}
        for i in idx:
            e = dict(row, id=f"{rid}[{i}]", _index=i, _stack=rid)
            out[f"{rid}@{i}"] = e
        return out

    def _check_config(self) -> None:
        from ..config import parse_fit_config

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
        for name, spec in (cfg.get("prior_sets") or {}).items():
            if not _ID_RE.fullmatch(str(name)):
                raise ConfigError(f"config: prior_sets: name {name!r} must match {ID_PATTERN}")
            try:
                self._with(self.base_fit, priors=spec)
            except ConfigError as e:
                raise ConfigError(f"config: prior_sets.{name}: {e}") from None
        for name, spec in (cfg.get("model_sets") or {}).items():
            if not _ID_RE.fullmatch(str(name)):
                raise ConfigError(f"config: model_sets: name {name!r} must match {ID_PATTERN}")
            if not isinstance(spec, dict) or "model" not in spec or \
                    set(spec) - set(MODEL_SET_KEYS):
                raise ConfigError(f"config: model_sets.{name}: must be a mapping with a model "
                                  f"block and optionally {', '.join(MODEL_SET_KEYS[1:])} (they "
                                  f"replace the fit block's), got keys {sorted(spec or {})}")
            self._with_model_set(self.base_fit, name, f"config: model_sets.{name}")
        x = (cfg.get("demo") or {}).get("x") or {}
        if x and not float(x.get("stop", 1)) > float(x.get("start", 0)):
            raise ConfigError(f"config: demo.x: stop ({x.get('stop')}) must be larger than start "
                              f"({x.get('start')})")

    @staticmethod
    def _with(base, source: str | None = None, **sections):
        from ..config import with_overrides

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
            if str(path).startswith(paths.path(self.results, paths.DEMO_DIR) + "/"):
                hint = (f"; the demo rule makes {self.demo_path(rid)} only when {rid!r} is "
                        f"listed under demo.spectra in the config")
            else:
                hint = f" (paths are relative to the working directory {Path.cwd()})"
            raise ConfigError(f"{where}: path: {path} does not exist{hint}")
        from ..io import preprocessing, readers

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
        mset = row.get("model")
        if mset is not None and mset not in (self.config.get("model_sets") or {}):
            names = ", ".join(self.config.get("model_sets") or {}) or "none defined"
            raise ConfigError(f"{where}: model: no model set {mset!r} under model_sets in the "
                              f"config (defined: {names})")
        pset = row.get("priors")
        if pset is not None and pset not in (self.config.get("prior_sets") or {}):
            names = ", ".join(self.config.get("prior_sets") or {}) or "none defined"
            raise ConfigError(f"{where}: priors: no prior set {pset!r} under prior_sets in the "
                              f"config (defined: {names})")
        try:
            cfg = self.fit_config_for(row)
        except ConfigError as e:
            raise ConfigError(f"{where}: {e}") from None
        row["_K"] = candidate_labels(cfg)

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
        return paths.path(self.results, paths.DEMO_CSV, id=sid)

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

    def Ks(self, sid: str) -> list[int | str]:
        """What is fitted to ``sid``, one fit job (and store K<K>.zarr) each: its numbers of
        peaks, or a composite model's candidates (labels '1-2': counts per component)."""
        return list(self.rows[sid]["_K"])

    def fit_config_for(self, row: dict):
        """The FitConfig of one manifest row: the config's fit block with the row's K, shape,
        likelihood, prior set, known noise sd and seed applied (validated by bayespec). A row
        with likelihood poisson drops the campaign's noise block (counts have no noise level
        to give or estimate)."""
        over: dict[str, dict] = {}
        src = f"{self.fit_source} + manifest row {row.get('id')!r}"
        base = self.base_fit
        if row.get("model") is not None:
            base = self._with_model_set(base, row["model"], src)
        if row.get("K") is not None:
            over.setdefault("model", {})["K"] = _K_value(row["K"])
        if row.get("shape") is not None:
            over.setdefault("model", {})["shape"] = row["shape"]
        if row.get("likelihood") is not None:
            over.setdefault("model", {})["likelihood"] = row["likelihood"]
            if row["likelihood"] == "poisson" and base.model.likelihood != "poisson":
                from ..config import parse_fit_config

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

    def _with_model_set(self, base, name: str, source: str):
        """``base`` with model set ``name`` (config model_sets) in place of its model, priors,
        ties and offsets (a set without priors: the data-scaled defaults)."""
        from ..config import parse_fit_config

        spec = (self.config.get("model_sets") or {})[name]
        raw = json.loads(json.dumps(base.raw))
        for k in MODEL_SET_KEYS:
            raw.pop(k, None)
            if spec.get(k) is not None:
                raw[k] = json.loads(json.dumps(spec[k]))
        if raw.get("model", {}).get("likelihood") == "poisson":
            raw.pop("noise", None)  # counts have no noise level to give or estimate
        return parse_fit_config(raw, source)

    def fit_config(self, sid: str):
        return self.fit_config_for(self.rows[sid])

    def fit_params(self, sid: str, K: int) -> dict:
        """The FIT.yaml mapping one (spectrum, K) job fits with (model.K = [K]); a rule param,
        so editing the config reruns exactly the jobs it changes."""
        raw = json.loads(json.dumps(self.fit_config(sid).raw))
        if "components" not in raw["model"]:  # a composite job keeps every count range: its
            raw["model"]["K"] = [int(K)]  # candidate is the wildcard K (fit.fit_many)
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
        """The preprocessing keys of one spectrum (bayespec.io.preprocessing.KEYS, defaults filled
        in): the config's preprocess block, overridden by the manifest row's columns."""
        from ..io.preprocessing import check_params

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
        return [paths.path(self.results, paths.FIT, id=sid, K=K) for K in self.Ks(sid)]

    def figure_files(self, sid: str) -> list[str]:
        return [paths.path(self.results, paths.FIGURE, id=sid, figure=n, ext=e)
                for n in paths.FIGURES for e in paths.FIGURE_TYPES]

    def final_outputs(self) -> list[str]:
        """Everything ``rule all`` asks for."""
        R = self.results
        out = [paths.path(R, paths.SUMMARY_TSV), paths.path(R, paths.SUMMARY_PARQUET),
               *(paths.path(R, paths.CAMPAIGN_FIGURE, ext=e) for e in paths.FIGURE_TYPES)]
        for sid in self.ids:
            out += [paths.path(R, paths.MODEL_SELECTION, id=sid),
                    paths.path(R, paths.SELECT_PEAKS, id=sid)]
            if self.config.get("spectrum_figures", True):
                out += self.figure_files(sid)
        for name in self.series:
            out += self.series_files(name)
        return out

    def series_files(self, name: str) -> list[str]:
        """The outputs of series ``name``: trends (TSV, Parquet), changes and the figure."""
        R = self.results
        return [paths.path(R, paths.SERIES_TRENDS, series=name),
                paths.path(R, paths.SERIES_PARQUET, series=name),
                paths.path(R, paths.SERIES_CHANGES, series=name),
                *(paths.path(R, paths.SERIES_FIGURE, series=name, ext=e)
                  for e in paths.FIGURE_TYPES)]


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


def candidate_labels(cfg) -> list[int | str]:
    """The fit jobs of a FitConfig: its K values, or for a composite model the labels of its
    candidates (counts per component joined by '-', the product of the count ranges in model
    order), as K<label>.zarr names them."""
    import itertools

    comps = cfg.model.components
    if not comps:
        return list(cfg.model.K)
    return ["-".join(map(str, ks)) for ks in itertools.product(*[c.K for c in comps])]

