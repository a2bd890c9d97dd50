# The resonant study's input data (toy, or public files fetched into data_dir: download.smk) ->
# canonical dijet tables -> fixed partition.

from hepad.resonant.plan import POOLS
from hepad.resonant.formats.sources import input_path, reader_args

TOY = config["data"].get("toy", {})
SOURCE = config["data"]["source"]


rule toy_dijets:
    """Toy QCD + W'->XY events and extra QCD, written in the LHCO R&D features layout."""
    output:
        events=f"{WORK}/toy/events_toy.features.h5",
        extra=f"{WORK}/toy/extra_qcd_toy.features.h5",
    params:
        toy=TOY,
        code=code_version("hepad.resonant.commands:_toy_dijets"),
    conda:
        ENV
    log:
        f"{LOGS}/toy_dijets.log",
    benchmark:
        f"{BENCH}/toy_dijets.tsv"
    shell:
        "hepad toy-dijets --events-out {output.events} --extra-out {output.extra}"
        " --n-background {params.toy[n_background]} --n-signal {params.toy[n_signal]}"
        " --n-extra {params.toy[n_extra_background]} --extra-mjj-range {params.toy[extra_mjj_range]}"
        " --mass-mjj-slope {params.toy[mass_mjj_slope]} --seed {params.toy[seed]}"
        " > {log} 2>&1"


rule toy_null:
    """An independent toy QCD sample for the n_sig = 0 runs of one seed (pseudo-experiments of the
    background: the bump hunt's calibration). Seed: data.toy.seed + 1000 + seed."""
    output:
        f"{WORK}/toy/null_qcd_toy_s{{seed}}.features.h5",
    params:
        toy=TOY,
        seed=lambda wc: TOY["seed"] + 1000 + int(wc.seed),
        code=code_version("hepad.resonant.commands:_toy_null"),
    conda:
        ENV
    log:
        f"{LOGS}/toy_null_s{{seed}}.log",
    benchmark:
        f"{BENCH}/toy_null_s{{seed}}.tsv"
    shell:
        "hepad toy-null --out {output} --n-background {params.toy[n_background]}"
        " --mass-mjj-slope {params.toy[mass_mjj_slope]} --seed {params.seed} > {log} 2>&1"


rule prepare_dijets:
    """Features (m_jj, jet masses, tau21) of an input file into the canonical table."""
    input:
        dijets_input,
    output:
        f"{WORK}/dijets/{{sample}}.h5",
    wildcard_constraints:
        sample=r"events|extra|null_s\d+",
    params:
        format="lhco" if SOURCE == "toy" else SOURCE,
        options=reader_args(config["data"]),
        code=code_version("hepad.resonant.commands:_prepare_dijets"),
    conda:
        ENV
    log:
        f"{LOGS}/prepare_dijets_{{sample}}.log",
    benchmark:
        f"{BENCH}/prepare_dijets_{{sample}}.tsv"
    shell:
        "hepad prepare-dijets --input {input} --format {params.format}{params.options} --out {output} > {log} 2>&1"


rule split_samples:
    """Signal pool -> inject/train/test, extra background -> train/test (fixed seed)."""
    input:
        events=f"{WORK}/dijets/events.h5",
        extra=f"{WORK}/dijets/extra.h5",
    output:
        [P.pool(name) for name in POOLS],
    params:
        f=config["samples"]["signal_fractions"],
        test=config["samples"]["extra_test_fraction"],
        seed=config["samples"]["seed"],
        windows=P.window_args(),
        outdir=lambda wc, output: os.path.dirname(output[0]),
        code=code_version("hepad.resonant.steps:split_samples"),
    conda:
        ENV
    log:
        f"{LOGS}/split_samples.log",
    benchmark:
        f"{BENCH}/split_samples.tsv"
    shell:
        "hepad split-samples --events {input.events} --extra {input.extra} --outdir {params.outdir}"
        " --signal-fractions {params.f[inject]} {params.f[train]} {params.f[test]}"
        " --extra-test-fraction {params.test} --seed {params.seed} --windows {params.windows} > {log} 2>&1"
