"""The JSON schemas generated from bayespec.config's pydantic models, and every FIT.yaml key
reaching the run.

* workflow/schemas/config.schema.yaml's generated part ($defs of the ``fit`` block) equals what
  the models give now (drift test), is valid draft 2020-12 and accepts the shipped configs and
  those the workflow tests write, through Snakemake's own validator too;
* the schemas never reject a FIT.yaml that bayespec accepts, and reject bad values bayespec
  rejects;
* no ValidationError of pydantic reaches the user;
* every documented key (describe_keys, the README table) changes what the run gets: the
  problems (model, priors) or the sampler settings, and is recorded in ``cfg.raw``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import random
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from bayespec import config as C
from bayespec.errors import ConfigError
from bayespec.inference import runner
from bayespec.inference.fit import FitSettings, settings_from_config
from bayespec.io.spectrum import Spectrum

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"


def _schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))


def _validator(schema: dict):
    return jsonschema.Draft202012Validator(schema)


def _fit_validator(campaign: bool):
    """A validator of a FIT.yaml mapping: the standalone schema, or the campaign's $defs."""
    if campaign:
        s = _schema()
        return _validator({"$defs": s["$defs"], "$ref": "#/$defs/FitFile"})
    return _validator(C.fit_json_schema())


# ----------------------------------------------------------------------------- drift

def test_campaign_schema_is_generated_from_the_models():
    text = SCHEMA.read_text(encoding="utf-8")
    assert C.campaign_schema_text(text) == text, (
        "workflow/schemas/config.schema.yaml differs from bayespec.config's models; run "
        "python -m bayespec.config --campaign-schema --write")
    assert _schema()["$defs"] == C.fit_json_schema(campaign=True)["$defs"]


def test_hand_written_part_uses_the_generated_definitions():
    s = _schema()
    props = s["properties"]
    assert props["fit"]["$ref"] == "#/$defs/FitFile"
    assert props["prior_sets"]["additionalProperties"] == {"$ref": "#/$defs/PriorsBlock"}
    assert props["backend"]["enum"] == list(C.BACKENDS)
    refs = set(re.findall(r"#/\$defs/(\w+)", SCHEMA.read_text(encoding="utf-8")))
    assert refs <= set(s["$defs"]), refs - set(s["$defs"])


def test_generator_cli(tmp_path, capsys):
    assert C._main(["--campaign-schema", "--path", str(SCHEMA)]) == 0
    stale = tmp_path / "config.schema.yaml"
    stale.write_text(SCHEMA.read_text().replace("type: object", "type: objects", 1)
                     .replace("minimum: 2", "minimum: 3"))
    assert C._main(["--campaign-schema", "--path", str(stale)]) == 1
    assert C._main(["--campaign-schema", "--write", "--path", str(stale)]) == 0
    assert yaml.safe_load(stale.read_text())["$defs"] == _schema()["$defs"]
    capsys.readouterr()
    assert C._main(["--schema"]) == 0
    assert json.loads(capsys.readouterr().out) == C.fit_json_schema()


def test_sampler_dataclass_and_defaults_follow_the_model():
    names = [f.name for f in dataclasses.fields(C.SamplerConfig)]
    assert names == list(C.SamplerBlock.model_fields) == list(C.DEFAULTS["sampler"])
    assert [f.name for f in dataclasses.fields(FitSettings)][:len(names)] == names
    d = C.parse_fit_config({})
    assert d.sampler == C.SamplerConfig(**C.DEFAULTS["sampler"])
    assert d.raw["model"] == C.DEFAULTS["model"]


# ----------------------------------------------------------------------------- validity

@pytest.mark.parametrize("path", ["config.schema.yaml", "spectra.schema.yaml"])
def test_schema_files_are_valid_2020_12(path):
    s = yaml.safe_load((ROOT / "workflow" / "schemas" / path).read_text())
    assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(s)


