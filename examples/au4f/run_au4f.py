"""Au 4f XPS of clean gold: free energies per line shape and likelihood, and the figure.

    PYTHONPATH=src python examples/au4f/run_au4f.py [--out results/au4f] [--threads 2]

Fits tests/data/xps-au4f/clean_Au_4f.csv with the base config examples/au4f/fit.yaml for each
line shape (symmetric pseudo-Voigt singlets, asymmetric pseudo-Voigt singlets, spin-orbit
doublets of asymmetric pseudo-Voigts) and each likelihood (Poisson counts; Gaussian with the
noise level estimated), every K through ``bayespec.inference.runner.fit_to_dir`` (one store per
K, as ``bayespec fit`` writes them). Writes OUT/<shape>_<likelihood>/ (stores, model_selection.csv),
OUT/au4f_table.md (the README's tables) and examples/au4f/au4f.png (the README's figure).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from bayespec.config import load_fit_config, with_overrides
from bayespec.inference.runner import fit_to_dir
from bayespec.io.spectrum import read_spectrum
from bayespec.io.store import read_fit

HERE = Path(__file__).resolve().parent
DATA = HERE.parents[1] / "tests" / "data" / "xps-au4f" / "clean_Au_4f.csv"
SHAPES = {  # label -> (shape, K values, priors that do not apply to it)
    "pseudo-Voigt": ("pseudo_voigt", [1, 2, 3, 4, 5], ["asym", "splitting", "ratio"]),
    "asymmetric pseudo-Voigt": ("asym_pseudo_voigt", [1, 2, 3, 4], ["splitting", "ratio"]),
    "doublet (asymmetric)": ("doublet_asym_pseudo_voigt", [1, 2], []),
}
LIKELIHOODS = ("poisson", "gaussian")
MIDPOINT = 90.5  # eV (kinetic): between 4f5/2 (88.7) and 4f7/2 (92.35)


def two_largest(tree) -> dict[str, float]:
    """Splitting (eV) and area ratio 4f5/2 : 4f7/2 of the two largest-area components, with
    posterior sd (per draw: the larger-area component is 4f7/2, the other 4f5/2)."""
    post = tree["posterior"].to_dataset()
    shape = str(tree.attrs["shape"])
    from bayespec.models.shapes import SHAPES as REG

    shp = REG[shape]
    a = np.asarray(post["amplitude"]).reshape(-1, post.sizes["peak"])
    w = np.asarray(post["width"]).reshape(a.shape)
    c = np.asarray(post["center"]).reshape(a.shape)
    ex = np.stack([np.asarray(post[e]).reshape(a.shape) for e in shp.extra], -1) if shp.extra \
        else np.zeros(a.shape + (0,))
    if shape.startswith("doublet"):  # the largest doublet: its own splitting and ratio
        area = shp.area(a, w, ex)
        k = np.argmax(area, axis=1)[:, None]
        split = -np.take_along_axis(ex[..., -2], k, 1)[:, 0]
        ratio = np.take_along_axis(ex[..., -1], k, 1)[:, 0]
    else:
        area = shp.area(a, w, ex)
        order = np.argsort(-area, axis=1)
        i1, i2 = order[:, :1], order[:, 1:2]
        split = np.take_along_axis(c, i1, 1)[:, 0] - np.take_along_axis(c, i2, 1)[:, 0]
        ratio = np.take_along_axis(area, i2, 1)[:, 0] / np.take_along_axis(area, i1, 1)[:, 0]
    out = {"splitting": float(split.mean()), "splitting_sd": float(split.std()),
           "ratio": float(ratio.mean()), "ratio_sd": float(ratio.std())}
    if not shape.startswith("doublet"):
        # lines instead of components: every component on the 4f7/2 side of the midpoint
        # belongs to 4f7/2, the rest to 4f5/2; area-weighted centers and summed areas
        hi = c > MIDPOINT
        a72, a52 = (area * hi).sum(1), (area * ~hi).sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            gs = (area * c * hi).sum(1) / a72 - (area * c * ~hi).sum(1) / a52
            gr = a52 / a72
        ok = np.isfinite(gs) & np.isfinite(gr)
        out |= {"line_splitting": float(gs[ok].mean()), "line_splitting_sd": float(gs[ok].std()),
                "line_ratio": float(gr[ok].mean()), "line_ratio_sd": float(gr[ok].std())}
    return out


def run(out: Path, threads: int, sweeps: int | None, only: str | None = None) -> pd.DataFrame:
    base = load_fit_config(HERE / "fit.yaml")
    rows = []
    for label, (shape, Ks, drop) in SHAPES.items():
        if only and shape != only:
            continue
        for lik in LIKELIHOODS:
            d = out / f"{shape}_{lik}"
            samp = {"threads": threads} | ({"sweeps": sweeps, "burn_in": sweeps} if sweeps else {})
            cfg = with_overrides(base, model={"shape": shape, "K": Ks, "likelihood": lik},
                                 priors={k: None for k in drop}, sampler=samp)
            if not (d / "model_selection.csv").exists():
                print(f"fitting {shape} {lik} K={Ks}", flush=True)
                fit_to_dir(DATA, cfg, d)
            table = pd.read_csv(d / "model_selection.csv")
            for _, r in table.iterrows():
                tree = read_fit(d / f"K{int(r.K)}.zarr")
                f = tree["predictive"]["f_mean"].values
                y = tree["observed_data"]["y"].values
                rows.append({"shape": label, "likelihood": lik, "K": int(r.K),
                             "F": r.free_energy, "F_se": r.free_energy_se,
                             "noise_sd": r.noise_sd, "p": r.probability,
                             "chi2_n": float(np.mean((y - f) ** 2 / np.maximum(f, 1.0))),
                             "min_swap": float(np.nanmin(tree["ladder"]["swap_acceptance"])),
                             **(two_largest(tree) if int(r.K) * (2 if shape.startswith(
                                 "doublet") else 1) >= 2 else {})})
    return pd.DataFrame(rows)


def markdown(df: pd.DataFrame) -> str:
    out = []
    for lik in LIKELIHOODS:
        sub = df[df.likelihood == lik]
        title = "Poisson" if lik == "poisson" else "Gaussian, noise sd estimated"
        out.append(f"\n**{title}** (F = -log evidence, nats; chi2/n = mean (y - f)^2 / f at "
                   f"the posterior-mean curve)\n")
        out.append("| line shape | K | F ± SE | p(K given D) | chi2/n | splitting (eV) | "
                   "ratio 4f5/2 : 4f7/2 | splitting, lines | ratio, lines |"
                   + (" noise sd |" if lik == "gaussian" else ""))
        out.append("|---|---|---|---|---|---|---|---|---|" + ("---|" if lik == "gaussian" else ""))
        for _, r in sub.iterrows():
            best = r.F == sub[sub["shape"] == r["shape"]].F.min()
            split = (f"{r.splitting:.3f} ± {r.splitting_sd:.3f}"
                     if pd.notna(r.get("splitting")) else "")
            ratio = f"{r.ratio:.3f} ± {r.ratio_sd:.3f}" if pd.notna(r.get("ratio")) else ""
            k = f"**{r.K}**" if best else f"{r.K}"
            lsplit = (f"{r.line_splitting:.3f} ± {r.line_splitting_sd:.3f}"
                      if pd.notna(r.get("line_splitting")) else "")
            lratio = (f"{r.line_ratio:.3f} ± {r.line_ratio_sd:.3f}"
                      if pd.notna(r.get("line_ratio")) else "")
            line = (f"| {r['shape']} | {k} | {r.F:.1f} ± {r.F_se:.1f} | {r.p:.3g} | "
                    f"{r.chi2_n:.1f} | {split} | {ratio} | {lsplit} | {lratio} |")
            if lik == "gaussian":
                line += f" {r.noise_sd:.0f} |"
            out.append(line)
    return "\n".join(out) + "\n"


def figure(df: pd.DataFrame, out: Path, png: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.6), layout="constrained")
    FigureCanvasAgg(fig)
    gs = fig.add_gridspec(2, 2, height_ratios=(3, 1), width_ratios=(1.35, 1))
    ax, axr, axf = fig.add_subplot(gs[0, 0]), fig.add_subplot(gs[1, 0]), fig.add_subplot(gs[:, 1])
    spec = read_spectrum(DATA)
    tree = read_fit(out / "doublet_asym_pseudo_voigt_poisson" / "K1.zarr")
    pred = tree["predictive"].to_dataset()
    ax.plot(spec.x, spec.y, ".", ms=3, color="k", label="counts")
    ax.plot(spec.x, pred["f_mean"], color="C3", lw=1.2, label="doublet, Poisson, K = 1")
    comp = np.asarray(pred["components"])
    ax.plot(spec.x, comp[-1], color="0.5", lw=1, label="Shirley + constant")
    ax.fill_between(spec.x, comp[-1], comp[-1] + comp[0], color="C0", alpha=0.3,
                    label="4f7/2 + 4f5/2 doublet")
    sym = read_fit(out / "pseudo_voigt_poisson" / "K2.zarr")["predictive"]["f_mean"].values
    ax.set_ylabel("counts")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("Au 4f, clean gold (hv = 180 eV)", fontsize=10)
    for f, lab, col in ((pred["f_mean"].values, "asymmetric doublet", "C3"),
                        (sym, "2 symmetric pseudo-Voigts", "C2")):
        axr.plot(spec.x, (spec.y - f) / np.sqrt(f), lw=0.8, color=col, label=lab)
    axr.axhline(0, color="k", lw=0.5)
    axr.set_xlabel("kinetic energy (eV)")
    axr.set_ylabel("(y - f) / sqrt(f)")
    axr.legend(fontsize=7, ncol=2, loc="lower left")
    for i, (label, (shape, Ks, _)) in enumerate(SHAPES.items()):
        for lik, ls, mk in (("poisson", "-", "o"), ("gaussian", "--", "s")):
            sub = df[(df["shape"] == label) & (df.likelihood == lik)]
            lines = sub.K * (2 if shape.startswith("doublet") else 1)
            axf.errorbar(lines, sub.F - df[df.likelihood == lik].F.min(), yerr=sub.F_se, ls=ls,
                         marker=mk, ms=4, color=f"C{i}", label=f"{label}, {lik}")
    axf.set_yscale("symlog", linthresh=10)
    axf.set_xlabel("number of lines (a doublet counts 2)")
    axf.set_ylabel("F - min F (per likelihood), nats")
    axf.legend(fontsize=7)
    axf.set_title("free energy: lower is preferred", fontsize=10)
    fig.savefig(png, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="results/au4f")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sweeps", type=int, default=None,
                    help="override sampler.sweeps and burn_in (smoke runs)")
    ap.add_argument("--only", default=None, help="fit only this model.shape (no table/figure)")
    a = ap.parse_args()
    out = Path(a.out)
    df = run(out, a.threads, a.sweeps, a.only)
    if a.only:
        return
    out.mkdir(parents=True, exist_ok=True)
    df.to_csv(out / "au4f_results.csv", index=False)
    (out / "au4f_table.md").write_text(markdown(df))
    figure(df, out, HERE / "au4f.png")
    print(markdown(df))
    print(json.dumps({"figure": str(HERE / "au4f.png")}))


if __name__ == "__main__":
    main()
