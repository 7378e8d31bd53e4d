"""FIT.yaml, the ``bayespec fit --config`` file: typed models, validated into frozen dataclasses.

The FIT.yaml format is defined once, by the pydantic v2 models below: :class:`FitFile` and its
blocks :class:`ModelBlock` (with :class:`BackgroundBlock`), ``PriorsBlock``, :class:`NoiseBlock`
and :class:`SamplerBlock`. Their fields give the keys, types, bounds, defaults and meanings;
their validators hold the rules that involve several keys. Everything else is derived:

* :func:`parse_fit_config` / :func:`load_fit_config` validate a mapping / file into a
  :class:`FitConfig` (frozen dataclasses, the objects the rest of bayespec reads);
* :data:`DEFAULTS` and :func:`describe_keys` (the README's key table) come from the fields;
* :func:`fit_json_schema` is the JSON schema (draft 2020-12) of FIT.yaml, and the generated
  ``$defs`` block of ``workflow/schemas/config.schema.yaml`` (the campaign config's ``fit``
  block); ``python -m bayespec.config --help`` prints or rewrites them.

Every error is a ConfigError (PriorError for priors) with a one-line message naming the file,
the dotted key and the fix: pydantic's ValidationError never reaches the user, it is translated
by :func:`_config_error` (each field's :class:`_Says` holds the text of its checks). Unknown keys
at any level are errors with a "did you mean" hint. ``null`` for a key means the same as leaving
it out, except for ``sampler.target_se`` (default 0.1), where null turns the target off.
Priors are parsed by :func:`bayespec.models.priors.parse_prior`.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import functools
import numbers
import re
import sys
import typing
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Mapping, Union

import annotated_types as at
import yaml
from pydantic import (AllowInfNan, BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator,
                      PrivateAttr, Strict, StringConstraints, TypeAdapter, ValidationError,
                      ValidationInfo, WithJsonSchema, create_model, field_validator,
                      model_validator)
from pydantic_core import PydanticCustomError

from ..errors import ConfigError, PriorError
from ..models import shapes
from ..models.model import check_extra_prior
from ..models.priors import Prior, parse_prior
from ..models.priors import _ALIASES as _PRIOR_ALIASES
from ..models.priors import _DISTS as _PRIOR_DISTS
from ..models.ties import tied_kinds

LIKELIHOODS = ("gaussian", "poisson")
BACKENDS = ("numba", "numpy", "cupy", "auto", "array_api_strict")
_PEAK_PRIORS = {"amplitude": True, "center": False, "width": True}  # name -> positive


# ============================================================================ the dataclasses

@dataclass(frozen=True)
class ModelConfig:
    """Peak shape, the K values to compare, and the background (``degree`` for polynomial)."""

    shape: str
    K: tuple[int, ...]
    background: str
    degree: int | None
    likelihood: str = "gaussian"  # gaussian | poisson (raw counts)
    #: True: the data's iterative Shirley curve as a fixed offset; "active": the Shirley step of
    #: the model's own peaks inside the model, its scale sampled (models/shirley.py)
    shirley: bool | str = False
    #: a composite model's components in model order (shape and K above then unused), or ()
    components: tuple[ComponentConfig, ...] = ()


@dataclass(frozen=True)
class ComponentConfig:
    """One component of a composite model: its name, shape and the counts to compare."""

    name: str
    shape: str
    K: tuple[int, ...]


@dataclass(frozen=True)
class NoiseConfig:
    """Known noise ``sd``, or ``estimate`` the precision (ladder top ``max_precision``)."""

    sd: float | None
    estimate: bool
    max_precision: float | None


@dataclass(frozen=True)
class SamplerConfig:
    """Exchange Monte Carlo settings; ``threads`` None = all cores. The fields are those of
    :class:`SamplerBlock`, in the same order (tests/test_config_schema.py checks it)."""

    replicas: int
    ratio: float
    burn_in: int
    sweeps: int
    chains: int
    seed: int
    thin: int
    threads: int | None
    extend: bool
    backend: str
    target_se: float | None = 0.1  # stop once the SE of F is <= this (sweeps = maximum)
    checkpoint_every: float = 300.0  # seconds between checkpoints, when one is asked for
    ladder: str = "geometric"  # geometric | adaptive (rungs placed from pilot swap rates)
    moves: str = "single"  # single | block (block moves with covariances learned in burn-in)


@dataclass(frozen=True)
class FitConfig:
    """A validated FIT.yaml. ``priors`` holds only user-given keys (Prior or list[Prior]);
    ``raw`` is the normalised plain dict with all defaults filled in (re-parses to the same)."""

    model: ModelConfig
    priors: dict
    noise: NoiseConfig
    sampler: SamplerConfig
    raw: dict
    source: str = "<config>"
    #: ties inside the model (bayespec.models.ties.Tie; composite models only) and their offsets'
    #: priors; ``priors`` of a composite model maps each component name to its kind -> Prior
    #: mapping, and ``background`` to the background prior(s)
    ties: tuple = ()
    offsets: dict = field(default_factory=dict)


# ============================================================================ helpers

def _err(src: str, key: str, msg: str) -> ConfigError:
    return ConfigError(f"{src}: {key}: {msg}")


def _section(v: Any, key: str, src: str) -> dict:
    """A block of a config file as a dict (``null`` = empty); ConfigError if not a mapping."""
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise _err(src, key, _not_a_mapping(key, v))
    return dict(v)


def _not_a_mapping(key: str, v: Any) -> str:
    return f"must be a mapping (key: value lines indented under '{key}:'), got {v!r}"


def _unknown_key(k: Any, prefix: str, allowed: typing.Sequence[str]) -> tuple[str, str]:
    """(dotted key, problem) for the unknown key ``k`` of the block ``prefix``."""
    full = f"{prefix}.{k}" if prefix else str(k)
    close = [a for a in allowed if a.lower() == str(k).lower()] or \
        difflib.get_close_matches(str(k), allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return full, (f"unknown key; {hint}allowed keys "
                  f"{'under ' + prefix if prefix else 'at the top level'}: {', '.join(allowed)}")


def _check_keys(d: Mapping, prefix: str, allowed: tuple[str, ...], src: str) -> None:
    """ConfigError for the first key of ``d`` not in ``allowed`` (with a "did you mean")."""
    for k in d:
        if k not in allowed:
            raise _err(src, *_unknown_key(k, prefix, allowed))


def _fail(problem: str, sub: str = "", prior: bool = False,
          keyed: bool = False) -> PydanticCustomError:
    """A validation error carrying bayespec's own text. ``sub``: a key below the one pydantic
    reports (``thin``, ``[1]``); ``keyed``: ``problem`` already starts with its key (priors.py's
    messages); ``prior``: raise it as a PriorError."""
    return PydanticCustomError("bayespec", "{problem}",
                               {"problem": problem, "sub": sub, "prior": prior, "keyed": keyed})


@dataclass(frozen=True)
class _Says:
    """What a key must be, for the message of any error pydantic finds in it (``{got}``: the
    value given, as repr); ``missing``: the message when a required key is absent."""

    problem: str
    missing: str | None = None


def _whole(v: Any) -> Any:
    """Integer keys accept whole floats (YAML writes 1e4 for 10000) and numpy integers."""
    if isinstance(v, numbers.Real) and not isinstance(v, (bool, int)):
        if isinstance(v, numbers.Integral) or float(v).is_integer():
            return int(v)
    return v


def _real(v: Any) -> Any:
    """Number keys accept numpy floats and integers (and ints, as floats)."""
    if isinstance(v, numbers.Real) and not isinstance(v, (bool, int, float)):
        return float(v)
    return v


def _int(lo: int, why: str = "") -> Any:
    """An integer >= ``lo`` (not a bool); ``why`` explains the bound in the message."""
    return Annotated[int, Strict(), at.Ge(lo), BeforeValidator(_whole),
                     _Says(f"must be an integer >= {lo}{why}, got {{got}}")]


def _num(gt: float | None = None, ge: float | None = None, says: str | None = None) -> Any:
    """A finite number > ``gt`` (or >= ``ge``), not a bool or a string."""
    bound = at.Gt(gt) if gt is not None else at.Ge(ge)
    text = says or (f"must be a number > {gt:g}, got {{got}}" if gt is not None
                    else f"must be a number >= {ge:g}, got {{got}}")
    return Annotated[float, Strict(), bound, AllowInfNan(False), BeforeValidator(_real),
                     _Says(text)]


_Bool = Annotated[bool, Strict(), _Says("must be true or false, got {got}")]
_DEGREE_KINDS = ("polynomial", "legendre")  # background kinds that take a degree


def _shirley_value(v: Any) -> Any:
    if v is True or v is False or v == "active":
        return v
    raise ValueError("not true, false or active")


#: model.background.shirley: true / false, or "active" (the Shirley step inside the model)
_Shirley = Annotated[Any, PlainValidator(_shirley_value),
                     WithJsonSchema({"anyOf": [{"type": "boolean"}, {"const": "active"}]}),
                     _Says("must be true, false or active, got {got}")]


def _one_of(choices: typing.Sequence[str], says: str | None = None,
            missing: str | None = None) -> Any:
    """One of the strings ``choices``."""
    return Annotated[Literal[tuple(choices)],
                     _Says(says or f"must be one of {', '.join(choices)}, got {{got}}", missing)]


# ============================================================================ the models

class _Block(BaseModel):
    """A block of FIT.yaml: unknown keys are errors, ``null`` values mean "not given" (except
    for the keys in ``null_means_off``, whose default is not null: there null turns it off)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    key: ClassVar[str] = ""  # dotted key of the block in FIT.yaml ("" = the top level)
    null_means_off: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _mapping(cls, v: Any) -> Any:
        if v is None:
            return {}
        if isinstance(v, cls):
            return v
        if not isinstance(v, Mapping):
            raise _fail(_not_a_mapping(cls.key, v))
        allowed = tuple(cls.model_fields)
        for k in v:
            if k not in allowed:
                full, problem = _unknown_key(k, cls.key, allowed)
                raise _fail(problem, sub=full[len(cls.key) + 1:] if cls.key else full)
        v = {k: x for k, x in v.items() if x is not None or k in cls.null_means_off}
        cls._rules(v)
        return v

    @classmethod
    def _rules(cls, v: dict) -> None:
        """Rules between the given keys that are checked before their values (as bayespec
        always did: "not both" before "sd must be > 0"); ``v`` is the block without nulls (but
        for the keys in ``null_means_off``)."""

    @classmethod
    def _check(cls, v: dict, name: str) -> None:
        """Check the key ``name`` of ``v`` now, as its field would (for :meth:`_rules`)."""
        if name not in v:
            return
        field = cls.model_fields[name]
        try:
            _adapter(cls, name).validate_python(v[name])
        except ValidationError as e:
            says = _says(field.annotation, field.metadata)
            problem = says.problem if says else e.errors()[0]["msg"].lower() + ", got {got}"
            raise _fail(problem.replace("{got}", repr(v[name])), sub=name) from None