def test_fit_json_schema_is_valid_and_strict():
    s = C.fit_json_schema()
    jsonschema.Draft202012Validator.check_schema(s)
    v = _validator(s)
    assert v.is_valid({"sampler": {"sweeps": 10, "thin": 1}, "model": None})
    assert not v.is_valid({"sampler": {"sweps": 10}})  # standalone: unknown keys rejected
    assert _fit_validator(campaign=True).is_valid({"sampler": {"sweps": 10}})  # bayespec's job
    with pytest.raises(ConfigError, match="did you mean 'sweeps'"):
        C.parse_fit_config({"sampler": {"sweps": 10}})


def _merged(*names: str, extra: str | None = None) -> dict:
    """config/config.yaml with --configfile files over it, merged as Snakemake does."""
    from snakemake.utils import update_config

    from bayespec.workflow import campaign

    cfg = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    overs = [yaml.safe_load((ROOT / "config" / n).read_text()) for n in names]
    if extra is not None:
        overs.append(yaml.safe_load(extra))
    for over in overs:
        update_config(cfg, over)
        campaign.replace_whole(cfg, over)
    return cfg


def _test_configs() -> list[str | None]:
    """The config texts the workflow tests write over config/config.yaml."""
    import test_formats_workflow
    import test_workflow

    return [test_workflow.FAST, test_formats_workflow.FAST]


@pytest.mark.parametrize("files", [(), ("formats.yaml",), ("paper.yaml",)])
@pytest.mark.parametrize("extra", [0, 1, None])
def test_shipped_and_test_configs_validate(files, extra):
    pytest.importorskip("snakemake")
    from snakemake.utils import validate

    text = None if extra is None else _test_configs()[extra]
    cfg = _merged(*files, extra=text)
    _validator(_schema()).validate(cfg)
    before = copy.deepcopy(cfg["fit"])
    validate(cfg, str(SCHEMA))  # Snakemake's validator (it also fills in defaults)
    assert cfg["fit"] == before  # no defaults injected into the fit block
    C.parse_fit_config(cfg["fit"], "fit")
    for name, spec in (cfg.get("prior_sets") or {}).items():
        C.with_overrides(C.parse_fit_config(cfg["fit"]), priors=spec)


@pytest.mark.parametrize("fit,where", [
    ({"sampler": {"replicas": 1}}, ["fit", "sampler", "replicas"]),
    ({"sampler": {"ratio": "1.5"}}, ["fit", "sampler", "ratio"]),
    ({"sampler": {"backend": "gpu"}}, ["fit", "sampler", "backend"]),
    ({"sampler": {"extend": 1}}, ["fit", "sampler", "extend"]),
    ({"model": {"K": "one"}}, ["fit", "model", "K"]),
    ({"model": {"K": [1, -1]}}, ["fit", "model", "K", 1]),
    ({"model": {"shape": "voigtian"}}, ["fit", "model", "shape"]),
    ({"model": {"background": "cubic"}}, ["fit", "model", "background"]),
    ({"model": {"background": {"kind": "cubic"}}}, ["fit", "model", "background", "kind"]),
    ({"model": {"background": {"degree": 2}}}, ["fit", "model", "background"]),
    ({"noise": {"sd": 0}}, ["fit", "noise", "sd"]),
    ({"noise": {"estimate": "yes"}}, ["fit", "noise", "estimate"]),
    ({"priors": {"width": {"dist": "gama"}}}, ["fit", "priors", "width", "dist"]),
    ({"priors": {"background": [{"dist": "x"}]}}, ["fit", "priors", "background", 0, "dist"]),
    ({"model": 5}, ["fit", "model"]),
])
def test_campaign_schema_names_the_key_first(fit, where):
    """Snakemake raises the first error the validator meets: it must name the key itself (a
    top-level anyOf would only say "not valid under any of the given schemas")."""
    cfg = _merged()
    cfg["fit"] = fit
    first = next(iter(_validator(_schema()).iter_errors(cfg)))
    assert list(first.absolute_path) == where, first.message
    with pytest.raises(ConfigError):
        C.parse_fit_config(fit)


