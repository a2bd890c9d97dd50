# Public files of the manifest (resources/datasets.yaml) fetched into data_dir: shared by both studies.
import re

from hepad.io.download import load_manifest

# relative manifest paths are taken from the repository (where the Snakefile is)
MANIFEST = os.path.join(workflow.basedir, config["manifest"])
MANIFEST_NAMES = list(load_manifest(MANIFEST))


if config["download"]:

    rule download_dataset:
        """Fetch a public file of the manifest into data_dir: resume, retries, size/sha256 check, then
        an atomic move. A local rule (cluster nodes may lack internet). No code param: editing the
        package must not fetch gigabytes again; the file is checked against its recorded checksum."""
        output:
            os.path.join(DATA_DIR, "{name}"),
        wildcard_constraints:
            name="|".join(re.escape(n) for n in MANIFEST_NAMES),
        params:
            manifest=MANIFEST,
        localrule: True
        resources:
            downloads=1,
        conda:
            ENV
        log:
            f"{LOGS}/download/{{name}}.log",
        benchmark:
            f"{BENCH}/download/{{name}}.tsv"
        shell:
            "hepad download {wildcards.name} --manifest {params.manifest} --out {output} > {log} 2>&1"