@functools.cache
def _adapter(block: type[_Block], name: str) -> TypeAdapter:
    f = block.model_fields[name]
    return TypeAdapter(Annotated[(f.annotation, *f.metadata)] if f.metadata else f.annotation)


_BACKGROUND_KINDS = ", ".join(sorted(shapes.BACKGROUNDS))


class BackgroundBlock(_Block):
    """model.background: the background under the peaks (a kind name is short for {kind: ...})."""

    key: ClassVar[str] = "model.background"
    kind: _one_of(tuple(shapes.BACKGROUNDS),
                  f"unknown background {{got}}; choose one of {_BACKGROUND_KINDS}",
                  f"missing; choose one of {_BACKGROUND_KINDS}") = Field(
        description=f"background: {' | '.join(shapes.BACKGROUNDS)}")
    degree: _int(0) | None = Field(
        None, description="polynomial degree (required for kinds polynomial and legendre, not "
                          "allowed otherwise)")
    shirley: _Shirley = Field(
        False, description="true: add the data's iterative Shirley background as a fixed "
                           "offset to the model mean; active: the Shirley step of the model's "
                           "own peaks inside the model, its scale sampled (priors.shirley); "
                           "not with kind tougaard")

    @classmethod
    def _rules(cls, v: dict) -> None:
        kind, degree = v.get("kind"), v.get("degree")
        if not isinstance(kind, str) or kind not in shapes.BACKGROUNDS:
            return  # the kind's own error is reported
        if kind in _DEGREE_KINDS and degree is None:
            raise _fail(f"required for kind {kind}; set an integer >= 0, e.g. degree: 2",
                        sub="degree")
        if kind not in _DEGREE_KINDS and degree is not None:
            raise _fail(f"only allowed with kind polynomial (kind is {kind}); remove it or set "
                        f"kind: polynomial", sub="degree")
        shirley = v.get("shirley", False)
        if shapes.BACKGROUNDS[kind].uses_data and (shirley is True or shirley == "active"):
            raise _fail(f"not with model.background.kind {kind}: both model the inelastic "
                        f"background (the {kind} background is computed from the measured "
                        f"data); remove model.background.shirley, or use kind constant or "
                        f"linear with shirley: {str(shirley).lower()}", sub="shirley")


