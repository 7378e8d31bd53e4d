"""FIT.yaml, the ``bayespec fit --config`` file: its pydantic models, validated into frozen
dataclasses. The implementation is :mod:`bayespec.config.fit_yaml`; this package re-exports its
names, so ``from bayespec.config import parse_fit_config`` and ``python -m bayespec.config
--schema`` are the entry points."""

# the private names are used by inference.integrate (GROUP.yaml shares FIT.yaml's parsing)
# and the tests
from .fit_yaml import (BACKENDS, CAMPAIGN_SCHEMA, DEFAULTS, LIKELIHOODS,  # noqa: F401
                       SCHEMA_MARKER, BackgroundBlock, ComponentConfig, FitConfig, FitFile,
                       ModelBlock, ModelConfig, NoiseBlock, NoiseConfig, PriorsBlock,
                       SamplerBlock, SamplerConfig, _check_keys, _config_error, _keys, _Loader,
                       _main, _section, campaign_schema_text, describe_keys, fit_json_schema,
                       load_fit_config, parse_fit_config, read_yaml,
                       with_overrides)

__all__ = ["BACKENDS", "CAMPAIGN_SCHEMA", "DEFAULTS", "LIKELIHOODS", "SCHEMA_MARKER",
           "BackgroundBlock", "ComponentConfig", "FitConfig", "FitFile", "ModelBlock",
           "ModelConfig", "NoiseBlock", "NoiseConfig", "PriorsBlock", "SamplerBlock",
           "SamplerConfig", "campaign_schema_text", "describe_keys", "fit_json_schema",
           "load_fit_config", "parse_fit_config", "read_yaml", "with_overrides"]
