"""Tests for bayespec.config: defaults, parsing, every validation error, overrides."""

from __future__ import annotations

import pytest
import yaml

from bayespec import config as C
from bayespec.errors import ConfigError, PriorError
from bayespec.models import shapes
from bayespec.models.priors import Prior

SRC = "fit.yaml"


def _err(d, *parts: str, exc=ConfigError) -> str:
    with pytest.raises(exc) as ei:
        C.parse_fit_config(d, SRC)
    msg = str(ei.value)
    assert "\n" not in msg and msg.startswith(f"{SRC}: "), msg
    for part in parts:
        assert part in msg, msg
    return msg


# ----------------------------------------------------------------------------- defaults

def test_target_se_defaults_to_a_tenth_of_a_nat_and_null_turns_it_off():
    """sampler.target_se is on by default (0.1 nat); unlike other keys, whose null means "not
    given", target_se: null means run every sweep, and the store's config says so."""
    assert C.parse_fit_config({"sampler": {}}).sampler.target_se == 0.1
    assert C.parse_fit_config({"sampler": {"target_se": 0.3}}).sampler.target_se == 0.3
    off = C.parse_fit_config({"sampler": {"target_se": None, "threads": None}})
    assert off.sampler.target_se is None and off.raw["sampler"]["target_se"] is None
    assert off.sampler.threads is None  # null = not given = the default (all cores)
    with pytest.raises(ConfigError, match="target_se"):
        C.parse_fit_config({"sampler": {"target_se": 0}})


@pytest.mark.parametrize("d", [None, {}, {"model": None, "priors": None, "noise": None}])
def test_defaults(d):
    cfg = C.parse_fit_config(d)
    assert cfg.model == C.ModelConfig("gaussian", (1, 2, 3, 4), "linear", None)
    assert cfg.priors == {}
    assert cfg.noise == C.NoiseConfig(sd=None, estimate=True, max_precision=None)
    assert cfg.sampler == C.SamplerConfig(24, 1.5, 1000, 5000, 4, 0, 5, None, True, "numba")
    assert cfg.raw == {
        "model": {"shape": "gaussian", "K": [1, 2, 3, 4], "background": {"kind": "linear"}},
        "priors": {},
        "noise": {"estimate": True, "max_precision": None},
        "sampler": dict(C.DEFAULTS["sampler"]),
    }
    yaml.safe_dump(cfg.raw)  # plain YAML-able


def test_load_empty_file_gives_defaults(tmp_path):
    p = tmp_path / "fit.yaml"
    p.write_text("# nothing\n")
    cfg = C.load_fit_config(p)
    assert cfg.model.K == (1, 2, 3, 4) and cfg.source == str(p)


# ----------------------------------------------------------------------------- full parse

FULL = """
model:
  shape: pseudo_voigt
  K: "1-6"
  background: {kind: polynomial, degree: 2}
priors:
  amplitude: {dist: gamma, shape: 5, rate: 5}
  center: {dist: normal, mean: 1.5, sd: 0.4472}
  width: {dist: gamma, shape: 5, rate: 0.04}
  eta: {dist: uniform, low: 0, high: 1}
  background:
    - {dist: normal, mean: 0, sd: 10}
    - {dist: normal, mean: 0, sd: 1}
    - {dist: normal, mean: 0, sd: 1e-1}
noise: {estimate: true, max_precision: 1e4}
sampler: {replicas: 16, ratio: 2, burn_in: 0, sweeps: 500, chains: 2, seed: 7, thin: 5, threads: 3}
"""


