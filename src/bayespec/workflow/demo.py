"""The demo generator: noisy spectra from known parameters (config ``demo.spectra``) for the
manifest rows whose path is ``<results>/demo_data/<id>.csv``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .markers import _write_text


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
