"""Command line: `bayespec fit DATA --config FIT.yaml --out DIR`, `bayespec summary DIR`,
`bayespec plot DIR`, `bayespec integrate GROUP.yaml --out DIR` and
`bayespec design DESIGN.yaml --out DIR`."""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BayespecError, FitInterrupted

if TYPE_CHECKING:
    import pandas as pd
# numpy, pandas and everything bayespec runs are imported by the subcommands that use them:
# `bayespec --help` and `import bayespec.cli` stay fast (tests/test_startup.py)

EXIT_RESUMABLE = 75  # EX_TEMPFAIL: interrupted with a checkpoint written; rerun to resume
#: the modules each subcommand imports first (the fit writes stores: xarray); the command line
#: preloads them with the garbage collector off (see _preload). Only a speed-up: a module
#: missing here is imported by the subcommand as usual.
PRELOAD = {"fit": ("bayespec.api", "bayespec.inference.runner", "xarray"),
           "summary": ("bayespec.inference.runner", "bayespec.inference.summary",
                       "bayespec.io.store", "xarray"),
           "plot": ("bayespec.plots.spectrum",),
           "integrate": ("bayespec.api",),
           "design": ("bayespec.inference.design",)}


def _column(value: str | None) -> str | int | None:
    """A column given on the command line: a 1-based number, else a header name."""
    return int(value) if value is not None and value.isdigit() else value


def _cmd_fit(a: argparse.Namespace) -> int:
    from ..api import begin_fit, end_fit, reporter
    from ..config import load_fit_config, parse_fit_config, with_overrides
    from ..inference.runner import fit_to_dir

    cfg = load_fit_config(a.config) if a.config else parse_fit_config(None, "<defaults>")
    over = {}
    if a.peaks is not None:
        over["model"] = {"K": a.peaks}
    samp = {k: v for k, v in (("seed", a.seed), ("threads", a.threads)) if v is not None}
    if samp:
        over["sampler"] = samp
    if over:
        cfg = with_overrides(cfg, **over)
    read_options = {"format": a.format, "index": a.index, "nxdata": a.nxdata, "mu": a.mu,
                    "x_col": _column(a.x_col), "y_col": _column(a.y_col),
                    "sd_col": _column(a.sd_col)}
    rep = reporter(a.progress)
    begin_fit(rep, cfg)
    table, warnings = fit_to_dir(a.data, cfg, a.out, checkpoint_dir=a.checkpoint,
                                 read_options=read_options, progress=rep)
    end_fit(rep, table)
    for w in warnings:
        print(f"bayespec: warning: {w}", file=sys.stderr)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    best = table.loc[table["probability"].idxmax()]
    print(f"selected K = {int(best.K)} (p = {best.probability:.3f}), noise sd = "
          f"{best.noise_sd:.4g}; stores and model_selection.csv in {a.out}")
    for w in _selected_checks(Path(a.out), table):
        print(f"WARNING: {w}")
    return 0


def _selected_checks(out: Path, table: pd.DataFrame) -> list[str]:
    """The warnings of the selected candidate's checks (not converged, inadequate), from its
    store's ``diagnostics`` attr (inference.runner.check_warnings)."""
    from ..inference.runner import check_warnings
    from ..inference.selection import pick
    from ..io.zarrio import root_attrs

    _, label = pick(table)
    raw = root_attrs(out / f"K{label}.zarr").get("diagnostics")
    return check_warnings(label, json.loads(raw)) if raw else []