def _background_shorthand(v: Any) -> Any:
    if isinstance(v, str):
        return {"kind": v}
    if not isinstance(v, (Mapping, BackgroundBlock)):
        raise _fail(f"must be a mapping like {{kind: linear}}, got {v!r}")
    return v


_K_RANGE = r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$"


class _UniqueItems:
    """JSON schema ``uniqueItems: true`` for a list type."""

    def __get_pydantic_json_schema__(self, core_schema, handler):
        return {**handler(core_schema), "uniqueItems": True}


#: what model.K accepts (for the JSON schema): an integer, a range string or a list
_K_INPUT = Union[_int(0), Annotated[str, StringConstraints(pattern=_K_RANGE)],
                 Annotated[list[_int(0)], at.MinLen(1), _UniqueItems()]]
_K_ITEM = _int(0)
_K_ADAPTER = TypeAdapter(_K_ITEM)


def _k_value(v: Any, sub: str) -> int:
    """One K (``sub``: where, e.g. ``[1]``), checked as an ``_int(0)`` key."""
    try:
        return _K_ADAPTER.validate_python(v)
    except ValidationError:
        raise _fail(_says(_K_ITEM, []).problem.replace("{got}", repr(v)), sub=sub) from None


def _parse_K(v: Any) -> tuple[int, ...]:
    if isinstance(v, str):
        m = re.fullmatch(_K_RANGE, v)
        if not m:
            raise _fail(f"cannot read {v!r}; write a range like '1-6', a list like [1, 2, 3] "
                        f"or an integer")
        a, b = int(m[1]), int(m[2] or m[1])
        if b < a:
            raise _fail(f"range {v!r} is empty; write low-high with low <= high, e.g. '1-6'")
        return tuple(range(a, b + 1))
    if isinstance(v, (list, tuple)):
        if not v:
            raise _fail("is empty; list at least one number of peaks, e.g. [1, 2, 3]")
        ks = [_k_value(k, f"[{i}]") for i, k in enumerate(v)]
        dup = sorted({k for k in ks if ks.count(k) > 1})
        if dup:
            raise _fail(f"duplicated value(s) {dup}; list each K once")
        return tuple(sorted(ks))
    return (_k_value(v, ""),)


class ModelBlock(_Block):
    """model: the peak shape, the numbers of peaks K to compare, the background and the
    likelihood."""

    key: ClassVar[str] = "model"
    shape: _one_of(tuple(shapes.SHAPES),
                   f"unknown shape {{got}}; choose one of {', '.join(sorted(shapes.SHAPES))}") \
        = Field("gaussian", description=f"peak shape: {' | '.join(shapes.SHAPES)}")
    K: Annotated[tuple[int, ...], PlainValidator(_parse_K, json_schema_input_type=_K_INPUT)] = \
        Field((1, 2, 3, 4), description="numbers of peaks to compare: a list, an integer or a "
                                        "range string like '1-6'")
    background: Annotated[BackgroundBlock, BeforeValidator(
        _background_shorthand,
        json_schema_input_type=Union[_one_of(tuple(shapes.BACKGROUNDS)), BackgroundBlock])] = \
        Field({"kind": "linear"}, validate_default=True,
              description="the background: a mapping {kind, degree, shirley} or a kind name")
    likelihood: _one_of(LIKELIHOODS) = Field(
        "gaussian", description="gaussian | poisson (raw counts; no noise block)")
    components: list[Any] | None = Field(
        None, description="a composite model: a list of {name, shape, K} (each component its "
                          "own shape, count range and priors under priors.<name>); replaces "
                          "shape and K", json_schema_extra={"x-shown-default": "none"})


def _extras() -> list[str]:
    return sorted({e for s in shapes.SHAPES.values() for e in s.extra})


#: JSON schema of one prior spec (parse_prior checks it: the schema lists the distributions)
_PRIOR_SCHEMA = {"type": "object", "description": "a prior such as {dist: normal, mean: 0, "
                                                  "sd: 1} (bayespec.models.priors.parse_prior)",
                 "properties": {"dist": {"enum": [*_PRIOR_DISTS, *_PRIOR_ALIASES]}}}
_BG_PRIOR_SCHEMA = {"anyOf": [_PRIOR_SCHEMA, {"type": "array", "items": _PRIOR_SCHEMA,
                                              "minItems": 1}]}
#: shown default of the prior keys (describe_keys, the JSON schema's descriptions)
_PRIOR_DEFAULTS = {e.name: e.shown for e in shapes.EXTRAS.values() if e.name != "eta"}


class _PriorsBase(_Block):
    """priors: one prior per parameter kind; an absent key gets bayespec's data-driven
    default. Each spec is checked by bayespec.models.priors.parse_prior against the model block."""

    key: ClassVar[str] = "priors"
    _parsed: dict = PrivateAttr(default_factory=dict)  # key -> Prior | list[Prior]


def _prior_fields() -> dict[str, Any]:
    dd = "data-driven"
    fields: dict[str, Any] = {
        "amplitude": "prior of each peak height (positive support)",
        "center": "prior of each peak center",
        "width": "prior of each peak width (positive support; meaning per shape)",
    }
    for e in _extras():
        users = " / ".join(s.name for s in shapes.SHAPES.values() if e in s.extra)
        note = "; support within [0, 1]" if e == "eta" else ""
        fields[e] = (f"prior of the extra shape parameter {e}: {shapes.EXTRAS[e].meaning} "
                     f"({users} only{note})")
    fields["shirley"] = ("prior of the active Shirley background's scale s (1 / x units: "
                         "step height per unit peak area; positive support; "
                         "model.background.shirley: active only)")
    fields["background"] = ("one prior for all background coefficients, or a list with one "
                            "prior per coefficient (tougaard: c0, B, C; B and C need positive "
                            "support, default log-normal around 2866 and 1643 eV^2)")
    out = {}
    for k, desc in fields.items():
        schema = _BG_PRIOR_SCHEMA if k == "background" else _PRIOR_SCHEMA
        out[k] = (Annotated[Any, WithJsonSchema(copy.deepcopy(schema))],
                  Field(None, description=desc,
                        json_schema_extra={"x-shown-default": _PRIOR_DEFAULTS.get(k, dd)}))
    return out


PriorsBlock = create_model("PriorsBlock", __base__=_PriorsBase, __doc__=_PriorsBase.__doc__,
                           **_prior_fields())


