"""Real data: the Au 4f XPS spectrum of clean gold (tests/data/xps-au4f, MIT), Poisson counts.

What is asserted is what the data decide robustly (the model is inadequate in detail, see the
README section "Real data: Au 4f XPS"): the two largest components are the spin-orbit pair
4f7/2 and 4f5/2, split by 3.67 +- 0.05 eV, with an area ratio 4f5/2 : 4f7/2 in [0.60, 0.80].
"""

from pathlib import Path

import numpy as np

from bayespec.config import load_fit_config, with_overrides
from bayespec.inference.fit import fit_problems, settings_from_config
from bayespec.io.spectrum import read_spectrum
from bayespec.models.model import build_problem
from bayespec.models.shapes import SHAPES

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "xps-au4f" / "clean_Au_4f.csv"
CONFIG = ROOT / "examples" / "au4f" / "fit.yaml"
SPLIT, SPLIT_TOL, RATIO = 3.67, 0.05, (0.60, 0.80)


def _fit(shape, K, drop=()):
    cfg = with_overrides(load_fit_config(CONFIG), model={"shape": shape, "K": [K]},
                         priors={k: None for k in drop},
                         sampler={"burn_in": 600, "sweeps": 400, "chains": 2, "threads": 2,
                                  "thin": 2, "seed": 1})
    spec = read_spectrum(DATA)
    m = cfg.model
    prob = build_problem(spec.x, spec.y, spec.sd, m.shape, K, m.background, m.degree, cfg.priors,
                         str(DATA), likelihood=m.likelihood, shirley=m.shirley)
    [fit] = fit_problems([prob], settings_from_config(cfg))
    return fit


def _check(split, ratio):
    # posterior means, and the posterior is narrow enough that the bounds mean something
    assert abs(split.mean() - SPLIT) < SPLIT_TOL and split.std() < SPLIT_TOL, \
        (split.mean(), split.std())
    assert RATIO[0] < ratio.mean() < RATIO[1] and ratio.std() < 0.05, (ratio.mean(), ratio.std())


def test_au4f_doublet_poisson():
    fit = _fit("doublet_asym_pseudo_voigt", 1)
    assert fit.likelihood == "poisson"
    post = fit.posterior
    # the splitting prior is U(-4.5, -3.0) on the kinetic-energy axis, so the data place it
    _check(-post["splitting"][..., 0].ravel(), post["ratio"][..., 0].ravel())
    assert abs(post["center"][..., 0].mean() - 92.35) < 0.05  # 4f7/2 (kinetic energy, eV)


def test_au4f_symmetric_singlets_two_largest():
    """Two free symmetric pseudo-Voigts (no splitting or ratio imposed): the larger is 4f7/2,
    the other 4f5/2, at the right distance and area ratio despite the misfit."""
    fit = _fit("pseudo_voigt", 2, drop=("asym", "splitting", "ratio"))
    post = fit.posterior
    a, w = (post[k].reshape(-1, 2) for k in ("amplitude", "width"))
    area = SHAPES["pseudo_voigt"].area(a, w, post["eta"].reshape(-1, 2)[..., None])
    c = post["center"].reshape(-1, 2)
    order = np.argsort(-area, axis=1)
    big, second = order[:, 0:1], order[:, 1:2]
    split = (np.take_along_axis(c, big, 1) - np.take_along_axis(c, second, 1))[:, 0]
    ratio = (np.take_along_axis(area, second, 1) / np.take_along_axis(area, big, 1))[:, 0]
    _check(split, ratio)