def test_full_config(tmp_path):
    p = tmp_path / "fit.yaml"
    p.write_text(FULL)
    cfg = C.load_fit_config(p)
    assert cfg.model == C.ModelConfig("pseudo_voigt", (1, 2, 3, 4, 5, 6), "polynomial", 2)
    assert set(cfg.priors) == {"amplitude", "center", "width", "eta", "background"}
    assert isinstance(cfg.priors["width"], Prior) and cfg.priors["width"].positive
    assert len(cfg.priors["background"]) == 3
    assert cfg.priors["background"][2].params[1] == pytest.approx(0.1)  # YAML 1.2 float
    assert cfg.noise == C.NoiseConfig(None, True, 1e4)
    assert cfg.sampler == C.SamplerConfig(16, 2.0, 0, 500, 2, 7, 5, 3, True, "numba")
    assert isinstance(cfg.sampler.ratio, float)
    # raw re-parses to the same config
    again = C.parse_fit_config(yaml.safe_load(yaml.safe_dump(cfg.raw)))
    assert (again.model, again.noise, again.sampler, again.raw) == \
        (cfg.model, cfg.noise, cfg.sampler, cfg.raw)


@pytest.mark.parametrize("K,expect", [("1-6", (1, 2, 3, 4, 5, 6)), (" 2 - 3 ", (2, 3)),
                                      ("3", (3,)), ([3, 0, 1], (0, 1, 3)), (2, (2,)),
                                      (0, (0,)), (2.0, (2,))])
def test_K_forms(K, expect):
    assert C.parse_fit_config({"model": {"K": K}}).model.K == expect


@pytest.mark.parametrize("K,part", [([1, 2, 2], "duplicated"), ([1, -1], "model.K[1]"),
                                    (True, "integer"), ([1, True], "model.K[1]"),
                                    ("one", "range like"), ("6-1", "empty"), ([], "empty"),
                                    (1.5, "integer")])
def test_K_errors(K, part):
    _err({"model": {"K": K}}, "model.K", part)


def test_background_string_shorthand():
    assert C.parse_fit_config({"model": {"background": "none"}}).model.background == "none"


def test_noise_sd():
    cfg = C.parse_fit_config({"noise": {"sd": 0.1}})
    assert cfg.noise == C.NoiseConfig(0.1, False, None)
    assert cfg.raw["noise"] == {"sd": 0.1, "estimate": False}
    assert C.parse_fit_config({"noise": {"sd": 0.1, "estimate": False}}).noise.sd == 0.1


def test_all_shapes_and_backgrounds_accepted():
    for s in shapes.SHAPES:
        assert C.parse_fit_config({"model": {"shape": s}}).model.shape == s
    for b in shapes.BACKGROUNDS:
        bg = {"kind": b, "degree": 1} if b in ("polynomial", "legendre") else {"kind": b}
        assert C.parse_fit_config({"model": {"background": bg}}).model.background == b


# ----------------------------------------------------------------------------- errors

def test_top_level_not_mapping():
    _err([1, 2], "top level must be a mapping")


@pytest.mark.parametrize("d,key", [
    ({"modle": {}}, "modle"),
    ({"model": {"k": [1]}}, "model.k"),
    ({"model": {"background": {"kind": "linear", "order": 1}}}, "model.background.order"),
    ({"priors": {"sigma": {"dist": "normal", "mean": 0, "sd": 1}}}, "priors.sigma"),
    ({"noise": {"precision": 3}}, "noise.precision"),
    ({"sampler": {"sweep": 3}}, "sampler.sweep"),
])
def test_unknown_keys(d, key):
    _err(d, f"{key}: unknown key", "allowed keys")


def test_unknown_key_suggestion():
    _err({"model": {"k": [1]}}, "did you mean 'K'", "shape, K, background")
    _err({"sampler": {"sweep": 3}}, "did you mean 'sweeps'")


def test_section_not_mapping():
    _err({"sampler": [1]}, "sampler: must be a mapping")


def test_unknown_shape():
    _err({"model": {"shape": "voigtian"}}, "model.shape", "'voigtian'", "gaussian")


def test_unknown_background():
    _err({"model": {"background": {"kind": "cubic"}}}, "model.background.kind", "polynomial")


def test_background_kind_missing():
    _err({"model": {"background": {"degree": 2}}}, "model.background.kind", "missing")