P = {"dist": "normal", "mean": 0, "sd": 1}
G = {"dist": "gamma", "shape": 2, "rate": 1}
U = {"dist": "uniform", "low": 0, "high": 1}
POOL = {
    "model.shape": ["gaussian", "pseudo_voigt", "doublet_gaussian", "voigtian", 3],
    "model.K": [3, "1-3", [1, 2], [], [1, 1], "x", -1, True, 2.0, [0, 1.5], "3-1"],
    "model.background": ["none", "linear", "cubic", {"kind": "polynomial"}, 5,
                         {"kind": "polynomial", "degree": 2}, {"kind": "linear", "degree": 1},
                         {"kind": "polynomial", "degree": -1}, {"degree": 2},
                         {"kind": "linear", "shirley": True}, {"kind": "linear", "shirley": 1}],
    "model.likelihood": ["gaussian", "poisson", "x"],
    "priors.amplitude": [G, P, 5, {"dist": "gamma"}],
    "priors.center": [P, U],
    "priors.eta": [U, P],
    "priors.ratio": [G],
    "priors.splitting": [P],
    "priors.background": [P, [P, P], [P], 7, []],
    "noise.sd": [0.1, 0, -1, True, "1", 1],
    "noise.estimate": [True, False, "yes"],
    "noise.max_precision": [10, 0, "x"],
    "sampler.replicas": [1, 2, True, 2.5, 1e1],
    "sampler.ratio": [1, 2, "1.5", 1.0001],
    "sampler.sweeps": [1, 5, 1e4, 0, 2.5],
    "sampler.thin": [1, 10, 0],
    "sampler.threads": [0, 1, False],
    "sampler.backend": ["numba", "gpu", "cupy"],
    "sampler.extend": [True, 0],
    "sampler.target_se": [0, 0.1],
    "sampler.checkpoint_every": [0, -1, True, 1.5],
}


def _random_fits(n: int, seed: int = 0):
    rng = random.Random(seed)
    for _ in range(n):
        d: dict = {}
        for key, vals in POOL.items():
            if rng.random() < 0.2:
                sec, k = key.split(".")
                d.setdefault(sec, {})[k] = rng.choice(vals)
            elif rng.random() < 0.03:
                sec, k = key.split(".")
                d.setdefault(sec, {})[k] = None
        yield d


@pytest.mark.parametrize("campaign", [False, True])
def test_schema_never_rejects_what_bayespec_accepts(campaign):
    v = _fit_validator(campaign)
    accepted = rejected = 0
    for d in _random_fits(3000):
        try:
            C.parse_fit_config(d)
        except ConfigError:
            rejected += 1
            continue
        accepted += 1
        errs = [e.message for e in v.iter_errors(d)]
        assert not errs, (d, errs)
    assert accepted > 100 and rejected > 100


#: values of the wrong type or out of bounds (the rules between keys, such as thin <= sweeps
#: or degree only with kind polynomial, are bayespec's alone; so are YAML's .inf and .nan,
#: which JSON does not have)
BAD = {
    "model.shape": ["voigtian", 3, True], "model.K": ["x", -1, True, [], [1, 1], [0, 1.5], 1.5],
    "model.background": ["cubic", 5, [], {"kind": "cubic"}, {"degree": 2},
                         {"kind": "polynomial", "degree": -1}, {"kind": "linear", "shirley": 1}],
    "model.likelihood": ["x", 1], "noise.sd": [0, -1, True, "1"],
    "noise.estimate": ["yes", 1], "noise.max_precision": [0, "x"],
    "sampler.replicas": [1, True, 2.5, "24"], "sampler.ratio": [1, "1.5", True, 0.5],
    "sampler.burn_in": [-1, 0.5], "sampler.sweeps": [0, 2.5], "sampler.chains": [1, False],
    "sampler.seed": [-1, "0"], "sampler.thin": [0, 1.5], "sampler.threads": [0, False],
    "sampler.extend": [0, "true"], "sampler.backend": ["gpu", "Numba", 1],
    "sampler.target_se": [0, -1, True], "sampler.checkpoint_every": [-1, True, "300"],
}


@pytest.mark.parametrize("campaign", [False, True])
@pytest.mark.parametrize("key", sorted(BAD))
def test_schema_and_bayespec_reject_bad_values(key, campaign):
    v = _fit_validator(campaign)
    sec, k = key.split(".")
    for val in BAD[key]:
        d = {sec: {k: val}}
        assert not v.is_valid(d), (d, "accepted by the schema")
        with pytest.raises(ConfigError, match=re.escape(key)):
            C.parse_fit_config(d)