class NoiseBlock(_Block):
    """noise: a known noise sd, or estimate the noise precision (the default); not used with
    model.likelihood poisson."""

    key: ClassVar[str] = "noise"
    sd: _num(gt=0) | None = Field(None, description="known noise standard deviation (> 0); "
                                                    "excludes estimate")
    estimate: _Bool | None = Field(
        None, description="estimate the noise precision by the free energy over the "
                          "temperature ladder", json_schema_extra={"x-shown-default": "true"})
    max_precision: _num(gt=0) | None = Field(
        None, description="top of the noise-precision ladder (> 0; only with estimate; null = "
                          "automatic)")

    @classmethod
    def _rules(cls, v: dict) -> None:
        sd, est = v.get("sd"), v.get("estimate")
        cls._check(v, "estimate")
        if sd is not None and est:
            raise _fail("give either sd (known noise) or estimate: true, not both")
        cls._check(v, "sd")
        if sd is None and est is False:
            raise _fail("estimate is false but no sd is given; set noise.sd to the known noise "
                        "sd or use estimate: true")
        if sd is not None and v.get("max_precision") is not None:
            raise _fail("only allowed with estimate: true (a known sd fixes the precision); "
                        "remove it", sub="max_precision")


class SamplerBlock(_Block):
    """sampler: the exchange Monte Carlo settings."""

    key: ClassVar[str] = "sampler"
    null_means_off: ClassVar[frozenset[str]] = frozenset({"target_se"})
    replicas: _int(2) = Field(24, description="replicas (temperatures) in the ladder, >= 2")
    ratio: _num(gt=1) = Field(1.5, description="geometric ratio between neighbouring inverse "
                                               "temperatures of the ladder, > 1")
    burn_in: _int(0) = Field(1000, description="sweeps discarded before sampling, >= 0")
    sweeps: _int(1) = Field(5000, description="sampling sweeps per chain after burn-in, >= 1")
    chains: _int(2, " (error bars need several chains)") = Field(
        4, description="independent chains (for error bars), >= 2")
    seed: _int(0) = Field(0, description="random seed, >= 0")
    thin: _int(1) = Field(5, description="keep every thin-th sweep, 1 <= thin <= sweeps")
    threads: _int(1) | None = Field(None, description="worker threads (null = all cores)")
    extend: _Bool = Field(True, description="add rungs below the geometric ladder when the "
                                            "priors are too wide for its lowest rung")
    backend: _one_of(BACKENDS) = Field(
        "numba", description="numba (CPU kernel) | numpy | cupy (GPU) | auto (cupy when a GPU is "
                             "usable, else numba)")
    target_se: _num(gt=0) | None = Field(
        0.1, description="stop once the standard error of the reported free energy is <= this "
                         "and the draws pass the convergence check (> 0, nats; checked every "
                         "500 sweeps; sweeps is then the maximum; every backend; null = run "
                         "all sweeps)")
    checkpoint_every: _num(ge=0, says="must be a number of seconds >= 0 (0 = no periodic "
                                      "checkpoints), got {got}") = Field(
        300, description="seconds between checkpoints of a fit run with --checkpoint (>= 0; 0 = "
                         "only on SIGTERM; numba backend)")
    ladder: _one_of(("geometric", "adaptive")) = Field(
        "geometric", description="geometric: replicas and ratio as given; adaptive: pilot runs "
                                 "before burn-in place the rungs at equal swap rejection and "
                                 "set their number from the communication barrier (Syed et al. "
                                 "2021; replicas and ratio only start it; numba backend)")
    moves: _one_of(("single", "block")) = Field(
        "single", description="single: one parameter at a time (Metropolis, step sizes adapted "
                              "in burn-in); block: also moves each line's parameters, the "
                              "background's, and all parameters together, with proposal "
                              "covariances learned per rung in burn-in (for coupled "
                              "parameters; runs on the joint kernel; numba backend)")

    @model_validator(mode="after")
    def _thin_within_sweeps(self) -> "SamplerBlock":
        if self.thin > self.sweeps:
            raise _fail(f"must be <= sampler.sweeps ({self.sweeps}), got {self.thin}; lower thin "
                        f"or raise sweeps", sub="thin")
        return self

    def config(self) -> SamplerConfig:
        v = {k: getattr(self, k) for k in type(self).model_fields}
        for k in ("ratio", "checkpoint_every"):
            v[k] = float(v[k])
        return SamplerConfig(**v)


class FitFile(_Block):
    """A FIT.yaml file, or the fit block of a campaign config: the blocks model, priors, noise
    and sampler, each optional (absent or null = all defaults)."""

    model: ModelBlock = Field({}, validate_default=True)
    priors: PriorsBlock = Field({}, validate_default=True)  # type: ignore[valid-type]
    noise: NoiseBlock = Field({}, validate_default=True)
    sampler: SamplerBlock = Field({}, validate_default=True)
    ties: list[str] | None = Field(
        None, description="ties between parameters of the model's components, as in GROUP.yaml "
                          "('surface.asym[0] = bulk.asym[0]'; composite models only)",
        json_schema_extra={"x-shown-default": "none"})
    offsets: dict[str, Any] | None = Field(
        None, description="priors of the free offsets the ties use ({shift: {dist: normal, "
                          "mean: 0, sd: 0.5}})", json_schema_extra={"x-shown-default": "none"})

    @field_validator("priors")
    @classmethod
    def _priors_for_model(cls, v: Any, info: ValidationInfo) -> Any:
        model = info.data.get("model")
        if model is not None:  # else the model block's own error is reported
            v._parsed = _parse_priors(v, model)
        return v

    @field_validator("noise", mode="before")
    @classmethod
    def _no_noise_for_counts(cls, v: Any, info: ValidationInfo) -> Any:
        model = info.data.get("model")
        if model is not None and model.likelihood == "poisson" and isinstance(v, Mapping) and v:
            raise _fail("not used with model.likelihood poisson (the variance of a count is its "
                        "mean: there is no noise level to give or estimate); remove the noise "
                        "block")
        return v

    def config(self, source: str) -> FitConfig:
        """The FitConfig (and its normalised ``raw`` dict) of this validated file."""
        m, bg = self.model, self.model.background
        model = ModelConfig(shape=m.shape, K=m.K, background=bg.kind, degree=bg.degree,
                            likelihood=m.likelihood, shirley=bg.shirley)
        raw_bg: dict[str, Any] = {"kind": bg.kind}
        if bg.degree is not None:
            raw_bg["degree"] = bg.degree
        if bg.shirley:
            raw_bg["shirley"] = bg.shirley
        raw_model = {"shape": m.shape, "K": list(m.K), "background": raw_bg}
        if m.likelihood != "gaussian":
            raw_model["likelihood"] = m.likelihood
        priors = dict(self.priors._parsed)
        raw_priors = {k: [dict(s) for s in spec] if isinstance(spec, (list, tuple))
                      else dict(spec) for k, spec in self.priors if k in priors}
        n = self.noise
        if m.likelihood == "poisson":
            noise, raw_noise = NoiseConfig(sd=None, estimate=False, max_precision=None), {}
        elif n.sd is not None:
            noise, raw_noise = NoiseConfig(sd=n.sd, estimate=False, max_precision=None), \
                {"sd": n.sd, "estimate": False}
        else:
            noise = NoiseConfig(sd=None, estimate=True, max_precision=n.max_precision)
            raw_noise = {"estimate": True, "max_precision": n.max_precision}
        sampler = self.sampler.config()
        raw = copy.deepcopy({"model": raw_model, "priors": raw_priors, "noise": raw_noise,
                             "sampler": asdict(sampler)})
        return FitConfig(model=model, priors=priors, noise=noise, sampler=sampler, raw=raw,
                         source=source)


