"""Write what `bayespec integrate` produces: stores, tables and the figure.

DIR/
  integration.csv          rows joint, separate: model,free_energy,free_energy_se,K,noise_sd,
                           delta,delta_se,verdict (written last: its presence means complete)
  joint_selection.csv      one row per K combination: K_<ds>..., free_energy, se, probability,
                           sweeps, rhat_max, ess_min, F_chain_spread, converged, wbic, wbic_se
                           (a composite data set's K_<ds>: its candidate label, e.g. 1-2)
  joint/K<K_A>-<K_B>.zarr  joint store of every K combination (DataTree, ArviZ groups, and
                           diagnostics: R-hat / ESS per free parameter, F per chain); a
                           composite data set contributes its counts (K1-2-3: A = 1-2, B = 3)
  separate/<ds>/K<K>.zarr  + model_selection.csv: each data set's own fit (as `bayespec fit`;
                           composite: K<label>.zarr per candidate)
  integration.png/.pdf     each data set with its joint fit; tied parameters, joint vs separate
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np
import xarray as xr

from .. import __version__
from ..io.store import (_diagnostic_attrs, _diagnostics_group, _dumps, _strings,
                        write_datatree, write_fit, write_table_atomic)
from ..sampling.seeds import predictive_seq
from ..models.composite import CompositeProblem
from .integrate import IntegrationResult, JointFit, group_ties, joint_posterior, versions
from .selection import format_table, selection_table
from .summary import predictive_band

INTEGRATION_FILE = "integration.csv"
JOINT_SELECTION_FILE = "joint_selection.csv"


def combo_name(j: JointFit) -> str:
    """File stem of a K combination: K2-3 for K_A = 2, K_B = 3 (data sets in group order; a
    composite data set gives its components' counts: K1-2-3 for A = 1-2, B = 3)."""
    return "K" + "-".join(str(K) for K in j.model.Ks)


def joint_datatree(j: JointFit, res: IntegrationResult) -> xr.DataTree:
    """The joint fit as a DataTree: posterior (chain, draw, <ds>_peak | <ds>_coef) per data
    set with ties applied, sample_stats, observed_data with one entry per data set (dims
    <ds>_x), constant_data (noise sd and K per data set), ladder. A composite data set's
    posterior is <ds>_<component>_<kind> on (chain, draw, <ds>_<component>_peak), its
    constant_data adds <ds>_K_<component>, and the root attrs then hold ``candidates``
    (data set -> candidate label) and ``components`` (data set -> component -> shape, K)."""
    mdl = j.model
    C, D = j.theta.shape[:2]
    post = joint_posterior(j)
    coords = {"chain": np.arange(C), "draw": np.arange(D)}
    pv = {}
    for name, prob in zip(mdl.names, mdl.problems):
        if isinstance(prob, CompositeProblem):
            for c in prob.components:
                dim = f"{name}_{c.name}_peak"
                coords[dim] = np.arange(c.K)
                for v in c.peak_vars:
                    key = f"{name}_{c.name}_{v}"
                    pv[key] = (("chain", "draw", dim), post[key])
        else:
            coords[f"{name}_peak"] = np.arange(prob.K)
            for v in prob.peak_vars:
                pv[f"{name}_{v}"] = (("chain", "draw", f"{name}_peak"), post[f"{name}_{v}"])
        coords[f"{name}_coef"] = _strings(prob.coef_names)
        pv[f"{name}_background"] = (("chain", "draw", f"{name}_coef"), post[f"{name}_background"])
    for k, v in post.items():
        if k.startswith("offset_"):
            pv[k] = (("chain", "draw"), v)
    posterior = xr.Dataset(pv, coords=coords)
    logprior = sum(p.logpdf(j.theta[..., i]) for i, p in enumerate(mdl.priors))
    loglik = 0.5 * mdl.n * np.log(1 / (2 * np.pi)) + 0.5 * mdl.sum_log_w - j.ne
    sample_stats = xr.Dataset({"energy": (("chain", "draw"), j.ne / mdl.n),
                               "log_likelihood": (("chain", "draw"), loglik),
                               "lp": (("chain", "draw"), loglik + logprior)},
                              coords={"chain": coords["chain"], "draw": coords["draw"]})
    obs, const, oc = {}, {}, {}
    for m, (name, prob) in enumerate(zip(mdl.names, mdl.problems)):
        oc[f"{name}_x"] = prob.x
        obs[name] = (f"{name}_x", prob.y)
        if not np.all(prob.w == 1.0):
            obs[f"{name}_sd"] = (f"{name}_x", 1 / np.sqrt(prob.w))
        const[f"{name}_noise_sd"] = ((), float(1 / np.sqrt(mdl.b[m])))
        const[f"{name}_K"] = ((), int(prob.K))
        if isinstance(prob, CompositeProblem):
            for c in prob.components:
                const[f"{name}_K_{c.name}"] = ((), int(c.K))
    observed = xr.Dataset(obs, coords=oc)
    constant = xr.Dataset(const)
    L = len(j.betas)
    f = np.where(j.betas > 0, -0.5 * mdl.n * np.log(np.maximum(j.betas, 1e-300) / (2 * np.pi))
                 - 0.5 * mdl.sum_log_w - j.log_z, np.nan)
    ladder = xr.Dataset({"beta": ("rung", j.betas), "log_z": ("rung", j.log_z),
                         "log_z_se": ("rung", j.log_z_se), "free_energy": ("rung", f),
                         "swap_acceptance": ("rung", np.concatenate([j.swap, [np.nan]])),
                         "acceptance": (("rung", "param"), j.acceptance),
                         **({} if j.block_acceptance is None else
                            {"block_acceptance": (("rung", "block"), j.block_acceptance)})},
                        coords={"rung": np.arange(L), "param": _strings(list(mdl.free_names)),
                                **({} if j.block_acceptance is None else
                                   {"block": _strings(j.block_names)})})
    composite = {name: prob for name, prob in zip(mdl.names, mdl.problems)
                 if isinstance(prob, CompositeProblem)}
    extra = {} if not composite else {
        "candidates": _dumps({name: getattr(prob, "label", str(prob.K))
                              for name, prob in zip(mdl.names, mdl.problems)}),
        "components": _dumps({name: {c.name: {"shape": c.shape.name, "K": c.K}
                                     for c in prob.components}
                              for name, prob in composite.items()}),
        # the composite data sets' own ties as the joint model reads them (prefixed)
        "dataset_ties": _dumps([t.text for t in group_ties(res.cfg)[0][len(res.cfg.ties):]])}
    now = _dt.datetime.now(_dt.timezone.utc).isoformat()
    for ds in (posterior, sample_stats, observed, constant):
        ds.attrs.update({"created_at": now, "inference_library": "bayespec",
                         "inference_library_version": __version__})
    root = xr.Dataset(attrs={
        "kind": "joint", "datasets": _dumps(list(mdl.names)), "K": _dumps(list(mdl.Ks)),
        "free_energy": j.free_energy, "free_energy_se": j.free_energy_se,
        "wbic": float(j.wbic), "wbic_se": float(j.wbic_se), **_diagnostic_attrs(j.diagnostics),
        "free_parameters": _dumps(list(mdl.free_names)),
        "ties": _dumps([t.text for t in res.cfg.ties]), "seed": int(res.cfg.sampler.seed),
        "config": _dumps(res.cfg.raw), "versions": _dumps(versions()),
        "timing": _dumps({"chain_seconds": j.seconds}), "replicas": L,
        "ordering": "centers of every data set ordered; prior renormalised on the ordered region"
        if not composite else "centers of every data set (composite: of every component) ordered; "
        "prior renormalised on the ordered region", **extra,
        "created_by": f"bayespec {__version__}", "created_at": now})
    groups = {"/": root, "posterior": posterior, "sample_stats": sample_stats,
              "observed_data": observed, "constant_data": constant, "ladder": ladder}
    if j.diagnostics.get("per_param") is not None:
        groups["diagnostics"] = _diagnostics_group(j.diagnostics)
    return xr.DataTree.from_dict(groups)



def write_integration(res: IntegrationResult, out: str | Path) -> Path:
    """Write every output of ``res`` under ``out`` (atomically each; integration.csv last)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seed = res.cfg.sampler.seed
    for name, fits in res.separate.items():
        d = out / "separate" / name
        for prob, f in zip(res.problems[name], fits):
            # seeded as runner.add_predictive (K, or a composite candidate's counts)
            key = tuple(c["K"] for c in f.components.values()) if f.components else (f.K,)
            rng = np.random.default_rng(predictive_seq(seed, *key))
            f.predictive = predictive_band(prob, f, rng)
            write_fit(d / f"K{f.label}.zarr", f)
        write_table_atomic(d / "model_selection.csv", format_table(selection_table(fits)))
    for j in res.joint:
        write_datatree(out / "joint" / f"{combo_name(j)}.zarr", joint_datatree(j, res))
    write_table_atomic(out / JOINT_SELECTION_FILE,
                       res.selection.to_csv(index=False, float_format="%.6g"))
    from ..plots.integration import integration_figure
    from ..plots.spectrum import save

    save(integration_figure(res), out / "integration")
    write_table_atomic(out / INTEGRATION_FILE, res.table.to_csv(index=False, float_format="%.6g"))
    return out / INTEGRATION_FILE


__all__ = ["write_integration", "joint_datatree", "combo_name", "INTEGRATION_FILE",
           "JOINT_SELECTION_FILE"]