# ----------------------------------------------------------------------------- messages

ODD = [1, 1.5, "x", True, None, [], [1], {}, {"a": 1}, float("nan"), float("inf"), -0.0,
       2 ** 70, b"bytes", {1, 2}, object(), np.float32(1.5), np.int64(3), np.array([1, 2])]


def test_no_raw_pydantic_error_reaches_the_user():
    from pydantic import ValidationError

    rng = random.Random(1)
    paths = [r[0] for r in C.describe_keys()] + ["model", "noise", "sampler", "priors",
                                                   "model.background", "model.bogus"]
    for _ in range(4000):
        d: dict = {}
        for _ in range(rng.randint(1, 3)):
            *parents, last = rng.choice(paths).split(".")
            node = d
            for p in parents:
                if not isinstance(node.get(p), dict):
                    node[p] = {}
                node = node[p]
            node[last] = rng.choice(ODD)
        try:
            C.parse_fit_config(d, "f.yaml")
        except ConfigError as e:
            msg = str(e)
            assert msg.startswith("f.yaml: ") and "\n" not in msg, msg
            assert "pydantic" not in msg and "nput should" not in msg, msg
            assert "see the README" not in msg, msg  # every key has its own message
        except ValidationError as e:  # pragma: no cover - the failure this test is about
            pytest.fail(f"raw pydantic error for {d!r}: {e}")
        except (TypeError, ValueError) as e:  # pragma: no cover
            pytest.fail(f"{type(e).__name__} for {d!r}: {e}")


def test_unexpected_pydantic_error_still_one_line():
    from pydantic import ValidationError

    e = ValidationError.from_exception_data("FitFile", [
        {"type": "int_type", "loc": ("sampler", "zzz"), "input": "a\nb"}])
    err = C._config_error(e, "f.yaml")
    assert isinstance(err, ConfigError) and "\n" not in str(err)
    assert str(err).startswith("f.yaml: sampler.zzz: input should be a valid integer, got ")


def test_integrate_helpers_keep_their_behaviour():
    with pytest.raises(ConfigError, match=r"^g\.yaml: datasets\.A: must be a mapping"):
        C._section([1], "datasets.A", "g.yaml")
    assert C._section(None, "x", "g") == {}
    with pytest.raises(ConfigError, match=r"^g: ties\.x: unknown key; did you mean 'X'\? "
                                          r"allowed keys under ties: X, y$"):
        C._check_keys({"x": 1}, "ties", ("X", "y"), "g")
    with pytest.raises(ConfigError, match="allowed keys at the top level: a, b"):
        C._check_keys({"c": 1}, "", ("a", "b"), "g")


def test_configs_are_frozen():
    cfg = C.parse_fit_config({})
    for obj, attr in [(cfg, "source"), (cfg.model, "K"), (cfg.noise, "sd"),
                      (cfg.sampler, "sweeps")]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, attr, None)
    assert dataclasses.replace(cfg.sampler, threads=3).threads == 3  # campaign_integrate does


# ----------------------------------------------------------------------------- keys reach the run

PV = {"model": {"shape": "pseudo_voigt"}}
APV = {"model": {"shape": "asym_pseudo_voigt"}}
DBL = {"model": {"shape": "doublet_gaussian"},
       "priors": {"splitting": {"dist": "normal", "mean": 1, "sd": 0.1},
                  "ratio": {"dist": "uniform", "low": 0.4, "high": 0.6}}}


def _with(base: dict, **blocks) -> dict:
    d = copy.deepcopy(base)
    for sec, upd in blocks.items():
        if isinstance(upd, list):  # ties
            d[sec] = list(upd)
        else:
            d.setdefault(sec, {}).update(upd)
    return d


#: a non-default value for every FIT.yaml key: (base config, config with that key changed)
COMP = {"model": {"components": [{"name": "a", "shape": "gaussian", "K": [1]},
                                  {"name": "b", "shape": "gaussian", "K": [1]}]}}