_TOP = tuple(FitFile.model_fields)  # model, priors, noise, sampler

#: the block models by dotted key (to find the field of an error)
_BLOCKS: dict[str, type[_Block]] = {b.key: b for b in (FitFile, ModelBlock, BackgroundBlock,
                                                       PriorsBlock, NoiseBlock, SamplerBlock)}

DEFAULTS: dict[str, Any] = {
    "model": {"shape": ModelBlock.model_fields["shape"].default,
              "K": list(ModelBlock.model_fields["K"].default),
              "background": dict(ModelBlock.model_fields["background"].default)},
    "priors": {},
    "noise": {"estimate": True},
    "sampler": {k: f.default for k, f in SamplerBlock.model_fields.items()},
}


# ============================================================================ priors

def _prior(spec: Any, key: str, positive: bool) -> Prior:
    try:
        return parse_prior(spec, key, positive=positive)
    except PriorError as e:
        raise _fail(str(e), prior=True, keyed=True) from None


def _parse_priors(block: BaseModel, model: ModelBlock) -> dict[str, Prior | list[Prior]]:
    """The Prior of every given key of the priors block, checked against the model block."""
    extras = _extras()
    out: dict[str, Prior | list[Prior]] = {}
    for k, spec in block:
        if spec is None:
            continue
        key = f"priors.{k}"
        if k == "background":
            out[k] = _parse_bg_prior(spec, model.background)
            continue
        if k == "shirley":
            if model.background.shirley != "active":
                raise _fail(f"{key}: only used with model.background.shirley: active (the "
                            f"Shirley step inside the model); remove it or set shirley: active",
                            prior=True, keyed=True)
            out[k] = _prior(spec, key, True)
            continue
        if k in extras:
            if k not in shapes.SHAPES[model.shape].extra:
                users = [s.name for s in shapes.SHAPES.values() if k in s.extra]
                raise _fail(f"{key}: only used by shape {' / '.join(users)}, not {model.shape}; "
                            f"remove it or change model.shape", prior=True, keyed=True)
            pr = _prior(spec, key, shapes.EXTRAS[k].positive)
            try:  # the extra's registered support (eta in [0, 1], ...)
                check_extra_prior(k, pr, key)
            except ConfigError as e:
                raise _fail(str(e), prior=True, keyed=True) from None
        else:
            pr = _prior(spec, key, _PEAK_PRIORS[k])
        out[k] = pr
    return out


def _parse_bg_prior(spec: Any, bgm: BackgroundBlock) -> Prior | list[Prior]:
    bg = shapes.BACKGROUNDS[bgm.kind]
    ncoef = bg.ncoef(bgm.degree)
    if ncoef == 0:
        raise _fail(f"priors.background: background kind {bgm.kind} has no coefficients; "
                    f"remove priors.background or change model.background.kind",
                    prior=True, keyed=True)
    if isinstance(spec, (list, tuple)):
        if len(spec) != ncoef:
            raise _fail(f"priors.background: {len(spec)} prior(s) given but the {bgm.kind} "
                        f"background has {ncoef} coefficient(s) "
                        f"({', '.join(bg.coef_names(ncoef))}); give exactly {ncoef} or one "
                        f"prior (a mapping) for all", prior=True, keyed=True)
        return [_prior(s, f"priors.background[{i}]", i in bg.positive)
                for i, s in enumerate(spec)]
    return _prior(spec, "priors.background", bool(bg.positive))  # also the positive ones


# ============================================================================ error messages

def _dotted(loc: tuple) -> str:
    out = ""
    for p in loc:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _says(annotation: Any, metadata: list) -> _Says | None:
    """The _Says of a field (its metadata, else inside its annotation: ``_int(1) | None``)."""
    if typing.get_origin(annotation) is Annotated:
        metadata = [*metadata, *annotation.__metadata__]
    for m in metadata:
        if isinstance(m, _Says):
            return m
    for a in typing.get_args(annotation):
        if typing.get_origin(a) is Annotated:
            found = _says(typing.get_args(a)[0], list(a.__metadata__))
            if found:
                return found
        elif typing.get_args(a):
            found = _says(a, [])
            if found:
                return found
    return None


def _config_error(e: ValidationError, src: str) -> ConfigError:
    """The one-line ConfigError (PriorError) of the first error pydantic found."""
    err = e.errors(include_url=False)[0]
    loc = tuple(err["loc"])
    key = _dotted(loc)
    ctx = err.get("ctx") or {}
    if err["type"] == "bayespec":
        cls = PriorError if ctx.get("prior") else ConfigError
        if ctx.get("keyed"):
            return cls(f"{src}: {ctx['problem']}")
        sub = ctx.get("sub") or ""
        if sub:
            key = key + sub if sub.startswith("[") else (f"{key}.{sub}" if key else sub)
        return cls(f"{src}: {key}: {ctx['problem']}")
    block = _BLOCKS.get(_dotted(loc[:-1])) if loc else None
    if block is not None and err["type"] == "extra_forbidden":  # (the before-validator's job)
        return _err(src, *_unknown_key(loc[-1], block.key, tuple(block.model_fields)))
    field = block.model_fields.get(loc[-1]) if block is not None else None
    says = _says(field.annotation, field.metadata) if field is not None else None
    if says is not None:
        if err["type"] == "missing" and says.missing:
            return _err(src, key, says.missing)
        return _err(src, key, says.problem.replace("{got}", repr(err.get("input"))))
    # not met by FIT.yaml's keys (each has a _Says or a _fail): a safe one-line fallback
    msg = " ".join(str(err.get("msg") or "invalid value").split())
    return _err(src, key or "config", f"{msg[:1].lower() + msg[1:]}, got {err.get('input')!r}; "
                                      f"see the README, section FIT.yaml")