def test_polynomial_requires_degree():
    _err({"model": {"background": {"kind": "polynomial"}}}, "model.background.degree",
         "required")


@pytest.mark.parametrize("deg", [-1, True, 1.5])
def test_polynomial_bad_degree(deg):
    _err({"model": {"background": {"kind": "polynomial", "degree": deg}}},
         "model.background.degree", "integer >= 0")


def test_degree_only_for_polynomial():
    _err({"model": {"background": {"kind": "linear", "degree": 1}}}, "model.background.degree",
         "only allowed with kind polynomial")


@pytest.mark.parametrize("key,val,part", [
    ("replicas", 1, "sampler.replicas: must be an integer >= 2, got 1"),
    ("replicas", True, "sampler.replicas: must be an integer >= 2, got True"),
    ("ratio", 1, "sampler.ratio: must be a number > 1"),
    ("ratio", "1.5", "sampler.ratio"),
    ("burn_in", -1, "sampler.burn_in: must be an integer >= 0"),
    ("sweeps", 0, "sampler.sweeps: must be an integer >= 1"),
    ("chains", 1, "sampler.chains: must be an integer >= 2"),
    ("seed", -1, "sampler.seed: must be an integer >= 0"),
    ("thin", 0, "sampler.thin: must be an integer >= 1"),
    ("threads", 0, "sampler.threads: must be an integer >= 1"),
    ("threads", False, "sampler.threads"),
    ("sweeps", 2.5, "sampler.sweeps"),
])
def test_sampler_errors(key, val, part):
    _err({"sampler": {key: val}}, part)


def test_thin_above_sweeps():
    _err({"sampler": {"sweeps": 5, "thin": 10}}, "sampler.thin", "<= sampler.sweeps (5)")


def test_integral_float_accepted_for_ints():
    assert C.parse_fit_config({"sampler": {"sweeps": 1e4}}).sampler.sweeps == 10000


@pytest.mark.parametrize("noise,key,part", [
    ({"sd": 0.1, "estimate": True}, "noise", "not both"),
    ({"estimate": False}, "noise", "no sd"),
    ({"sd": 0}, "noise.sd", "> 0"),
    ({"sd": -1}, "noise.sd", "> 0"),
    ({"sd": True}, "noise.sd", "> 0"),
    ({"estimate": "yes"}, "noise.estimate", "true or false"),
    ({"sd": 0.1, "max_precision": 10}, "noise.max_precision", "only allowed with estimate"),
    ({"max_precision": 0}, "noise.max_precision", "> 0"),
])
def test_noise_errors(noise, key, part):
    _err({"noise": noise}, f"{key}:", part)


# ----------------------------------------------------------------------------- priors

def test_priors_only_given_keys():
    cfg = C.parse_fit_config({"priors": {"center": {"dist": "normal", "mean": 1, "sd": 2},
                                         "width": None}})
    assert list(cfg.priors) == ["center"] and cfg.raw["priors"] == {
        "center": {"dist": "normal", "mean": 1, "sd": 2}}


def test_prior_error_names_file_and_key():
    _err({"priors": {"amplitude": {"dist": "normal", "mean": 0, "sd": 1}}},
         "priors.amplitude", "positive", exc=PriorError)


def test_improper_prior():
    _err({"priors": {"width": {"dist": "gamma", "shape": 0, "rate": 1}}}, "priors.width.shape",
         exc=PriorError)


def test_eta_outside_unit_interval():
    _err({"model": {"shape": "pseudo_voigt"},
          "priors": {"eta": {"dist": "uniform", "low": 0, "high": 2}}},
         "priors.eta", "[0, 1]", exc=PriorError)
    _err({"model": {"shape": "pseudo_voigt"},
          "priors": {"eta": {"dist": "normal", "mean": 0.5, "sd": 1}}},
         "priors.eta", exc=PriorError)


def test_eta_with_other_shape():
    _err({"priors": {"eta": {"dist": "uniform", "low": 0, "high": 1}}}, "priors.eta",
         "pseudo_voigt", exc=PriorError)


