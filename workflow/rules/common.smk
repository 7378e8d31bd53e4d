# Shared set-up: validate the config and the manifest, and the helpers the rules use.
# All logic lives in bayespec.workflow (bayespec.workflow.campaign re-exports its stage modules;
# the output file names are bayespec.workflow.paths); this file only connects it to Snakemake.

import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

try:
    from bayespec.workflow import batching, campaign, paths
except ImportError:  # a per-rule conda env has the dependencies but not bayespec: use the tree
    sys.path.insert(0, str(Path(workflow.basedir) / "src"))
    from bayespec.workflow import batching, campaign, paths
from bayespec.errors import BayespecError


# a --configfile replaces a prior, fit.noise, fit.model.background, a prior set or a demo
# spectrum whole (Snakemake would merge their keys); everything else merges key by key
campaign.replace_whole(config, workflow.config_settings.overwrite_config)

CONFIG_FILES = list(
    dict.fromkeys(
        os.path.relpath(f) for f in [*workflow.overwrite_configfiles, *workflow.configfiles]
    )
)
try:
    validate(config, "../schemas/config.schema.yaml")
except WorkflowError as e:
    raise WorkflowError(
        campaign.schema_error_message(e, f"config ({' + '.join(CONFIG_FILES)})")
    ) from None

try:
    MANIFEST = campaign.load_manifest(config["manifest"])
    try:
        validate(MANIFEST, "../schemas/spectra.schema.yaml")
    except WorkflowError as e:
        raise WorkflowError(
            campaign.schema_error_message(e, config["manifest"], MANIFEST)
        ) from None
    C = campaign.Campaign.load(config, MANIFEST)
except BayespecError as e:
    raise WorkflowError(str(e)) from None

# batch jobs (config batch_size > 1): the per-spectrum rules of those stages then match no id
BATCHES = batching.plan(C) if batching.batch_size(C) > 1 else {}
SINGLE_ID = "(?!)" if BATCHES else campaign.ENTRY_PATTERN

R = C.results  # output root
L = C.logs  # log root
ENV = "../../envs/bayespec.yaml"


wildcard_constraints:
    id=campaign.ENTRY_PATTERN,
    K=r"\d+(?:-\d+)*",  # a K, or a composite candidate (counts per component)
    figure="|".join(campaign.FIGURES),