# ============================================================================ public API

def parse_fit_config(d: Mapping | None, source: str = "<config>") -> FitConfig:
    """Validate a FIT.yaml mapping (None = all defaults) into a FitConfig."""
    if d is None:
        d = {}
    if not isinstance(d, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping with keys "
                          f"{', '.join(_TOP)}, got {type(d).__name__}")
    comp = _composite_part(d, source)
    if comp is not None:
        d = comp["stripped"]
    try:
        spec = FitFile.model_validate(d)
    except ValidationError as e:
        raise _config_error(e, source) from None
    cfg = spec.config(source)
    if comp is None:
        joint = cfg.model.shirley == "active" or cfg.sampler.moves == "block"
        return _as_one_component(cfg) if joint else cfg
    raw = copy.deepcopy(cfg.raw)
    raw["model"].pop("shape"), raw["model"].pop("K")
    raw["model"]["components"] = [{"name": c.name, "shape": c.shape, "K": list(c.K)}
                                  for c in comp["components"]]
    raw["priors"] = {**comp["raw_priors"], **raw["priors"]}
    if comp["ties"]:
        raw["ties"] = [t.text for t in comp["ties"]]
    if comp["offsets"]:
        raw["offsets"] = {o: dict(p.spec) for o, p in comp["offsets"].items()}
    return replace(cfg, model=replace(cfg.model, components=comp["components"]),
                   priors={**comp["priors"], **cfg.priors}, raw=raw, ties=comp["ties"],
                   offsets=comp["offsets"])


_COMPONENT_KEYS = ("name", "shape", "K")
#: the component name of a one-shape model with an active Shirley background
ONE_COMPONENT = "peaks"


def _as_one_component(cfg: FitConfig) -> FitConfig:
    """A one-shape model with an active Shirley background or block moves as the composite
    model of one component named ``peaks``: the active Shirley step (which couples all peaks)
    and the block moves run on the joint kernel of composite models. ``raw`` keeps the
    one-shape form the user wrote."""
    tail = ("background", "shirley")
    priors = {ONE_COMPONENT: {k: v for k, v in cfg.priors.items() if k not in tail},
              **{k: v for k, v in cfg.priors.items() if k in tail}}
    comp = ComponentConfig(ONE_COMPONENT, cfg.model.shape, tuple(cfg.model.K))
    return replace(cfg, model=replace(cfg.model, components=(comp,)), priors=priors)


def _composite_part(d: Mapping, source: str) -> dict | None:
    """A composite model's components, component priors, ties and offsets, validated (None
    for the one-shape shorthand), and ``d`` stripped of them for the block models."""
    from ..ids import is_id
    from ..models.ties import parse_tie

    model = d.get("model")
    comps = model.get("components") if isinstance(model, Mapping) else None
    if comps is None:
        for k, typ, what in (("ties", list, "a list of strings like 'b.width[0] = a.width[0]'"),
                             ("offsets", Mapping, "a mapping of names to priors")):
            v = d.get(k)
            if v is not None and not isinstance(v, typ):
                raise ConfigError(f"{source}: {k}: must be {what}, got {v!r}")
            if v:
                raise ConfigError(f"{source}: {k}: ties need named components; write the model "
                                  f"as model.components (e.g. [{{name: line, shape: gaussian, "
                                  f"K: [3]}}]) and tie 'line.width[1] = line.width[0]'")
        return None
    if not isinstance(comps, list) or not comps:
        raise ConfigError(f"{source}: model.components: must be a non-empty list of {{name, "
                          f"shape, K}} mappings, got {comps!r}")
    for k in ("shape", "K"):
        if model.get(k) is not None:
            raise ConfigError(f"{source}: model.{k}: not used with model.components (each "
                              f"component has its own {k}); remove it")
    out, names = [], set()
    for i, c in enumerate(comps):
        key = f"model.components[{i}]"
        if not isinstance(c, Mapping):
            raise ConfigError(f"{source}: {key}: must be a mapping {{name, shape, K}}, got "
                              f"{c!r}")
        _check_keys(c, key, _COMPONENT_KEYS, source)
        name = c.get("name")
        if not is_id(name) or "." in name or "@" in name or name in ("background", "shirley"):
            raise ConfigError(f"{source}: {key}.name: {name!r} is not a component name; use "
                              f"letters, digits, '_' and '-' (it names priors.<name> and ties "
                              f"'<name>.center[0]'; 'background' and 'shirley' are taken)")
        if name in names:
            raise ConfigError(f"{source}: {key}.name: {name!r} is used twice; name each "
                              f"component once")
        names.add(name)
        shape = c.get("shape")
        if shape not in shapes.SHAPES:
            raise ConfigError(f"{source}: {key}.shape: unknown shape {shape!r}; choose one of "
                              f"{', '.join(sorted(shapes.SHAPES))}")
        try:
            ks = _parse_K(c.get("K", [1]))
        except PydanticCustomError as e:
            ctx = e.context or {}
            raise ConfigError(f"{source}: {key}.K{ctx.get('sub', '')}: {ctx.get('problem')}") \
                from None
        out.append(ComponentConfig(str(name), shape, ks))
    pri = {} if d.get("priors") is None else d.get("priors")
    if not isinstance(pri, Mapping):
        raise ConfigError(f"{source}: priors: must be a mapping of component names (and "
                          f"background) to priors, got {pri!r}")
    for k in pri:
        if k not in ("background", "shirley") and k not in names:
            close = difflib.get_close_matches(str(k), sorted(names), n=1)
            raise ConfigError(f"{source}: priors.{k}: no component {k!r} in model.components"
                              f"{'; did you mean ' + repr(close[0]) + '?' if close else ''} "
                              f"(a composite model's priors are priors.<component>.<kind> and "
                              f"priors.background)")
    bg = {k: v for k, v in model.items() if k in ("background", "likelihood")}
    priors, raw_priors = {}, {}
    for c in out:
        blk = pri.get(c.name)
        if blk is None:
            continue
        try:
            sub = FitFile.model_validate({"model": {"shape": c.shape, **bg}, "priors": blk})
        except ValidationError as e:
            msg = str(_config_error(e, source))
            raise type(_config_error(e, source))(
                msg.replace(f"{source}: priors", f"{source}: priors.{c.name}", 1)) from None
        got = sub.config(source)
        priors[c.name] = dict(got.priors)
        raw_priors[c.name] = got.raw["priors"]
    traw = [] if d.get("ties") is None else d.get("ties")
    if not isinstance(traw, list):
        raise ConfigError(f"{source}: ties: must be a list of strings like "
                          f"'surface.width[0] = bulk.width[0]'")
    ties = tuple(parse_tie(t, f"{source}: ties[{i}]") for i, t in enumerate(traw))
    top = {c.name: max(c.K) for c in out}
    for i, t in enumerate(ties):
        for side, ref in (("left", t.left), ("right", t.right)):
            if ref.kind == "background":
                continue
            if ref.dataset not in top:
                raise ConfigError(f"{source}: ties[{i}]: tie {t.text!r}: no component "
                                  f"{ref.dataset!r} in model.components (components: "
                                  f"{', '.join(top)}); fix the name")
            if ref.index >= top[ref.dataset]:
                what = ("applies to no candidate" if side == "left" else
                        "names a peak that no candidate has")
                raise ConfigError(f"{source}: ties[{i}]: tie {t.text!r} {what}: peak index "
                                  f"{ref.index} of component {ref.dataset}, whose K is at most "
                                  f"{top[ref.dataset]} (indices count from 0 in order of "
                                  f"position); fix the index or the component's K")
    for c in out:
        blk = pri.get(c.name)
        always = tied_kinds(c.name, top[c.name], ties) if top[c.name] else frozenset()
        for kind in (blk or {}):
            if kind in always:
                texts = [t.text for t in ties if t.left.dataset == c.name and t.left.kind == kind]
                raise ConfigError(f"{source}: priors.{c.name}.{kind}: every {c.name}.{kind} is "
                                  f"set by a tie ({'; '.join(texts)}), so this prior would never "
                                  f"be used; remove it (a tied parameter needs no prior)")
    offsets = {}
    oraw = {} if d.get("offsets") is None else d.get("offsets")
    if not isinstance(oraw, Mapping):
        raise ConfigError(f"{source}: offsets: must be a mapping of names to priors")
    for o, spec in oraw.items():
        if not isinstance(o, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", o):
            raise ConfigError(f"{source}: offsets.{o}: an offset name must be an identifier")
        try:
            offsets[o] = parse_prior(spec, f"offsets.{o}")
        except PriorError as e:
            raise PriorError(f"{source}: {e}") from None
    stripped = {k: v for k, v in d.items() if k not in ("ties", "offsets")}
    stripped["model"] = {k: v for k, v in model.items() if k != "components"}
    stripped["priors"] = {k: v for k, v in pri.items() if k in ("background", "shirley")}
    return {"components": tuple(out), "priors": priors, "raw_priors": raw_priors,
            "ties": ties, "offsets": offsets, "stripped": stripped}


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads YAML 1.2 floats (``1e-3`` is a number, not text) and rejects
    duplicate keys."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for k_node, _ in node.value:
            if isinstance(k_node, yaml.ScalarNode) and k_node.tag != "tag:yaml.org,2002:merge":
                if k_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {k_node.value!r} (first on line "
                                    f"{seen[k_node.value] + 1}); keep only one",
                        k_node.start_mark)
                seen[k_node.value] = k_node.start_mark.line
        return super().construct_mapping(node, deep)


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def read_yaml(path: str | Path, what: str = "config file") -> Any:
    """The YAML document of ``path`` (FIT.yaml, GROUP.yaml, DESIGN.yaml; ``what`` names it in
    messages): ConfigError naming the file, and for bad YAML the line and column."""
    p = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{p}: {what} not found; check the path") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read {what} ({e}); it must be a readable UTF-8 "
                          f"YAML file") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{p}: {where}invalid YAML ({problem}); check indentation, colons "
                          f"and quoting") from None


