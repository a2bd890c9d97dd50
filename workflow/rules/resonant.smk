# The bump hunt: per window x method x n_sig x seed. Where window w, method m, n_sig n, seed s is
# trained: `rule train` with the other windows and seeds of its job (resonant.stack; `train_kfold` in
# windows without extra background; `train_simulated` for supervised); scored: `rule score` (one job
# for the models of one training job); its significance: `rule bumphunt` (aggregate.smk).
# Paths and target lists come from hepad.resonant.plan (P), the shared models from its registry.
from hepad.resonant.registry import SHARED_MODELS


rule inject_signal:
    """Mock data for one (n_sig, seed): all background + n_sig signal events. With n_sig = 0 on toy
    data, an independent background sample per seed (P.mock_background)."""
    input:
        background=P.mock_background,
        signal=P.pool("signal_inject"),
    output:
        f"{WORK}/resonant/data/n{{nsig}}/s{{seed}}.h5",
    params:
        code=code_version("hepad.resonant.steps:make_data"),
    conda:
        ENV
    log:
        f"{LOGS}/inject_signal/n{{nsig}}_s{{seed}}.log",
    benchmark:
        f"{BENCH}/inject_signal/n{{nsig}}_s{{seed}}.tsv"
    shell:
        "hepad inject --background {input.background} --signal {input.signal}"
        " --n-sig {wildcards.nsig} --seed {wildcards.seed} --out {output} > {log} 2>&1"


rule make_testset:
    """One test set per window, shared by every method, n_sig and seed."""
    input:
        extra=P.pool("extra_test"),
        signal=P.pool("signal_test"),
    output:
        f"{WORK}/resonant/test/w{{window}}.h5",
    params:
        window=P.window_bounds,
        code=code_version("hepad.resonant.steps:make_testset"),
    conda:
        ENV
    log:
        f"{LOGS}/make_testset/w{{window}}.log",
    benchmark:
        f"{BENCH}/make_testset/w{{window}}.tsv"
    shell:
        "hepad make-testset --extra-test {input.extra} --signal-test {input.signal}"
        " --window {params.window} --out {output} > {log} 2>&1"


# One training rule per shared model of the registry: train_bkg_flow {window,nsig,seed} (the sideband
# flow, read by ANODE, CATHODE, R-ANODE), train_sigma {nsig,seed} (SIGMA's model, every window).
# Each trains once on the mock data and resumes from its checkpoint after a kill. With
# resonant.stack (e.g. [window, seed]) one job trains the models of every value of those wildcards
# as one stack (hepad.flows.stacked); its outputs stay one file per model.
for _sm in SHARED_MODELS.values():
    _data, _window, _seeds = P.shared_job_args(_sm.name)

    rule:
        name:
            _sm.rule
        input:
            _data,
        output:
            model=P.shared_outputs(_sm.name, "pt"),
            losses=P.shared_outputs(_sm.name, "losses.csv"),
        params:
            command=_sm.command,  # (shell: is formatted when the job runs, after the loop: no _sm there)
            window=_window,
            seeds=_seeds,
            options=json.dumps(P.shared_options(_sm.name), sort_keys=True),
            checkpoint=f"{WORK}/resonant/{_sm.name}/{P.shared_job(_sm.name)}.ckpt",
            device=config["device"],
            code=code_version("hepad.resonant.steps:train_shared", _sm.trainer, *filter(None, [_sm.stack_trainer])),
        threads: config["threads"]["train"]
        resources:
            gpu=1,
        conda:
            ENV
        log:
            f"{LOGS}/{_sm.rule}/{P.shared_job(_sm.name)}.log",
        benchmark:
            f"{BENCH}/{_sm.rule}/{P.shared_job(_sm.name)}.tsv"
        shell:
            "hepad --threads {threads} {params.command} --data {input} {params.window}"
            " --options '{params.options}' --seed {params.seeds} --device {params.device}"
            " --model {output.model} --losses {output.losses} --checkpoint {params.checkpoint} > {log} 2>&1"


