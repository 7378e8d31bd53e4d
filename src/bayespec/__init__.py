"""bayespec: Bayesian spectral deconvolution by exchange Monte Carlo.

``bayespec.fit(x, y, config)`` and ``bayespec.integrate(group)`` are the Python API (see
:mod:`bayespec.api`). They are thin wrappers here so that ``import bayespec`` stays fast: the
sampler (Numba), xarray and matplotlib load on the first call.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["fit", "integrate", "__version__"]


def fit(x: Any, y: Any, config: Any = None, sd: Any = None, *, progress: Any = None) -> Any:
    """Fit every K of ``config`` (a FIT.yaml mapping or path; None: defaults) to the spectrum
    (x, y[, sd]) and select K by the free energy, as ``bayespec fit``; returns a
    :class:`bayespec.api.FitResult` (``.table``, ``.best``, ``.summary()``, ``.plot()``,
    ``.posterior()``, ``.write(dir)``). Full description: :func:`bayespec.api.fit`."""
    from .api import fit as _fit

    return _fit(x, y, config, sd, progress=progress)


def integrate(group: Any, *, base: Any = None, spectra: Any = None, progress: Any = None) -> Any:
    """Fit a group of data sets separately and jointly (a GROUP.yaml path or mapping), as
    ``bayespec integrate``; returns a :class:`bayespec.api.IntegrateResult` (``.table``,
    ``.verdict``, ``.summary()``, ``.plot()``, ``.write(dir)``). Full description:
    :func:`bayespec.api.integrate`."""
    from .api import integrate as _integrate

    return _integrate(group, base=base, spectra=spectra, progress=progress)
