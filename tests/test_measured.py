"""The four measured spectra of examples/measured (issue 13): every example config is a valid
FIT.yaml for its data, the data load as their SOURCE.md describes, and the Fe foil alignment
lands the foil's edge on the nominal 7112 eV.

Not here yet, on purpose: physics assertions from short runs. Measured on this machine (README
"Measured spectra"), a short run of the Fe pre-edge with two components has R-hat 1.06-1.28 and
puts one component on the edge's foot instead of the t2g / eg pair, so a test of the 1.2-1.6 eV
spacing would pass or fail by chance; the tests come with the coupled-parameter moves that make
these fits converge (the note of issue 13 lists what is left).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "measured"))
import spectra  # noqa: E402

from bayespec.config import load_fit_config  # noqa: E402


@pytest.mark.parametrize("name", spectra.NAMES)
def test_examples_are_valid(name):
    from bayespec.inference.runner import composite_candidates
    from bayespec.io.spectrum import Spectrum

    cfg = load_fit_config(spectra.HERE / f"{name}.yaml")
    x, y, _ = spectra.load(name)
    assert x.size > 40 and np.all(np.diff(x) > 0) and np.all(np.isfinite(y))
    # every candidate binds to the data (priors, ties, counts checked as a fit would)
    cands = composite_candidates(Spectrum(x=x, y=y, sd=None, path=name), cfg, name)
    assert len(cands) >= 2


def test_foil_alignment():
    """The foil's maximum of dmu/dE lands on the nominal 7112 eV after the shift (about +1)."""
    assert 0.5 < spectra.foil_shift() < 1.5