def _cmd_summary(a: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from ..inference.selection import pick
    from ..inference.runner import SELECTION_FILE
    from ..io.store import read_fit
    from ..inference.summary import component_table, peak_table

    d = Path(a.dir)
    sel_path = d / SELECTION_FILE
    if not sel_path.is_file():
        raise BayespecError(f"{sel_path}: not found; run `bayespec fit DATA --out {d}` first")
    sel = pd.read_csv(sel_path)
    try:
        i, label = pick(sel, a.K)
    except ValueError as e:
        raise BayespecError(f"{sel_path}: {e}") from None
    tree = read_fit(d / f"K{label}.zarr")
    print(sel.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    r = sel.iloc[i]
    what = f"K = {label}" if "components" not in tree.attrs else \
        f"candidate {label} (K = {int(r.K)})"
    print(f"\nselected {what}  p(K|D) = {r.probability:.3f}  F = {r.free_energy:.3f} "
          f"+- {r.free_energy_se:.3f}  noise sd = {r.noise_sd:.4g}"
          f"{' (estimated)' if bool(tree.attrs['noise_estimated']) else ' (given)'}")
    for line in _check_lines(tree.attrs):
        print(line)
    lp = np.asarray(tree["sample_stats"]["lp"])
    post = tree["posterior"].to_dataset()
    if "components" in tree.attrs:
        comps = {c["name"]: c for c in json.loads(tree.attrs["components"])}
        tab = component_table(post, lp, comps)
    else:
        tab = peak_table(post, lp, str(tree.attrs["shape"]))
    print("\nposterior (peaks ordered by center; 95 % credible interval q2.5..q97.5):")
    print(tab.to_string(index=False, float_format=lambda v: f"{v:.5g}"))
    return 0


def _check_lines(attrs) -> list[str]:
    """Two lines on a store's convergence and goodness of fit (its ``diagnostics`` attr)."""
    if not attrs.get("diagnostics"):
        return []
    d = json.loads(attrs["diagnostics"])
    conv = "converged" if d["converged"] else \
        "NOT converged: " + "; ".join(d["convergence_reasons"])
    what = "deviance/n" if d["gof_statistic"] == "deviance" else "chi2/n"
    ref = "" if d["gof_statistic"] == "deviance" else \
        f" (noise: {d['gof_reference']})"
    fit = "adequate" if d["adequate"] else "NOT adequate"
    return [f"convergence: {conv} (R-hat max {d['rhat_max']:.3f}, bulk ESS min "
            f"{d['ess_min']:.0f}, chains' F spread {d['F_chain_spread']:.3g} nat)",
            f"goodness of fit: {fit}: {what} = {d['chi2_n']:.3f}{ref}, posterior predictive "
            f"p = {d['ppc_p']:.3g} ({d['ppc_discrepancy']})"]


def _cmd_plot(a: argparse.Namespace) -> int:
    from ..plots.spectrum import write_figures

    paths = write_figures(a.dir, out=a.out, K=a.K)
    print(f"wrote {len(paths)} files to {Path(paths[0]).parent if paths else a.dir}")
    return 0


def _cmd_integrate(a: argparse.Namespace) -> int:
    from ..api import integrate

    res = integrate(a.group, progress=a.progress, checkpoint=a.checkpoint)
    path = res.write(a.out)
    for w in res.warnings:
        print(f"bayespec: warning: {w}", file=sys.stderr)
    print(res.table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"verdict: {res.verdict}; stores, figure and {path.name} in {a.out}")
    return 0


def _cmd_design(a: argparse.Namespace) -> int:
    from ..inference.design import load_design, run_design, write_design

    d = load_design(a.design)
    res = run_design(d, threads=a.threads, progress=a.progress)
    path = write_design(res, a.out)
    print(res.summary.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"{res.crossing_text()}; tables and figure in {path.parent}")
    return 0


def _progress_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress lines on stderr (default: on when stderr is a terminal)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bayespec", description=__doc__)
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit", help="fit one spectrum at every K; write stores and model_selection.csv")
    f.add_argument("data", help="spectrum file: CSV or whitespace text (x, y and optional sd), "
                                "diffraction .xy/.xye/.chi, XAS .xdi or NeXus .nxs/.h5")
    r = f.add_argument_group("reading the file (as the manifest columns of a campaign)")
    r.add_argument("--format", help="xy, columns, diffraction, xdi or nexus (default: by the "
                                    "file's extension)")
    r.add_argument("--index", type=int, help="NeXus stack (2-D signal): the row to fit, from 0")
    r.add_argument("--nxdata", help="NeXus: path of the NXdata group (default: the file's "
                                    "default plot)")
    r.add_argument("--mu", help="XDI: the mu column, or transmission / fluorescence")
    r.add_argument("--x-col", help="format columns: x column, header name or 1-based number")
    r.add_argument("--y-col", help="format columns: y column")
    r.add_argument("--sd-col", help="format columns: sd column (optional)")
    f.add_argument("--config", help="FIT.yaml (model, priors, noise, sampler); defaults if omitted")
    f.add_argument("--out", required=True, help="output directory")
    f.add_argument("--peaks", help="K values, e.g. 1-6 or 1,2,3 (overrides model.K)")
    f.add_argument("--seed", type=int, help="overrides sampler.seed")
    f.add_argument("--threads", type=int, help="overrides sampler.threads")
    f.add_argument("--checkpoint", metavar="DIR",
                   help="checkpoint the sampler state in DIR every sampler.checkpoint_every "
                        "seconds and on SIGTERM (then exit with status 75); rerunning the same "
                        "command resumes, with bit-for-bit the numbers of an uninterrupted run")
    _progress_flag(f)
    f.set_defaults(func=_cmd_fit)
    s = sub.add_parser("summary", help="print the selected K and its peak table")
    s.add_argument("dir", help="a directory written by `bayespec fit`")
    s.add_argument("--K", help="show this K (or composite candidate, e.g. 1-2) instead of "
                                "the selected one")
    s.set_defaults(func=_cmd_summary)
    g = sub.add_parser("plot", help="write the figures (PNG and PDF) of a `bayespec fit` directory")
    g.add_argument("dir", help="a directory written by `bayespec fit`")
    g.add_argument("--K", help="fit and positions figures for this K or composite candidate "
                                "(default: selected)")
    g.add_argument("--out", help="output folder (default DIR/figures)")
    g.set_defaults(func=_cmd_plot)
    i = sub.add_parser("integrate", help="fit a group of data sets jointly (shared parameters) "
                                         "and separately; write integration.csv")
    i.add_argument("group", help="GROUP.yaml: datasets, ties, offsets, sampler")
    i.add_argument("--out", required=True, help="output directory")
    i.add_argument("--checkpoint", metavar="DIR",
                   help="checkpoint every fit of the group in DIR (as bayespec fit "
                        "--checkpoint); rerunning the same command resumes")
    _progress_flag(i)
    i.set_defaults(func=_cmd_integrate)
    d = sub.add_parser("design", help="experiment design: simulate data at several noise "
                                      "levels or counting times, fit every candidate, report "
                                      "how often the true model is selected")
    d.add_argument("design", help="DESIGN.yaml: models, truth, levels, replicates, seed")
    d.add_argument("--out", required=True, help="output directory")
    d.add_argument("--threads", type=int, help="overrides every model's sampler.threads")
    _progress_flag(d)
    d.set_defaults(func=_cmd_design)
    return p


def _preload(cmd: str) -> None:
    """The command line only: import ``cmd``'s modules (PRELOAD) with the garbage collector
    off, then freeze them (gc.freeze): they live until the process ends, and every full
    collection while numba, scipy and pandas load traversed all of them (~0.2 s of a run)."""
    gc.disable()
    try:
        for name in PRELOAD.get(cmd, ()):
            importlib.import_module(name)
    except ImportError:  # the subcommand's own import reports it
        pass
    finally:
        gc.freeze()
        gc.enable()


def main(argv: list[str] | None = None) -> int:
    """Run the command ``argv`` (None: the process's command line, sys.argv[1:]; then the
    process's start-up and exit are shortened, see _preload; numbers unchanged)."""
    args = build_parser().parse_args(argv)
    if argv is None:
        _preload(args.cmd)
    try:
        return _run(args)
    finally:
        if argv is None:
            # the `bayespec` process ends next: move every object to the permanent generation
            # so that the interpreter's final garbage collections skip them (with numba,
            # scipy and pandas loaded they took ~0.3-0.6 s of every run). Reference counting
            # still frees and closes everything, atexit handlers run as usual.
            gc.freeze()


def _run(args: argparse.Namespace) -> int:
    try:
        return args.func(args)
    except BayespecError as e:
        print(f"bayespec: error: {e}", file=sys.stderr)
        return 2
    except FitInterrupted as e:
        print(f"bayespec: stopped: {e}", file=sys.stderr)
        return EXIT_RESUMABLE
    except KeyboardInterrupt:
        print("bayespec: interrupted; completed stores are intact, partial ones were not kept",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
