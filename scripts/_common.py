"""Shared by the rule scripts: the stage modules of :mod:`bayespec.workflow` (one per rule:
ingest, preprocess, fit, ...; markers has ``logged``, the job log), from the installed package
(the .venv, or an activated conda env made from envs/bayespec.yaml plus
``pip install --no-deps -e .``), else from the source tree beside scripts/ (a per-rule conda env
made by ``--software-deployment-method conda`` has the pinned dependencies but not bayespec)."""

import importlib.util
import sys
from pathlib import Path

if importlib.util.find_spec("bayespec") is None:  # pragma: no cover - conda per-rule envs
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bayespec.ids import entry_name  # noqa: E402
from bayespec.workflow import (batching, campaign_integrate, demo, figures, fit,  # noqa: E402
                               ingest, markers, preprocess, select, series,
                               summarise)

__all__ = ["batching", "campaign_integrate", "demo", "entry_name", "figures", "fit", "ingest",
           "markers", "preprocess", "select", "series", "summarise"]