def load_fit_config(path: str | Path) -> FitConfig:
    """Read and validate a FIT.yaml file; YAML errors name the file and line."""
    return parse_fit_config(read_yaml(path, "config file"), str(path))


def with_overrides(cfg: FitConfig, **sections: Mapping | None) -> FitConfig:
    """Merge per-section overrides into ``cfg.raw`` and re-validate.

    Keys merge into the section (a prior set to None is removed; ``model.background`` is
    replaced whole); a ``noise`` override naming ``sd`` or ``estimate`` replaces the section.
    """
    raw = copy.deepcopy(cfg.raw)
    for name, upd in sections.items():
        if name not in _TOP:
            raise ConfigError(f"{cfg.source}: {name}: unknown section; allowed: {', '.join(_TOP)}")
        if upd is None:
            continue
        if not isinstance(upd, Mapping):
            raise ConfigError(f"{cfg.source}: {name}: override must be a mapping, got {upd!r}")
        upd = copy.deepcopy(dict(upd))
        if name == "noise" and {"sd", "estimate"} & set(upd):
            raw[name] = upd
        else:
            raw[name] = {**raw.get(name, {}), **upd}
    return parse_fit_config(raw, cfg.source)


def _fmt(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def _shown_default(block: type[_Block], name: str) -> str:
    f = block.model_fields[name]
    extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
    if "x-shown-default" in extra:
        return str(extra["x-shown-default"])
    if block is BackgroundBlock:  # the defaults of model.background
        return _fmt(DEFAULTS["model"]["background"].get(name, f.default))
    return _fmt(f.default)


def _keys(block: type[_Block] = FitFile) -> typing.Iterator[tuple[str, type[_Block], str]]:
    """(dotted key, block, field name) of every leaf key of FIT.yaml, in order."""
    for name, f in block.model_fields.items():
        sub = f.annotation
        if isinstance(sub, type) and issubclass(sub, _Block):
            yield from _keys(sub)
        else:
            yield (f"{block.key}.{name}" if block.key else name), block, name


def describe_keys() -> list[tuple[str, str, str]]:
    """(dotted key, default, meaning) for every FIT.yaml key, for the README and docs."""
    return [(key, _shown_default(b, name), b.model_fields[name].description or "")
            for key, b, name in _keys()]


# ============================================================================ JSON schema

_SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
_KEY_ORDER = ("$schema", "$ref", "description", "type", "enum", "pattern", "minimum",
              "exclusiveMinimum", "items", "minItems", "uniqueItems", "anyOf", "allOf", "if",
              "then", "properties", "required", "additionalProperties", "default")


def _clean(s: Any) -> Any:
    """A piece of a pydantic JSON schema made plain: no titles, one-line descriptions, keys in
    a readable order."""
    if isinstance(s, list):
        return [_clean(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {}
    for k, v in s.items():
        if k in ("title", "x-shown-default"):
            continue
        if k == "properties":
            out[k] = {name: _clean(p) for name, p in v.items()}
        elif k == "description":
            out[k] = " ".join(str(v).split())
        else:
            out[k] = _clean(v)
    order = {k: i for i, k in enumerate(_KEY_ORDER)}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], len(order))))


