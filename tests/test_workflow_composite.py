"""A composite model through the Snakemake campaign (issue 12): one fit job per (spectrum,
candidate), stores K<counts>.zarr, model_selection.csv with K_<component> columns equal byte for
byte to `bayespec fit` with the same config, the summary's candidate and per-component peak
columns, and the per-spectrum figures; batch jobs (batch_size 2) and per-spectrum jobs alike."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ("Snakefile", "workflow", "scripts", "envs")

FIT = {
    "model": {"components": [{"name": "bulk", "shape": "doublet_gaussian", "K": [1]},
                             {"name": "extra", "shape": "gaussian", "K": [0, 1]}],
              "background": {"kind": "constant"}},
    "priors": {"bulk": {"splitting": {"dist": "fixed", "value": 3.67},
                        "ratio": {"dist": "fixed", "value": 0.75},
                        "center": {"dist": "uniform", "low": 82, "high": 86}},
               "extra": {"center": {"dist": "uniform", "low": 80, "high": 92}}},
    "ties": ["extra.width[0] = bulk.width[0]"],
    "sampler": {"replicas": 12, "burn_in": 400, "sweeps": 600, "chains": 2, "seed": 5},
}


def _gauss(x, a, c, s):
    return a * np.exp(-0.5 * ((x - c) / s) ** 2)


def _spectrum(path: Path, extra: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.linspace(80, 92, 200)
    y = _gauss(x, 1.0, 84.0, 0.3) + 0.75 * _gauss(x, 1.0, 87.67, 0.3) + 0.1 \
        + 0.04 * rng.standard_normal(x.size)
    if extra:
        y += _gauss(x, 0.6, 89.5, 0.3)
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", fmt="%.17g", header="x,y",
               comments="")


@pytest.fixture(scope="module", params=[None, 2], ids=["per-spectrum", "batch"])
def campaign_dir(request, tmp_path_factory):
    import shutil

    wd = tmp_path_factory.mktemp("composite")
    for name in WORKFLOW_FILES:
        src = ROOT / name
        (shutil.copytree(src, wd / name, ignore=shutil.ignore_patterns("__pycache__"))
         if src.is_dir() else shutil.copy2(src, wd / name))
    _spectrum(wd / "plain.csv", False, 1)
    _spectrum(wd / "three.csv", True, 2)
    (wd / "m.tsv").write_text("id\tpath\ttrue_K\nplain\tplain.csv\t1\nthree\tthree.csv\t2\n")
    cfg = {"manifest": "m.tsv", "fit": FIT, "threads_per_fit": 1}
    if request.param:
        cfg["batch_size"] = request.param
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile",
                           "config.yaml", "--config", "manifest=m.tsv"], cwd=wd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return wd


def test_candidates_stores_and_selection(campaign_dir):
    R = campaign_dir / "results"
    for sid in ("plain", "three"):
        assert sorted(p.name for p in (R / "fits" / sid).glob("*.zarr")) == ["K1-0.zarr",
                                                                             "K1-1.zarr"]
        t = pd.read_csv(R / "fits" / sid / "model_selection.csv")
        assert list(t.columns) == ["K", "free_energy", "free_energy_se", "noise_sd",
                                   "probability", "K_bulk", "K_extra", "sweeps", "rhat_max", "ess_min",
                                   "F_chain_spread", "converged", "chi2_n", "ppc_p", "adequate",
                                   "wbic", "wbic_se"]
    s = pd.read_csv(R / "summary.tsv", sep="\t")
    assert s["status"].tolist() == ["ok", "ok"]
    assert s["K"].tolist() == s["true_K"].tolist() == [1, 2]  # the extra line where it is
    assert s["candidate"].tolist() == ["1-0", "1-1"]
    assert {"bulk1_center", "extra1_center", "extra1_center_lo"} <= set(s.columns)
    assert abs(float(s.loc[1, "extra1_center"]) - 89.5) < 0.05
    assert (R / "figures" / "three" / "fit.png").exists()


def test_campaign_equals_bayespec_fit(campaign_dir, tmp_path):
    """The campaign's model_selection.csv is `bayespec fit`'s, byte for byte."""
    from bayespec.cli import main

    (tmp_path / "FIT.yaml").write_text(yaml.safe_dump(FIT))
    assert main(["fit", str(campaign_dir / "three.csv"), "--config", str(tmp_path / "FIT.yaml"),
                 "--out", str(tmp_path / "out")]) == 0
    got = (campaign_dir / "results" / "fits" / "three" / "model_selection.csv").read_bytes()
    assert got == (tmp_path / "out" / "model_selection.csv").read_bytes()


def _sets_campaign(tmp_path, row_model="au", extra_rows=""):
    from bayespec.workflow import campaign

    _spectrum(tmp_path / "a.csv", True, 3)
    a = tmp_path / "a.csv"
    (tmp_path / "m.tsv").write_text(f"id\tpath\tmodel\na\t{a}\t{row_model}\nb\t{a}\t\n"
                                    + extra_rows)
    cfg = {"manifest": str(tmp_path / "m.tsv"),
           "fit": {"model": {"shape": "gaussian", "K": [1, 2]}},
           "model_sets": {"au": {k: FIT[k] for k in ("model", "priors", "ties")}}}
    return cfg, campaign.Campaign.load(cfg)


def test_model_sets_per_row(tmp_path):
    """A row's model column selects a named model set (its model, priors and ties replace the
    fit block's); other rows keep the fit block; the config passes the campaign schema."""
    import jsonschema

    cfg, c = _sets_campaign(tmp_path)
    assert c.Ks("a") == ["1-0", "1-1"] and c.Ks("b") == [1, 2]
    fa, fb = c.fit_config("a"), c.fit_config("b")
    assert [x.name for x in fa.model.components] == ["bulk", "extra"] and len(fa.ties) == 1
    assert fb.model.components == () and fb.model.shape == "gaussian"
    assert c.fit_params("a", "1-1")["model"]["components"][1]["K"] == [0, 1]
    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    jsonschema.validate(cfg, schema)


def test_unknown_model_set_names_the_row(tmp_path):
    from bayespec.errors import ConfigError

    with pytest.raises(ConfigError, match=r"line 2 \(id 'a'\): model: no model set 'nope'"):
        _sets_campaign(tmp_path, row_model="nope")