CASES = {
    "model.shape": ({}, {"model": {"shape": "lorentzian"}}),
    "model.K": ({}, {"model": {"K": "2-3"}}),
    "model.background.kind": ({}, {"model": {"background": {"kind": "constant"}}}),
    "model.background.degree": ({"model": {"background": {"kind": "polynomial", "degree": 1}}},
                                {"model": {"background": {"kind": "polynomial", "degree": 2}}}),
    "model.background.shirley": ({}, {"model": {"background": {"kind": "linear",
                                                               "shirley": True}}}),
    "model.likelihood": ({}, {"model": {"likelihood": "poisson"}}),
    "priors.amplitude": ({}, {"priors": {"amplitude": G}}),
    "priors.center": ({}, {"priors": {"center": {"dist": "uniform", "low": 2, "high": 8}}}),
    "priors.width": ({}, {"priors": {"width": {"dist": "gamma", "shape": 3, "rate": 2}}}),
    "priors.eta": (PV, _with(PV, priors={"eta": {"dist": "uniform", "low": 0.1, "high": 0.9}})),
    "priors.asym": (APV, _with(APV, priors={"asym": {"dist": "uniform", "low": -0.5,
                                                     "high": 0.5}})),
    "priors.splitting": (DBL, _with(DBL, priors={"splitting": {"dist": "normal", "mean": 2,
                                                               "sd": 0.1}})),
    "priors.ratio": (DBL, _with(DBL, priors={"ratio": G})),
    "sampler.ladder": ({}, {"sampler": {"ladder": "adaptive"}}),
    "sampler.moves": ({}, {"sampler": {"moves": "block"}}),
    "priors.shirley": ({"model": {"background": {"kind": "linear", "shirley": "active"}}},
                       {"model": {"background": {"kind": "linear", "shirley": "active"}},
                        "priors": {"shirley": {"dist": "lognormal", "mu": -2, "sigma": 1}}}),
    **{f"priors.{k}": ({"model": {"shape": shape}},
                       {"model": {"shape": shape}, "priors": {k: spec}})
       for k, shape, spec in [
           ("gamma", "voigt", {"dist": "lognormal", "mu": -1, "sigma": 0.5}),
           ("alpha", "doniach_gaussian", {"dist": "uniform", "low": 0, "high": 0.3}),
           ("width_ratio", "split_pseudo_voigt", {"dist": "lognormal", "mu": 0.2, "sigma": 0.3}),
           ("ka2_ratio", "kalpha_pseudo_voigt", {"dist": "fixed", "value": 0.5}),
           ("lambda_ratio", "kalpha_pseudo_voigt", {"dist": "fixed", "value": 1.0021}),
           ("quad_splitting", "mossbauer_doublet", {"dist": "uniform", "low": 0, "high": 3}),
           ("quad_shift", "mossbauer_sextet", {"dist": "uniform", "low": -0.3, "high": 0.3}),
           ("field", "mossbauer_sextet", {"dist": "uniform", "low": 10, "high": 40}),
           ("ratio_25", "mossbauer_sextet", {"dist": "uniform", "low": 0, "high": 4})]},
    "priors.background": ({}, {"priors": {"background": [P, {"dist": "normal", "mean": 0,
                                                             "sd": 0.5}]}}),
    "noise.sd": ({}, {"noise": {"sd": 0.5}}),
    "noise.estimate": ({"noise": {"estimate": True}}, {"noise": {"estimate": False, "sd": 0.5}}),
    "noise.max_precision": ({}, {"noise": {"max_precision": 100}}),
    "model.components": (COMP, _with(COMP, model={"components": [
        {"name": "a", "shape": "gaussian", "K": [1]},
        {"name": "b", "shape": "lorentzian", "K": [0, 1]}]})),
    "ties": (COMP, _with(COMP, ties=["b.width[0] = a.width[0]"])),
    "offsets": (_with(COMP, ties=["b.center[0] = a.center[0] + s"],
                      offsets={"s": {"dist": "normal", "mean": 0, "sd": 1}}),
                _with(COMP, ties=["b.center[0] = a.center[0] + s"],
                      offsets={"s": {"dist": "normal", "mean": 0, "sd": 2}})),
    **{f"sampler.{k}": ({}, {"sampler": {k: v}}) for k, v in {
        "replicas": 8, "ratio": 2.0, "burn_in": 10, "sweeps": 100, "chains": 3, "seed": 7,
        "thin": 2, "threads": 3, "extend": False, "backend": "numpy", "target_se": 0.05,
        "checkpoint_every": 60.0}.items()},
}