# A method's training: k fold models per (window, n_sig, seed) (resonant.kfold, hepad.resonant.kfold);
# each writes the out-of-fold scores of the data in its fit range (the bump hunt's input). Windows
# with a test set (`train`): the fold models, scored on the test set by `score`; windows without
# (`train_kfold`): the out-of-fold SR scores are the evaluation. One job trains a method's models of
# every window and seed of resonant.stack (default [seed], config.yaml [window, seed]; [] = one model per job): the
# methods with torch models as one stack (hepad.stacking; each model as if trained alone, up to
# float rounding), the HGB ones one after another.
_MODEL = f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}"
_SCORES = f"{RESULTS}/resonant/scores/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.npz"
_DATA_SCORES = f"{RESULTS}/resonant/data_scores/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.npz"
_TRAIN = ("hepad --threads {threads} train --method {wildcards.method} --window {params.window}"
          " --window-index {params.index} --seed {params.seeds} {params.inputs} --options '{params.options}'"
          " --kfold {params.k} --fit-width {params.fit_width} --device {params.device} --checkpoint {params.checkpoint}")
_OPTIONS = lambda wc: json.dumps(P.options[wc.method], sort_keys=True)
_FLAGS = lambda wc, input: flags(dict(input.items()))
_test, _kfold, _one = P.train_job_args("test"), P.train_job_args("kfold"), P.train_job_args(None)


if P.window_pattern("test") != "(?!)":

    rule train:
        """Method {method} at n_sig {nsig}: the fold models of every test-set window and seed of its
        job (P.method_members); inputs: the samples and shared models of the method's `needs`."""
        input:
            unpack(_test.pop("inputs")),
        output:
            model=P.method_outputs(f"{_MODEL}.pkl"),
            info=P.method_outputs(f"{_MODEL}.json"),
            data_scores=P.method_outputs(_DATA_SCORES),
        wildcard_constraints:
            window=P.window_pattern("test"),
        params:
            **_test,
            inputs=_FLAGS,
            options=_OPTIONS,
            checkpoint=f"{WORK}/resonant/models/train/{P.method_job()}.ckpt",
            code=method_code_version("hepad.resonant.steps:train"),
        threads: config["threads"]["train"]
        resources:
            gpu=lambda wc: P.gpu(wc.method),
        conda:
            ENV
        log:
            f"{LOGS}/train/{P.method_job()}.log",
        benchmark:
            f"{BENCH}/train/{P.method_job()}.tsv"
        shell:
            f"{_TRAIN} --model {{output.model}} --info {{output.info}} --data-scores {{output.data_scores}} > {{log}} 2>&1"


if P.window_pattern("kfold") != "(?!)":

    rule train_kfold:
        """Windows without a test set (no extra background there): method {method}'s fold models of
        every such window and seed of its job write the out-of-fold SR scores, their evaluation."""
        input:
            unpack(_kfold.pop("inputs")),
        output:
            scores=P.method_outputs(_SCORES, "kfold"),
            info=P.method_outputs(f"{_MODEL}.json", "kfold"),
            data_scores=P.method_outputs(_DATA_SCORES, "kfold"),
        wildcard_constraints:
            window=P.window_pattern("kfold"),
        params:
            **_kfold,
            inputs=_FLAGS,
            options=_OPTIONS,
            checkpoint=f"{WORK}/resonant/models/train_kfold/{P.method_job()}.ckpt",
            code=method_code_version("hepad.resonant.steps:train"),
        threads: config["threads"]["train"]
        resources:
            gpu=lambda wc: P.gpu(wc.method),
        conda:
            ENV
        log:
            f"{LOGS}/train_kfold/{P.method_job()}.log",
        benchmark:
            f"{BENCH}/train_kfold/{P.method_job()}.tsv"
        shell:
            f"{_TRAIN} --scores {{output.scores}} --info {{output.info}} --data-scores {{output.data_scores}} > {{log}} 2>&1"


