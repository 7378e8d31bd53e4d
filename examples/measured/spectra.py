"""The four measured spectra of README "Measured spectra": data, configs and the known answers.

    PYTHONPATH=src python examples/measured/spectra.py NAME [--out results/measured] [--quick]

NAME: au4f | pet_c1s | fe_preedge | xrf_srm1832 (or all). Reads the data copied under
tests/data (each with its SOURCE.md), prepares it as its physics asks (PET: counts from the
count rate; Fe: the pre-edge window, energies aligned on the Fe foil measured the same day;
XRF: one detector element's window), fits every candidate of examples/measured/NAME.yaml with
bayespec.inference.runner.fit_to_dir (stores and model_selection.csv in OUT/NAME) and writes
OUT/NAME/report.md: F +- SE per candidate, the checks, the selected model and its key
parameters against the known answer, wall time. ``--quick`` shortens the sampler (the CI test);
``--moves single|block`` overrides sampler.moves.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
HERE = Path(__file__).resolve().parent
NAMES = ("au4f", "pet_c1s", "fe_preedge", "xrf_srm1832")
PET_SCALE = 1.0427094  # PET_C1s.csv holds counts times this (SOURCE.md)
FE_WINDOW = (7100.0, 7124.0)  # eV: pre-edge and the foot of the edge
XRF_WINDOW = (2600.0, 9300.0)  # eV: Ar K to Cu K-beta
FOIL_EDGE = 7112.0  # eV: the nominal Fe K edge, where the foil's dmu/dE peaks after alignment


def foil_shift() -> float:
    """eV to add to the hematite axis: nominal edge minus the foil's maximum of dmu/dE (the
    foil was measured the same day on the same monochromator)."""
    d = np.loadtxt(DATA / "xas-fe-kedge" / "fe_metal_rt.xdi", comments="#")
    x, mu = d[:, 0], d[:, 1]
    m = (x > 7100) & (x < 7125)
    g = np.gradient(mu[m], x[m])
    i = int(np.argmax(g))
    # the maximum of a parabola through the three points around the largest slope
    x0, x1, x2 = x[m][i - 1:i + 2]
    g0, g1, g2 = g[i - 1:i + 2]
    den = (x0 - x1) * (x0 - x2) * (x1 - x2)
    a = (x2 * (g1 - g0) + x1 * (g0 - g2) + x0 * (g2 - g1)) / den
    b = (x2 ** 2 * (g0 - g1) + x1 ** 2 * (g2 - g0) + x0 ** 2 * (g1 - g2)) / den
    return FOIL_EDGE - (-b / (2 * a))


def load(name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(x increasing, y, what it is) of spectrum ``name``."""
    if name == "au4f":
        d = np.loadtxt(DATA / "xps-au4f" / "clean_Au_4f.csv", delimiter=",", comments="#")
        return d[:, 0], d[:, 1], "kinetic energy (eV), counts"
    if name == "pet_c1s":
        d = np.loadtxt(DATA / "xps-pet-c1s" / "PET_C1s.csv", delimiter=",", skiprows=1)
        o = np.argsort(d[:, 0])
        return d[o, 0], np.round(d[o, 1] / PET_SCALE), "binding energy (eV), counts"
    if name == "fe_preedge":
        d = np.loadtxt(DATA / "xas-fe-kedge" / "fe2o3_rt.xdi", comments="#")
        x = d[:, 0] + foil_shift()
        m = (x >= FE_WINDOW[0]) & (x <= FE_WINDOW[1])
        return x[m], d[m, 1], "energy (eV, foil-aligned), mu = ln(I0/I1)"
    if name == "xrf_srm1832":
        from bayespec.io.readers import read

        r = read(DATA / "xrf-srm1832" / "srm1832.mca", index=0)
        m = (r.x >= XRF_WINDOW[0]) & (r.x <= XRF_WINDOW[1])
        return r.x[m], r.y[m], "energy (eV), counts (detector element 0)"
    raise SystemExit(f"unknown spectrum {name!r}; choose from {', '.join(NAMES)}")


def markdown(df) -> list[str]:
    """A DataFrame as markdown table lines (numbers to 3 decimals)."""
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)
    rows = [" | ".join(map(str, df.columns)), " | ".join("---" for _ in df.columns)]
    rows += [" | ".join(cell(v) for v in r) for r in df.itertuples(index=False)]
    return [f"| {r} |" for r in rows]


def run(name: str, out: Path, quick: bool = False, moves: str | None = None) -> Path:
    from bayespec.config import load_fit_config, with_overrides
    from bayespec.inference.runner import fit_to_dir

    x, y, what = load(name)
    cfg = load_fit_config(HERE / f"{name}.yaml")
    if quick:
        cfg = with_overrides(cfg, sampler={"burn_in": 300, "sweeps": 600, "thin": 2})
    if moves is not None:
        cfg = with_overrides(cfg, sampler={"moves": moves})
    dest = out / name
    dest.mkdir(parents=True, exist_ok=True)
    csv = dest / "data.csv"
    np.savetxt(csv, np.c_[x, y], delimiter=",", header="x,y", comments="")
    t0 = time.perf_counter()
    table, warnings = fit_to_dir(csv, cfg, dest)
    wall = time.perf_counter() - t0
    cols = [c for c in ("K", "free_energy", "free_energy_se", "probability", "rhat_max",
                        "F_chain_spread", "converged", "chi2_n", "adequate") if c in table]
    label = [c for c in table.columns if c.startswith("K_")]
    lines = [f"# {name}: {what}", "", f"wall time {wall:.0f} s on this machine", "",
             *markdown(table[label + cols]), ""]
    lines += [f"- {w}" for w in warnings]
    rep = dest / "report.md"
    rep.write_text("\n".join(lines) + "\n")
    return rep


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", choices=[*NAMES, "all"])
    ap.add_argument("--out", type=Path, default=ROOT / "results" / "measured")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--moves", choices=["single", "block"], help="override sampler.moves")
    a = ap.parse_args()
    for n in (NAMES if a.name == "all" else [a.name]):
        print(run(n, a.out, a.quick, a.moves).read_text())


if __name__ == "__main__":
    main()
