# hepad: anomaly detection workflows. Rules live in workflow/rules/, one file per stage.
# Config: `--configfile X` is the whole configuration (plus the schema's defaults; several files
# are merged in order, then --config key=value); without --configfile, config/config.yaml.
import os
import sys

from hepad.config import require_a_study, validate_config
from hepad.errors import InputError

# No job rate limit on local runs: snakemake's (default 100/1s) reruns the scheduler on a 1 s timer that
# every finished job starts anew, over all ready jobs' inputs; in the 506-job default run its process
# took 962 s of CPU from the jobs' 2 cores (README "Measured"). SLURM runs keep their profile's limit.
if workflow.local_exec and workflow.scheduling_settings is not None:
    workflow.scheduling_settings.max_jobs_per_timespan = None

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
