"""The campaign workflow in one import: the public names of the stage modules of
:mod:`bayespec.workflow`, for the Snakefile (workflow/rules/common.smk), the rule scripts and
the tests.

The Snakemake workflow runs one function per rule stage; each lives in its own module:

==================  ===========================================================================
module              what
==================  ===========================================================================
``manifest``        manifest and config checks, :class:`Campaign` (rows, ids, fit configs, the
                    parameters of every job), ``--configfile`` repair, schema error messages
``paths``           the output file names, defined once
``markers``         statuses, error markers, atomic writes, the job log (:func:`logged`)
``demo``            demo data: noisy spectra from known parameters
``ingest``          raw file -> Zarr dataset (any reader format)
``preprocess``      crop, bin, subtract, normalise
``fit``             one K per job (:func:`fit_one`), or a batch (:func:`fit_many`)
``select``          every K of a spectrum -> model selection, peak table
``summarise``       the campaign table; the end-of-run report
``figures``         per-spectrum figures and the campaign overview
``batching``        several spectra per job (config ``batch_size``)
``campaign_integrate``  integration groups (manifest column ``group``)
==================  ===========================================================================

The rule scripts in ``scripts/`` are thin: they read ``snakemake.input``/``params``, call one
function and write ``snakemake.output``. **Failures are data, not crashes**: a spectrum that
cannot be read, cropped or fitted gets an error marker instead of its output (see
:mod:`bayespec.workflow.markers`); the campaign table's ``status`` column shows the one line and
the workflow's ``onsuccess`` handler counts the failures (:func:`failure_report`).

Heavy imports (numba, xarray, zarr, matplotlib) happen inside the functions, so checking a
config or propagating a marker stays cheap.
"""

from __future__ import annotations

from ..ids import ENTRY_PATTERN, ID_PATTERN, entry_name
from ..io.readers.columns import read_columns
from .demo import demo_curve, write_demo_csv
from .figures import campaign_figures, spectrum_figures
from .fit import fit_many, fit_one, fit_priority
from .ingest import ingest, read_source
from .manifest import (FORMATS, GPU_BACKENDS, MANIFEST_COLUMNS, NORMALISATIONS, REPLACE_WHOLE,
                       STAGES, Campaign, load_manifest, replace_whole, schema_error_message)
from .markers import (STATUS_OK, is_ok, logged, one_line, read_status, write_dataset_atomic,
                      write_marker)
from .paths import FIGURES
from .preprocess import preprocess
from .select import select
from .summarise import error_hint, failure_report, summarise

__all__ = [
    "ID_PATTERN", "ENTRY_PATTERN", "entry_name", "STATUS_OK", "STAGES", "FORMATS",
    "NORMALISATIONS", "GPU_BACKENDS", "FIGURES",
    "MANIFEST_COLUMNS", "REPLACE_WHOLE", "Campaign", "load_manifest", "replace_whole",
    "schema_error_message", "demo_curve", "write_demo_csv", "read_columns", "read_source",
    "ingest", "preprocess", "fit_one", "select", "summarise", "spectrum_figures",
    "campaign_figures", "failure_report", "error_hint", "read_status", "is_ok",
    "write_marker", "write_dataset_atomic", "one_line", "logged",
    "fit_many", "fit_priority",
]
