# hepad: anomaly detection workflows. Rules live in workflow/rules/, one file per stage.
# Config: `--configfile X` is the whole configuration (plus the schema's defaults; several files
# are merged in order, then --config key=value); without --configfile, config/config.yaml.
import os
import sys

from hepad.config import require_a_study, validate_config
from hepad.errors import InputError

if not workflow.config_settings.configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


try:  # a bad config stops here with one line, before any job
    validate_config(config, workflow.source_path("workflow/schemas/config.schema.yaml"))
    require_a_study(config)
    from hepad.resonant.plan import ResonantPlan

    # what the resonant rules need (workflow/rules/resonant.smk); None: a calorimeter-only config
    P = ResonantPlan(config) if config.get("resonant") else None
except InputError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)

include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
if P:  # the resonant study

    include: "workflow/rules/data.smk"
    include: "workflow/rules/resonant.smk"
    include: "workflow/rules/aggregate.smk"


include: "workflow/rules/calo.smk"


# The default target lives here: snakemake ignores default targets set in included files.
rule all:
    input:
        RESONANT_TARGETS,
        CALO_TARGETS,