def _tidy_block(d: dict, campaign: bool) -> dict:
    """The JSON schema of one block model, made for a validator that reports the first error
    it meets (Snakemake's does): the block itself and every key that is not required also
    accept null (null = not given), and a key of several types has them in one ``type`` list
    (an ``anyOf`` would only say "not valid under any of the given schemas").
    ``campaign``: no ``default`` (Snakemake's validate writes defaults into the config, and an
    injected ``noise.estimate: true`` next to a given ``sd`` is an error; the descriptions name
    the defaults instead) and no ``additionalProperties: false`` (bayespec reports unknown
    keys itself, naming the closest allowed key)."""
    d = dict(d)
    if campaign and d.get("additionalProperties") is False:
        del d["additionalProperties"]
    d["type"] = ["object", "null"]
    props = {}
    for name, p in d.get("properties", {}).items():
        p = dict(p)
        shown = p.get("x-shown-default", _fmt(p["default"]) if "default" in p else None)
        if campaign:
            p.pop("default", None)
            if shown is not None and "$ref" not in p and "description" in p:
                p["description"] = f"{p['description']} (default {shown})"
        p = _clean(p)
        props[name] = p if name in d.get("required", ()) else _nullable(p)
    d["properties"] = props
    return _clean(d)


#: JSON schema keywords that only apply to instances of one type (family)
_TYPE_KEYWORDS = {
    "string": {"pattern", "minLength", "maxLength", "format"},
    "number": {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"},
    "array": {"items", "prefixItems", "minItems", "maxItems", "uniqueItems", "contains"},
    "object": {"properties", "required", "additionalProperties", "propertyNames",
               "patternProperties", "minProperties", "maxProperties"},
}


def _family(t: str) -> str:
    return "number" if t == "integer" else t


def _nullable(p: dict) -> dict:
    """``p`` also accepting null, its ``anyOf`` (pydantic's unions) as one ``type`` list:
    keywords that only apply to one type (``pattern``, ``items``...) join the list as they
    are, others (``enum``, ``$ref``) go under ``allOf: [{if: {type: T}, then: {...}}]``."""
    if "$ref" in p:
        return p  # a block: its own schema accepts null
    branches = [b for b in p.get("anyOf", [p]) if b != {"type": "null"}]
    rest = {k: v for k, v in p.items() if k != "anyOf"} if "anyOf" in p else {}
    if len(branches) == 1 and "$ref" not in branches[0]:
        b = dict(branches[0])
        if isinstance(b.get("type"), str):
            b["type"] = [b["type"], "null"]
        if "enum" in b and None not in b["enum"]:
            b["enum"] = [*b["enum"], None]
        return _clean({**rest, **b})
    types = [("object" if "$ref" in b else b.get("type")) for b in branches]
    if not all(isinstance(t, str) for t in types) or \
            len({_family(t) for t in types}) != len(types):
        return {**rest, "anyOf": [*branches, {"type": "null"}]}  # (not met in FIT.yaml)
    out: dict[str, Any] = {**rest, "type": [*types, "null"]}
    guarded = []
    for t, b in zip(types, branches):
        own = _TYPE_KEYWORDS[_family(t)]
        for k, v in b.items():
            if k in own:
                out[k] = v
        other = {k: v for k, v in b.items() if k not in own and k not in ("type", "description")}
        if other:
            guarded.append({"if": {"type": t}, "then": other})
    if guarded:
        out["allOf"] = guarded
    return _clean(out)


def fit_json_schema(campaign: bool = False) -> dict:
    """The JSON schema (draft 2020-12) of FIT.yaml, generated from :class:`FitFile`.

    ``campaign=True``: the ``$defs`` of the campaign config's schema
    (workflow/schemas/config.schema.yaml, whose ``fit`` is ``{$ref: '#/$defs/FitFile'}``):
    without defaults and without ``additionalProperties: false`` (see :func:`_tidy_block`)."""
    s = FitFile.model_json_schema(ref_template="#/$defs/{model}")
    defs = {n: _tidy_block(d, campaign) for n, d in s.pop("$defs", {}).items()}
    top = _tidy_block(s, campaign)
    if campaign:
        return {"$defs": {"FitFile": top, **defs}}
    return {"$schema": _SCHEMA_URI, **top, "$defs": defs}


#: the line of workflow/schemas/config.schema.yaml below which the file is generated
SCHEMA_MARKER = "# ---- generated by bayespec.config"
CAMPAIGN_SCHEMA = Path("workflow") / "schemas" / "config.schema.yaml"


def campaign_schema_text(text: str) -> str:
    """``text`` (the campaign config schema) with its generated part (from
    :data:`SCHEMA_MARKER` to the end: the ``$defs`` of the ``fit`` block) made anew."""
    head = text.split(SCHEMA_MARKER, 1)[0].rstrip("\n")
    body = yaml.safe_dump(fit_json_schema(campaign=True), sort_keys=False, width=100,
                          allow_unicode=True)
    return (f"{head}\n\n{SCHEMA_MARKER}: do not edit below this line ----\n"
            f"# The $defs of the fit block, from the pydantic models of bayespec.config; "
            f"regenerate with\n#   python -m bayespec.config --campaign-schema --write\n"
            f"# (tests/test_config_schema.py fails when this part differs from the models).\n"
            f"{body}")


def _main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bayespec.config",
        description="Print the JSON schema of FIT.yaml, or check / rewrite the generated part "
                    "of the campaign config schema.")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--schema", action="store_true", help="print FIT.yaml's JSON schema")
    g.add_argument("--campaign-schema", action="store_true",
                   help=f"check (or with --write rewrite) the generated $defs of {CAMPAIGN_SCHEMA}")
    ap.add_argument("--write", action="store_true", help="rewrite the campaign schema file")
    ap.add_argument("--path", default=str(CAMPAIGN_SCHEMA), help="the campaign schema file")
    a = ap.parse_args(argv)
    if a.schema:
        import json

        print(json.dumps(fit_json_schema(), indent=2))
        return 0
    path = Path(a.path)
    old = path.read_text(encoding="utf-8")
    new = campaign_schema_text(old)
    if new == old:
        print(f"{path}: up to date")
        return 0
    if a.write:
        path.write_text(new, encoding="utf-8")
        print(f"{path}: rewritten")
        return 0
    print(f"{path}: differs from the models of bayespec.config; rerun with --write",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(_main())