def test_background_prior_single_and_list():
    one = {"dist": "normal", "mean": 0, "sd": 10}
    cfg = C.parse_fit_config({"priors": {"background": one}})
    assert isinstance(cfg.priors["background"], Prior)
    cfg = C.parse_fit_config({"model": {"background": {"kind": "exponential"}},
                              "priors": {"background": [one, one]}})
    assert len(cfg.priors["background"]) == 2


def test_background_prior_length_mismatch():
    one = {"dist": "normal", "mean": 0, "sd": 10}
    _err({"model": {"background": {"kind": "polynomial", "degree": 3}},
          "priors": {"background": [one, one]}},
         "priors.background", "2 prior(s)", "4 coefficient(s)", exc=PriorError)


def test_background_prior_for_none():
    _err({"model": {"background": {"kind": "none"}},
          "priors": {"background": {"dist": "normal", "mean": 0, "sd": 1}}},
         "priors.background", "no coefficients", exc=PriorError)


def test_background_prior_list_element_error():
    one = {"dist": "normal", "mean": 0, "sd": 10}
    _err({"priors": {"background": [one, {"dist": "normal", "mean": 0, "sd": -1}]}},
         "priors.background[1]", exc=PriorError)


# ----------------------------------------------------------------------------- loading

def test_load_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        C.load_fit_config(tmp_path / "none.yaml")


def test_yaml_syntax_error_names_line(tmp_path):
    p = tmp_path / "fit.yaml"
    p.write_text("model:\n  shape: gaussian\n  K: [1, 2\nsampler: {}\n")
    with pytest.raises(ConfigError) as ei:
        C.load_fit_config(p)
    msg = str(ei.value)
    assert str(p) in msg and "line " in msg and "invalid YAML" in msg and "\n" not in msg


def test_yaml_duplicate_key(tmp_path):
    p = tmp_path / "fit.yaml"
    p.write_text("sampler:\n  sweeps: 10\n  sweeps: 20\n")
    with pytest.raises(ConfigError, match=r"line 3.*duplicate key 'sweeps'.*line 2"):
        C.load_fit_config(p)


def test_yaml_top_level_list(tmp_path):
    p = tmp_path / "fit.yaml"
    p.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        C.load_fit_config(p)


def test_load_error_names_file(tmp_path):
    p = tmp_path / "myfit.yaml"
    p.write_text("sampler:\n  replicas: 1\n")
    with pytest.raises(ConfigError, match=r"myfit\.yaml: sampler\.replicas: must be an integer"):
        C.load_fit_config(p)


# ----------------------------------------------------------------------------- overrides

def test_with_overrides():
    cfg = C.parse_fit_config({"noise": {"sd": 0.2}}, SRC)
    new = C.with_overrides(cfg, sampler={"sweeps": 500}, model={"K": "1-2"})
    assert new.sampler.sweeps == 500 and new.sampler.replicas == 24
    assert new.model.K == (1, 2) and new.noise.sd == 0.2
    assert cfg.sampler.sweeps == C.DEFAULTS["sampler"]["sweeps"]  # original untouched
    assert C.with_overrides(cfg, noise={"estimate": True}).noise.estimate is True
    assert C.with_overrides(new, noise={"sd": 0.3}).noise.sd == 0.3


def test_with_overrides_revalidates():
    cfg = C.parse_fit_config({}, SRC)
    with pytest.raises(ConfigError, match=r"fit\.yaml: sampler\.thin"):
        C.with_overrides(cfg, sampler={"sweeps": 3})
    with pytest.raises(ConfigError, match="unknown section"):
        C.with_overrides(cfg, samplers={"sweeps": 5})