rule train_simulated:
    """A method trained on simulation only (supervised), once per (window, seed) for every n_sig:
    one model, no data scores."""
    input:
        unpack(P.train_inputs),
    output:
        model=f"{WORK}/resonant/models/w{{window}}/{{method}}/nall/s{{seed}}.pkl",
        info=f"{WORK}/resonant/models/w{{window}}/{{method}}/nall/s{{seed}}.json",
    wildcard_constraints:
        window=P.window_pattern("test"),
    params:
        **_one,
        inputs=_FLAGS,
        options=_OPTIONS,
        checkpoint=f"{WORK}/resonant/models/w{{window}}/{{method}}/nall/s{{seed}}.ckpt",
        code=method_code_version("hepad.resonant.steps:train"),
    threads: config["threads"]["train"]
    resources:
        gpu=lambda wc: P.gpu(wc.method),
    conda:
        ENV
    log:
        f"{LOGS}/train/w{{window}}/{{method}}/nall/s{{seed}}.log",
    benchmark:
        f"{BENCH}/train/w{{window}}/{{method}}/nall/s{{seed}}.tsv"
    shell:
        f"{_TRAIN} --model {{output.model}} --info {{output.info}} > {{log}} 2>&1"


rule score:
    """Score the test sets with the trained models of one training job (a stack: all its members),
    on the CPU, in one process."""
    input:
        unpack(P.stack_score_inputs),
    output:
        P.method_outputs(f"{RESULTS}/resonant/scores/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.npz"),
    wildcard_constraints:
        window=P.window_pattern("test"),
    params:
        inputs=lambda wc, input: flags(dict(input.items())),
        code=method_code_version("hepad.resonant.steps:score"),
    threads: config["threads"]["score"]
    conda:
        ENV
    log:
        f"{LOGS}/score/{P.method_job()}.log",
    benchmark:
        f"{BENCH}/score/{P.method_job()}.tsv"
    shell:
        "hepad --threads {threads} score {params.inputs} --out {output} > {log} 2>&1"


rule metrics:
    """ROC, SIC and AUC of one score file, with the SR truth counts of the mock data."""
    input:
        scores=f"{RESULTS}/resonant/scores/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.npz",
        info=lambda wc: P.model(wc, "json"),
        data=P.mock_data,
    output:
        f"{WORK}/resonant/metrics/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
    params:
        min_bkg=config["resonant"]["min_bkg"],
        code=code_version("hepad.resonant.steps:evaluate"),
    conda:
        ENV
    log:
        f"{LOGS}/metrics/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/metrics/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad metrics --scores {input.scores} --info {input.info} --data {input.data}"
        " --window-index {wildcards.window} --n-sig {wildcards.nsig} --min-bkg {params.min_bkg}"
        " --out {output} > {log} 2>&1"


rule validate_template:
    """Template of method {method} (CATHODE, SIGMA) in window {window} against the true SR
    background of the mock data (simulation truth): feature histograms and the closure AUC."""
    input:
        unpack(P.train_inputs),
    output:
        json=f"{WORK}/resonant/validation/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
        png=report(f"{RESULTS}/figures/template_w{{window}}_{{method}}_n{{nsig}}_s{{seed}}.png",
                   caption="../report/template.rst", category="Resonant", subcategory="Template validation"),
        pdf=f"{RESULTS}/figures/template_w{{window}}_{{method}}_n{{nsig}}_s{{seed}}.pdf",
    params:
        window=P.window_bounds,
        inputs=lambda wc, input: flags(dict(input.items())),
        options=lambda wc: json.dumps(P.options[wc.method], sort_keys=True),
        figure=lambda wc, output: output.pdf[:-4],
        device=config["device"],
        code=method_code_version("hepad.resonant.steps:validate_template"),
    threads: config["threads"]["train"]
    conda:
        ENV
    log:
        f"{LOGS}/validate_template/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/validate_template/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} validate-template --method {wildcards.method} --window {params.window}"
        " {params.inputs} --options '{params.options}' --seed {wildcards.seed}"
        " --device {params.device} --out {output.json} --figure {params.figure} > {log} 2>&1"
