# hepad: anomaly detection workflows. Config: config/config.yaml (toy, laptop scale) by default;
# --configfile config/ci.yaml for the tiny CI run. Rules live in workflow/rules/, one file per stage.
from hepad.config import validate_config

configfile: "config/config.yaml"

validate_config(config, workflow.source_path("workflow/schemas/config.schema.yaml"))

include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/resonant.smk"
include: "workflow/rules/calo.smk"
include: "workflow/rules/aggregate.smk"


# The default target lives here: snakemake ignores default targets set in included files.
rule all:
    input:
        RESONANT_TARGETS,
        CALO_TARGETS,