def _readme_keys() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    sec = text.split("### FIT.yaml", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"^\| `((?:model|priors|noise|sampler)\.[\w.]+|ties|offsets)` \|", sec,
                      flags=re.M)


def test_every_documented_key_has_a_case():
    keys = [r[0] for r in C.describe_keys()]
    assert len(keys) == len(set(keys))
    assert set(CASES) == set(keys)
    assert [k for k, _, _ in C._keys()] == keys
    assert set(_readme_keys()) == set(keys), "README's FIT.yaml table and describe_keys differ"


class _Sampled(Exception):
    pass


@pytest.fixture
def what_the_run_gets(monkeypatch):
    """cfg -> what `bayespec fit` hands to the sampler (runner.fit_spectrum_config): the
    problems (model and priors bound to data), the FitSettings and the config stored."""
    x = np.linspace(0.0, 10.0, 101)
    y = np.round(20 + 100 * np.exp(-0.5 * (x - 5.0) ** 2 / 0.5 ** 2))  # counts
    spec = Spectrum(x=x, y=y, sd=None, path="mem.csv")
    seen = {}

    def fake_fit_problems(problems, settings, config, **kw):
        seen.update(problems=problems, settings=settings, config=config)
        raise _Sampled

    monkeypatch.setattr(runner, "fit_problems", fake_fit_problems)

    def fake_fit_composite(candidates, settings, config, *a, **kw):  # composite models
        seen.update(problems=candidates, settings=settings, config=config)
        raise _Sampled

    monkeypatch.setattr(runner, "fit_composite", fake_fit_composite)

    def get(cfg):
        with pytest.raises(_Sampled):
            runner.fit_spectrum_config(spec, cfg, "mem.csv")
        probs = tuple((p.K, p.shape.name, p.background.name, p.nb, p.param_names, p.likelihood,
                       p.offset is not None, tuple((q.dist, q.params) for q in p.priors))
                      for p in seen["problems"])
        assert seen["settings"] == settings_from_config(cfg) and seen["config"] == cfg.raw
        return probs, seen["settings"]

    return get


@pytest.mark.parametrize("key", list(CASES))
def test_every_key_reaches_the_run_and_the_store(key, what_the_run_gets):
    base, changed = CASES[key]
    a, b = C.parse_fit_config(base, "fit.yaml"), C.parse_fit_config(changed, "fit.yaml")
    probs_a, set_a = what_the_run_gets(a)
    probs_b, set_b = what_the_run_gets(b)
    assert (probs_a, set_a) != (probs_b, set_b), f"{key} is accepted but changes nothing"
    if key.startswith("sampler."):
        name = key.split(".")[1]
        assert getattr(set_b, name) == changed["sampler"][name] != getattr(set_a, name)
        assert [f for f in dataclasses.fields(FitSettings)
                if getattr(set_a, f.name) != getattr(set_b, f.name)] == \
            [f for f in dataclasses.fields(FitSettings) if f.name == name]
    # recorded in the config the store keeps, which re-parses to the same run
    assert a.raw != b.raw
    again = C.parse_fit_config(json.loads(json.dumps(b.raw)), "fit.yaml")
    assert (again.model, again.noise, again.sampler, again.raw) == \
        (b.model, b.noise, b.sampler, b.raw)
    assert what_the_run_gets(again) == (probs_b, set_b)


def test_manifest_schema_names_every_manifest_column():
    """The manifest schema (workflow/schemas/spectra.schema.yaml, what Snakemake validates)
    and the columns bayespec reads (workflow.manifest.MANIFEST_COLUMNS) are the same set, so a
    new column is documented and validated where it is read."""
    from bayespec.workflow.manifest import MANIFEST_COLUMNS

    s = yaml.safe_load((ROOT / "workflow" / "schemas" / "spectra.schema.yaml").read_text())
    assert set(s["properties"]) == set(MANIFEST_COLUMNS)