def test_with_overrides_background_replaced_and_prior_removed():
    cfg = C.parse_fit_config({"model": {"background": {"kind": "polynomial", "degree": 3}},
                              "priors": {"center": {"dist": "normal", "mean": 0, "sd": 1}}})
    new = C.with_overrides(cfg, model={"background": {"kind": "linear"}},
                           priors={"center": None})
    assert new.model.background == "linear" and new.model.degree is None
    assert new.priors == {}


# ----------------------------------------------------------------------------- docs

def test_describe_keys_covers_all_keys():
    rows = C.describe_keys()
    assert all(len(r) == 3 and all(isinstance(x, str) for x in r) for r in rows)
    keys = {r[0] for r in rows}
    expected = {f"model.{k}" for k in ("shape", "K", "likelihood")} | {
        "model.background.kind", "model.background.degree", "model.background.shirley"}
    expected |= {f"sampler.{k}" for k in C.DEFAULTS["sampler"]}
    expected |= {"noise.sd", "noise.estimate", "noise.max_precision", "priors.amplitude",
                 "priors.center", "priors.width", "priors.eta", "priors.background",
                 "priors.asym", "priors.splitting", "priors.ratio", "priors.shirley"}
    expected |= {f"priors.{e}" for e in shapes.EXTRAS}  # every registered extra parameter
    expected |= {"model.components", "ties", "offsets"}  # composite models (issue 12)
    assert keys == expected
    assert dict((r[0], r[1]) for r in rows)["sampler.replicas"] == "24"


# ----------------------------------------------------------------------------- pydantic models

def test_null_value_of_unknown_key_is_still_unknown():
    _err({"sampler": {"sweep": None}}, "sampler.sweep: unknown key", "did you mean 'sweeps'")
    _err({"modle": None}, "modle: unknown key", "did you mean 'model'")


def test_numpy_scalars_accepted():
    import numpy as np

    cfg = C.parse_fit_config({"sampler": {"sweeps": np.int64(100), "ratio": np.float32(2)},
                              "noise": {"sd": np.float64(0.5)}, "model": {"K": np.int64(3)}})
    assert cfg.sampler.sweeps == 100 and type(cfg.sampler.sweeps) is int
    assert type(cfg.sampler.ratio) is float and type(cfg.noise.sd) is float
    assert cfg.model.K == (3,) and type(cfg.model.K[0]) is int
    yaml.safe_dump(cfg.raw)


@pytest.mark.parametrize("d,part", [
    ({"noise": {"sd": 0, "estimate": True}}, "noise: give either sd"),
    ({"noise": {"sd": 0, "estimate": "yes"}}, "noise.estimate: must be true or false"),
    ({"noise": {"sd": 0.1, "max_precision": "x"}}, "noise.max_precision: only allowed"),
    ({"model": {"background": {"kind": "linear", "degree": -1}}}, "degree: only allowed"),
    ({"model": {"background": {"kind": "polynomial", "shirley": 1}}}, "degree: required"),
    ({"model": {"shape": "voigtian", "K": "x"}, "sampler": {"sweep": 1}}, "model.shape"),
    ({"sampler": {"replicas": 1, "sweep": 1}}, "sampler.sweep: unknown key"),
    ({"sampler": {"sweeps": 1}, "priors": {"width": {"dist": "normal", "mean": 0, "sd": 1}}},
     "priors.width"),
])
def test_first_problem_reported_first(d, part):
    """With several problems the one reported is the one bayespec always reported first."""
    _err(d, part, exc=ConfigError)


def test_models_are_the_schema_source():
    assert tuple(C.FitFile.model_fields) == ("model", "priors", "noise", "sampler", "ties",
                                             "offsets")
    assert C.DEFAULTS["sampler"] == {k: f.default for k, f in C.SamplerBlock.model_fields.items()}
    assert [r[0] for r in C.describe_keys()][:3] == ["model.shape", "model.K",
                                                     "model.background.kind"]
    s = C.fit_json_schema()
    assert s["$defs"]["SamplerBlock"]["properties"]["replicas"]["minimum"] == 2
    assert s["$defs"]["SamplerBlock"]["additionalProperties"] is False
