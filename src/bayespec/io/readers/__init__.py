"""Spectrum readers, one small module per file format, behind one registry.

Every reader returns a :class:`Record` (x increasing, y, optional per-point sd, units and a
metadata dict that ingest stores in the dataset's attrs) or raises a one-line DataError naming
the file and the line (text formats) or the dataset path (HDF5).

Formats (manifest ``format`` column; empty = by extension, see :data:`EXTENSIONS`):

============  =====================================  ==============================================
format        extensions                             reader
============  =====================================  ==============================================
xy            .csv .tsv .txt .dat (and unknown)      x, y[, sd] text columns (bayespec.io.spectrum)
columns       --                                     named/numbered columns with a header line
                                                     (:mod:`.columns`)
diffraction   .xy .xye .chi                          2-theta or Q, intensity[, sd]; units from a
                                                     Fit2D/pyFAI header (:mod:`.diffraction`)
xdi           .xdi                                   XAS Data Interchange 1.0; mu from a column,
                                                     transmission or fluorescence (:mod:`.xdi`)
nexus         .nxs .nx5 .h5 .hdf5 .hdf               NeXus NXdata; a 2-D signal is a stack of
                                                     spectra, one per row (:mod:`.nexus`)
gse_mca       .mca                                   GSE MCA multi-element fluorescence counts
                                                     (eV); a stack, one spectrum per detector
                                                     element, or their sum (:mod:`.gse_mca`)
============  =====================================  ==============================================
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...models.likelihood import check_counts  # noqa: F401 - re-exported: readers check counts too

__all__ = ["Record", "FORMATS", "EXTENSIONS", "OPTIONS", "detect_format", "check_options", "read",
           "stack_size",
           "check_counts"]


@dataclasses.dataclass
class Record:
    """One spectrum read from a file: float64 arrays of shape (n,), ``x`` strictly increasing,
    ``sd`` None when the file has no uncertainties; units as the file states them ('' if
    unknown); ``metadata`` holds JSON-able values (header fields, dataset paths, stack index)."""

    x: np.ndarray
    y: np.ndarray
    sd: np.ndarray | None
    path: str
    x_units: str = ""
    y_units: str = ""
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    reversed: bool = False  # the file's axis was decreasing and was reversed to increasing

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    def to_spectrum(self):
        """As a :class:`bayespec.io.spectrum.Spectrum` (what ``bayespec fit`` reads)."""
        from ..spectrum import Spectrum

        return Spectrum(x=self.x, y=self.y, sd=self.sd, path=self.path, reversed=self.reversed)


def _xy(path: str, **_: Any) -> Record:
    from ..spectrum import read_text, parse_columns

    s = parse_columns(path, read_text(path))
    return Record(s.x, s.y, s.sd, path, reversed=s.reversed)


def _columns(path: str, x_col=None, y_col=None, sd_col=None, **_: Any) -> Record:
    from .columns import read_columns

    if x_col is None or y_col is None:
        raise ConfigError(f"{path}: format 'columns' needs x_col and y_col (a header name or a "
                          f"1-based column number)")
    s = read_columns(path, x_col, y_col, sd_col)
    return Record(s.x, s.y, s.sd, path, metadata={"x_col": x_col, "y_col": y_col,
                                                  **({"sd_col": sd_col} if sd_col else {})},
                  reversed=s.reversed)


def _diffraction(path: str, **_: Any) -> Record:
    from .diffraction import read_diffraction

    return read_diffraction(path)


def _xdi(path: str, mu: str | None = None, **_: Any) -> Record:
    from .xdi import read_xdi

    return read_xdi(path, mu=mu)


def _nexus(path: str, index: int | None = None, nxdata: str | None = None, **_: Any) -> Record:
    from .nexus import read_nexus

    return read_nexus(path, index=index, nxdata=nxdata)


def _gse_mca(path: str, index: int | None = None, sum_elements: Any = None, **_: Any) -> Record:
    from .gse_mca import read_gse_mca

    return read_gse_mca(path, index=index, sum_elements=sum_elements)


#: format name -> reader(path, **options) -> Record
FORMATS: dict[str, Callable[..., Record]] = {
    "xy": _xy, "columns": _columns, "diffraction": _diffraction, "xdi": _xdi, "nexus": _nexus,
    "gse_mca": _gse_mca,
}
#: the options each format accepts (manifest columns of the same names)
OPTIONS: dict[str, tuple[str, ...]] = {
    "xy": (), "columns": ("x_col", "y_col", "sd_col"), "diffraction": (), "xdi": ("mu",),
    "nexus": ("index", "nxdata"), "gse_mca": ("index", "sum_elements"),
}
#: lower-case file extension -> format
EXTENSIONS: dict[str, str] = {
    ".csv": "xy", ".tsv": "xy", ".txt": "xy", ".dat": "xy",
    ".xy": "diffraction", ".xye": "diffraction", ".chi": "diffraction",
    ".xdi": "xdi",
    ".nxs": "nexus", ".nx5": "nexus", ".h5": "nexus", ".hdf5": "nexus", ".hdf": "nexus",
    ".mca": "gse_mca",
}


def detect_format(path: str | Path, fmt: str | None = None) -> str:
    """``fmt`` when given (checked), else the format of ``path``'s extension, else ``xy``."""
    if fmt:
        if fmt not in FORMATS:
            close = difflib.get_close_matches(str(fmt), FORMATS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"{path}: format {fmt!r} is unknown; {hint}choose one of "
                              f"{', '.join(FORMATS)} (or leave it empty to go by the extension)")
        return fmt
    return EXTENSIONS.get(Path(path).suffix.lower(), "xy")


def check_options(path: str, fmt: str, options: dict[str, Any]) -> dict[str, Any]:
    given = {k: v for k, v in options.items() if v is not None}
    bad = [k for k in given if k not in OPTIONS[fmt]]
    if bad:
        users = {k: [f for f, o in OPTIONS.items() if k in o] for k in bad}
        which = "; ".join(f"{k} is for format {' or '.join(v) or 'none'}" for k, v in users.items())
        raise ConfigError(f"{path}: {', '.join(bad)}: not used by format {fmt!r} ({which}); "
                          f"remove it (manifest cell or command-line option) or set the format")
    return given


def read(path: str | Path, fmt: str | None = None, **options: Any) -> Record:
    """Read one spectrum from ``path`` with format ``fmt`` (None: by extension) and the format's
    options (None values are ignored). DataError for bad data, ConfigError for bad options."""
    p = str(path)
    f = detect_format(p, fmt)
    rec = FORMATS[f](p, **check_options(p, f, options))
    rec.metadata.setdefault("format", f)
    return rec


def stack_size(path: str | Path, fmt: str | None = None, **options: Any) -> int | None:
    """Number of spectra in a stack file (a NeXus 2-D signal: its rows; a multi-element GSE MCA
    file: its elements), None for a file that holds one spectrum. DataError when the file
    cannot be opened."""
    p = str(path)
    f = detect_format(p, fmt)
    if f == "gse_mca":
        from .gse_mca import gse_mca_stack_size

        return gse_mca_stack_size(p, check_options(p, f, options).get("sum_elements"))
    if f != "nexus":
        return None
    from .nexus import nexus_stack_size

    opts = check_options(p, f, options)
    return nexus_stack_size(p, nxdata=opts.get("nxdata"))
