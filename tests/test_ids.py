"""One naming rule for ids (issue 12): manifest ids, stack-row entries and GROUP.yaml data sets
follow bayespec.ids, so groups of dotted ids or of stack rows parse, and ties address them and
every shape parameter (extras included)."""

from __future__ import annotations

import numpy as np
import pytest

from bayespec import ids
from bayespec.errors import ConfigError
from bayespec.inference.integrate import parse_group_config
from bayespec.io.spectrum import Spectrum
from bayespec.models.ties import parse_tie

GOOD = ["A", "run.1", "2024-03-01", "s_1.b-2", "series@0", "x.y@12"]
BAD = ["", "-a", ".a", "a/b", "a b", "@3", "a@", "a@b", "a[1]"]


@pytest.mark.parametrize("name", GOOD)
def test_entries_accepted(name):
    assert ids.is_entry(name)


@pytest.mark.parametrize("name", BAD)
def test_entries_refused(name):
    assert not ids.is_entry(name)


def test_manifest_and_group_share_the_rule():
    """The campaign's manifest patterns are the ids module's (one rule, defined once)."""
    from bayespec.workflow import campaign

    assert campaign.ID_PATTERN == ids.ID_PATTERN
    assert campaign.ENTRY_PATTERN == ids.ENTRY_PATTERN
    assert campaign.entry_name("series@3") == ids.entry_name("series@3") == "series[3]"
    assert ids.entry_key("series[3]") == "series@3"


def _spec(name: str) -> Spectrum:
    x = np.linspace(0.0, 10.0, 60)
    return Spectrum(x, np.exp(-0.5 * (x - 5.0) ** 2), None, name)


@pytest.mark.parametrize("a, b", [("run.1", "run.2"), ("series@0", "series@1"),
                                  ("2024-03", "2024-04")])
def test_group_of_ids_with_dots_digits_and_stack_rows(a, b):
    d = {"datasets": {a: {"model": {"shape": "gaussian", "K": [1]}},
                      b: {"model": {"shape": "gaussian", "K": [1]}}},
         "ties": [f"{b}.center[0] = {a}.center[0] + shift", f"{b}.width[0] = {a}.width[0]"],
         "offsets": {"shift": {"dist": "normal", "mean": 0, "sd": 0.1}}}
    cfg = parse_group_config(d, "GROUP.yaml", spectra={a: _spec(a), b: _spec(b)})
    assert [s.name for s in cfg.datasets] == [a, b]
    assert cfg.ties[0].left.dataset == b and cfg.ties[0].right.dataset == a


@pytest.mark.parametrize("name", ["a b", "a/b", "@1"])
def test_bad_group_name_names_the_rule(name):
    d = {"datasets": {name: {"model": {"K": [1]}}, "B": {"model": {"K": [1]}}}}
    with pytest.raises(ConfigError, match=r"GROUP.yaml: datasets\..*a spectrum id"):
        parse_group_config(d, "GROUP.yaml", spectra={name: _spec(name), "B": _spec("B")})


def test_ties_of_extra_parameters():
    """Ties reach a shape's extra parameters: two asymmetric doublets sharing splitting, ratio
    and asymmetry (the surface/bulk pattern of XPS metals); a ratio keeps positive ties only."""
    model = {"shape": "doublet_asym_pseudo_voigt", "K": [1]}
    priors = {"splitting": {"dist": "normal", "mean": 3.67, "sd": 0.05},
              "ratio": {"dist": "uniform", "low": 0.6, "high": 0.9}}
    d = {"datasets": {"A": {"model": model, "priors": priors},
                      "B": {"model": model, "priors": priors}},
         "ties": ["B.splitting[0] = A.splitting[0]", "B.ratio[0] = A.ratio[0]",
                  "B.asym[0] = A.asym[0]"]}
    cfg = parse_group_config(d, "GROUP.yaml", spectra={"A": _spec("A"), "B": _spec("B")})
    assert [t.left.kind for t in cfg.ties] == ["splitting", "ratio", "asym"]
    d["ties"] = ["B.ratio[0] = A.ratio[0] + 0.1"]
    with pytest.raises(ConfigError, match="ratio must stay positive"):
        parse_group_config(d, "GROUP.yaml", spectra={"A": _spec("A"), "B": _spec("B")})
    d["ties"] = ["B.asym[0] = 0.5 * A.asym[0]"]
    with pytest.raises(ConfigError, match=r"asym lives in \[-1, 1\]"):
        parse_group_config(d, "GROUP.yaml", spectra={"A": _spec("A"), "B": _spec("B")})


def test_tie_grammar_messages():
    with pytest.raises(ConfigError, match="expected a parameter DATASET.KIND"):
        parse_tie("B.center[0] = import os", "t")
    with pytest.raises(ConfigError, match="unknown parameter 'wdth'"):
        parse_tie("B.center[0] = A.wdth[0]", "t")
    t = parse_tie("run.2.center[1]=0.5*run.1.center[0]", "t")
    assert (t.left.dataset, t.left.index, t.right.dataset, t.scale) == ("run.2", 1, "run.1", 0.5)


def test_schemas_use_the_rule():
    """The manifest schema's id pattern is the ids module's (Snakemake validates with it)."""
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[1] / "workflow" / "schemas"
    schema = yaml.safe_load((root / "spectra.schema.yaml").read_text())
    assert schema["properties"]["id"]["pattern"] == f"^{ids.ID_PATTERN}$"
