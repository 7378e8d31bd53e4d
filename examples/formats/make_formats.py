"""Regenerate the mixed-format example campaign's files from known peaks (fixed seeds):

- xps.csv      CSV, kinetic energy 10 -> 7 (decreasing), one Gaussian peak at binding energy
               1.5 on an exact Shirley step 0.2 -> 0.5; the manifest converts to binding energy
               (binding_energy = 10) and subtracts the Shirley background. K = 1.
- pattern.xye  pyFAI-style 2-theta / intensity / sigma, two Gaussian peaks on 100 counts,
               Gaussian noise of sd sqrt(intensity). K = 2.
- cu.xdi       XDI 1.0 transmission scan (energy, i0, itrans): mu = ln(i0/itrans) is a pre-edge
               Gaussian peak on a flat 0.3 plus noise. K = 1.
- series.nxs   NeXus NXdata stack: 3 patterns (time 0, 60, 120 s) on one Q axis with errors;
               two peaks, the second growing. K = 2 for every row.

    python examples/formats/make_formats.py [OUTDIR]     (default: beside this script)

Text numbers are written with repr, so the readers return exactly the generated arrays.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy.special import erf

N = 121


def gauss(x, a, c, s):
    return a * np.exp(-((x - c) ** 2) / (2 * s ** 2))


def xps(out: Path) -> None:
    be = np.linspace(0.0, 3.0, N)  # binding energy, increasing
    a, c, s, ya, yb = 1.0, 1.5, 0.12, 0.2, 0.5
    frac = 0.5 * (erf((be - c) / (np.sqrt(2) * s)) - erf((0 - c) / (np.sqrt(2) * s)))
    y = ya + (yb - ya) * frac / frac[-1] + gauss(be, a, c, s)
    y = y + 0.03 * np.random.default_rng(21).standard_normal(N)
    ke = 10.0 - be  # kinetic energy, decreasing as an XPS export lists it
    head = ("# bayespec example: XPS-like spectrum, one Gaussian peak (amplitude 1, binding energy "
            "1.5, sd 0.12)\n# on an exact Shirley step 0.2 -> 0.5, noise sd 0.03 from "
            "default_rng(21); kinetic energy = 10 - binding energy\nkinetic_energy,counts\n")
    (out / "xps.csv").write_text(head + "".join(f"{float(u)!r},{float(v)!r}\n"
                                                for u, v in zip(ke, y)))


def pattern(out: Path) -> None:
    tth = np.linspace(20.0, 26.0, N)
    f = 100 + gauss(tth, 400, 22.0, 0.15) + gauss(tth, 250, 24.0, 0.2)
    sd = np.sqrt(f)
    y = f + sd * np.random.default_rng(22).standard_normal(N)
    head = ("# bayespec example powder pattern: peaks (amplitude, 2theta, sd) = (400, 22.0, 0.15), "
            "(250, 24.0, 0.2) on 100 counts\n# noise sd sqrt(intensity) from default_rng(22)\n"
            "#  2th_deg  I  sigma\n")
    (out / "pattern.xye").write_text(head + "".join(
        f"{float(u)!r} {float(v)!r} {float(w)!r}\n" for u, v, w in zip(tth, y, sd)))


def xdi(out: Path) -> None:
    e = np.linspace(8970.0, 8982.0, N)
    rng = np.random.default_rng(23)
    mu = 0.3 + gauss(e, 0.15, 8976.0, 0.5) + 0.005 * rng.standard_normal(N)
    i0 = 1.0e5 * (1 + 0.01 * np.sin(np.arange(N) / 7))
    it = i0 * np.exp(-mu)
    head = ["# XDI/1.0 bayespec/0.1", "# Column.1: energy eV", "# Column.2: i0",
            "# Column.3: itrans", "# Element.symbol: Cu", "# Element.edge: K",
            "# Mono.d_spacing: 3.13553", "# Scan.start_time: 2024-01-01T00:00:00", "# ///",
            "# bayespec example: pre-edge Gaussian (amplitude 0.15, 8976 eV, sd 0.5 eV) "
            "on mu = 0.3,",
            "# noise sd 0.005 from default_rng(23); mu = ln(i0/itrans)", "#----",
            "# energy i0 itrans"]
    body = "".join(f"{float(a)!r} {float(b)!r} {float(c)!r}\n" for a, b, c in zip(e, i0, it))
    (out / "cu.xdi").write_text("\n".join(head) + "\n" + body)


def series(out: Path) -> None:
    import h5py

    q = np.linspace(10.0, 16.0, N)
    t = np.array([0.0, 60.0, 120.0])
    grow = [0.3, 0.6, 1.0]
    rng = np.random.default_rng(24)
    ys = np.stack([0.1 + gauss(q, 1.0, 12.0, 0.15) + gauss(q, g, 14.0, 0.2)
                   + 0.03 * rng.standard_normal(N) for g in grow])
    path = out / "series.nxs"
    with h5py.File(path, "w", track_order=True) as f:
        f.attrs.update({"NX_class": "NXroot", "default": "entry", "creator": "bayespec example"})
        entry = f.create_group("entry")
        entry.attrs.update({"NX_class": "NXentry", "default": "data"})
        entry["title"] = ("time series: peaks (1.0, Q 12.0, sd 0.15) and (0.3/0.6/1.0, Q 14.0, sd "
                          "0.2) on 0.1, noise sd 0.03, default_rng(24)")
        data = entry.create_group("data")
        data.attrs.update({"NX_class": "NXdata", "signal": "intensity", "axes": ["time", "q"],
                           "time_indices": 0, "q_indices": 1})
        data.create_dataset("intensity", data=ys).attrs["units"] = "arb. units"
        data.create_dataset("intensity_errors", data=np.full_like(ys, 0.03))
        data.create_dataset("q", data=q).attrs["units"] = "1/nm"
        data.create_dataset("time", data=t).attrs["units"] = "s"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for make in (xps, pattern, xdi, series):
        make(out)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent)
