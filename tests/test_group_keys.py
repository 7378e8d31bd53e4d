"""Every GROUP.yaml key reaches the run (issue 12): for each key, a changed value changes what
`bayespec integrate` hands to the sampler (each data set's problems and fit settings, the
group's ties and offsets, the joint sampler settings) and is recorded in the group's ``raw``
config (which the stores keep). No key is accepted and then ignored (before, sampler.target_se,
model.likelihood and background.shirley were dropped on this path)."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from bayespec.config import SamplerConfig
from bayespec.inference.integrate import (_problems, _spectrum, dataset_settings, group_ties,
                                          parse_group_config)

COMP = {"components": [{"name": "a", "shape": "gaussian", "K": [1]},
                       {"name": "b", "shape": "gaussian", "K": [1]}]}


@pytest.fixture
def files(tmp_path):
    x = np.linspace(0.0, 10.0, 80)
    rng = np.random.default_rng(0)
    for name, c in (("a", 4.0), ("b", 5.0), ("c", 6.0)):
        y = np.round(30 + 200 * np.exp(-0.5 * ((x - c) / 0.5) ** 2) + rng.normal(0, 2, x.size))
        y2 = np.round(30 + 100 * np.exp(-0.5 * ((x - c - 1) / 0.5) ** 2))
        (tmp_path / f"{name}.csv").write_text(
            "x,y\n" + "".join(f"{float(u)!r},{float(v)!r}\n" for u, v in zip(x, y)))
        (tmp_path / f"{name}2.csv").write_text(  # two y columns, read by name
            "x,y,y2\n" + "".join(f"{float(u)!r},{float(v)!r},{float(w)!r}\n"
                                  for u, v, w in zip(x, y, y2)))
    return tmp_path


def _base() -> dict:
    return {"datasets": {"A": {"data": "a.csv", "model": {"K": [1]}},
                         "B": {"data": "b.csv", "model": {"K": [1]}}}}


def _with(**kw) -> dict:
    d = _base()
    for path, v in kw.items():
        *head, last = path.split("__")
        node = d
        for h in head:
            node = node.setdefault(h, {})
        node[last] = v
    return d


TIE = ["B.center[0] = A.center[0] + s"]
CASES = {
    "datasets.*.data": (_base(), _with(datasets__B__data="c.csv")),
    "datasets.*.read": (_with(datasets__B__data="b2.csv", datasets__B__read={
        "format": "columns", "x_col": "x", "y_col": "y"}),
                        _with(datasets__B__data="b2.csv", datasets__B__read={
                            "format": "columns", "x_col": "x", "y_col": "y2"})),
    "datasets.*.model": (_base(), _with(datasets__B__model={"K": [2]})),
    "datasets.*.model.likelihood": (_base(), _with(datasets__B__model={
        "K": [1], "likelihood": "poisson"})),
    "datasets.*.model.background.shirley": (_base(), _with(datasets__B__model={
        "K": [1], "background": {"kind": "linear", "shirley": True}})),
    "datasets.*.priors": (_base(), _with(datasets__B__priors={
        "center": {"dist": "uniform", "low": 3, "high": 7}})),
    "datasets.*.noise": (_base(), _with(datasets__B__noise={"sd": 0.5})),
    "datasets.*.ties": (_with(datasets__B__model=COMP),
                        _with(datasets__B__model=COMP,
                              datasets__B__ties=["b.width[0] = a.width[0]"])),
    "datasets.*.offsets": (
        _with(datasets__B__model=COMP, datasets__B__ties=["b.center[0] = a.center[0] + g"],
              datasets__B__offsets={"g": {"dist": "normal", "mean": 0, "sd": 1}}),
        _with(datasets__B__model=COMP, datasets__B__ties=["b.center[0] = a.center[0] + g"],
              datasets__B__offsets={"g": {"dist": "normal", "mean": 0, "sd": 2}})),
    "ties": (_base(), _with(ties=["B.width[0] = A.width[0]"])),
    "offsets": (_with(ties=TIE, offsets={"s": {"dist": "normal", "mean": 0, "sd": 1}}),
                _with(ties=TIE, offsets={"s": {"dist": "normal", "mean": 0, "sd": 2}})),
    **{f"sampler.{k}": (_base(), _with(sampler={k: v})) for k, v in {
        "replicas": 8, "ratio": 2.0, "burn_in": 10, "sweeps": 100, "chains": 3, "seed": 7,
        "thin": 2, "threads": 3, "extend": False, "backend": "numpy", "target_se": 0.05,
        "checkpoint_every": 60.0, "ladder": "adaptive", "moves": "block"}.items()},
}


def _gets(d: dict, base) -> tuple:
    """What integrate() hands on: per data set its problems and separate-fit settings, the
    group's ties and offsets, and the joint fits' sampler settings."""
    cfg = parse_group_config(copy.deepcopy(d), "GROUP.yaml", base)
    probs = []
    for s in cfg.datasets:
        for p in _problems(s, _spectrum(s)):
            probs.append((s.name, p.K, p.shape.name, p.likelihood, p.offset is not None,
                          tuple(p.param_names), tuple((q.dist, q.params) for q in p.priors),
                          p.y.tobytes()))
    settings = [dataset_settings(cfg, m) for m in range(len(cfg.datasets))]
    ties, offs = group_ties(cfg)
    return (tuple(probs), tuple(settings), tuple(t.text for t in ties),
            tuple((o, p.params) for o, p in offs.items()), cfg.sampler), cfg.raw


def test_every_group_key_has_a_case():
    """The cases cover every GROUP.yaml key (top level, data set block, sampler keys)."""
    from bayespec.inference.integrate import _DS_KEYS, _TOP

    keys = {k.split(".")[0] for k in CASES} | {k.split(".")[2] for k in CASES
                                                 if k.startswith("datasets.*.")}
    assert set(_TOP) <= keys and set(_DS_KEYS) <= keys
    assert {f"sampler.{f.name}" for f in dataclasses.fields(SamplerConfig)} <= set(CASES)


@pytest.mark.parametrize("key", list(CASES))
def test_every_group_key_reaches_the_run(key, files):
    a, b = CASES[key]
    got_a, raw_a = _gets(a, files)
    got_b, raw_b = _gets(b, files)
    assert got_a != got_b, f"{key} is accepted but changes nothing"
    assert raw_a != raw_b, f"{key} is not recorded in the group's config"
    if key.startswith("sampler."):
        name = key.split(".")[1]
        assert getattr(got_b[4], name) == b["sampler"][name]
        if name not in ("seed",):  # the separate fits get a seed derived per data set
            assert all(getattr(s, name) == b["sampler"][name] for s in got_b[1])
