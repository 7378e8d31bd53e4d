"""What every stage writes and reads besides its data: statuses, error markers, atomic writes
and the job log.

**Failures are data, not crashes.** A spectrum that cannot be read (or cropped, or fitted because
of a bayespec error) does not fail its job: the stage writes an *error marker* in place of its
output — a small Zarr group whose root attrs hold ``status = "error: <one line naming file and
line>"``, the ``stage`` and the ``log`` that has the cause — and every later stage copies the
marker on cheaply (:func:`_propagate`). Other exceptions (bugs, out of memory) still fail the
job so they are not mistaken for bad data. Everything a rule writes is written atomically
(temporary sibling, then rename), so an interrupted job never leaves a half-written store.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import BayespecError, DataError
from ..io.store import _sibling
from ..io.zarrio import load_tree, root_attrs, write_tree

log = logging.getLogger("bayespec.campaign")
STATUS_OK = "ok"


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
    from ..io.store import write_table_atomic

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
    :func:`bayespec.io.store.read_fit` refuses it as a fit."""
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
