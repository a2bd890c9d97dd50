# The bump hunt: per window x method x n_sig x seed. Where window w, method m, n_sig n, seed s is
# trained: `rule train`, or `rule train_stack` with the other windows and seeds of resonant.stack
# when the method trains torch models (`train_kfold` in windows without extra background); scored:
# `rule score` (one job for the models of one training stack).
# Paths and target lists come from hepad.resonant.plan (P), the shared models from its registry.
from hepad.resonant.registry import SHARED_MODELS


rule inject_signal:
    """Mock data for one (n_sig, seed): all background + n_sig signal events."""
    input:
        background=P.pool("background"),
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


rule train:
    """Fit method {method} in window {window} on the mock data of (nsig, seed); its inputs are the
    samples and shared models of the method's `needs` (P.train_inputs)."""
    input:
        unpack(P.train_inputs),
    output:
        model=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.pkl",
        info=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
    wildcard_constraints:
        window=P.window_pattern("test"),
        method=P.stacked_methods(False),
        nsig=r"\d+|all",
    params:
        window=P.window_bounds,
        inputs=lambda wc, input: flags(dict(input.items())),
        options=lambda wc: json.dumps(P.options[wc.method], sort_keys=True),
        device=config["device"],
        code=code_version("hepad.resonant.steps:train"),
    threads: config["threads"]["train"]
    resources:
        gpu=lambda wc: P.gpu(wc.method),
    conda:
        ENV
    log:
        f"{LOGS}/train/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/train/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} train --method {wildcards.method} --window {params.window}"
        " --seed {wildcards.seed} {params.inputs} --options '{params.options}' --device {params.device}"
        " --model {output.model} --info {output.info} > {log} 2>&1"


rule train_kfold:
    """Window {window} has no test set (no extra background there): method {method} is trained on k
    folds of the window's SR data and writes the out-of-fold scores itself (hepad.resonant.kfold)."""
    input:
        unpack(P.train_inputs),
    output:
        scores=f"{RESULTS}/resonant/scores/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.npz",
        info=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
    wildcard_constraints:
        window=P.window_pattern("kfold"),
        method=P.stacked_methods(False),
    params:
        window=P.window_bounds,
        inputs=lambda wc, input: flags(dict(input.items())),
        options=lambda wc: json.dumps(P.options[wc.method], sort_keys=True),
        k=P.kfold,
        device=config["device"],
        code=code_version("hepad.resonant.steps:train_kfold"),
    threads: config["threads"]["train"]
    resources:
        gpu=lambda wc: P.gpu(wc.method),
    conda:
        ENV
    log:
        f"{LOGS}/train_kfold/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/train_kfold/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} train --method {wildcards.method} --window {params.window}"
        " --seed {wildcards.seed} {params.inputs} --options '{params.options}' --device {params.device}"
        " --kfold {params.k} --scores {output.scores} --info {output.info} > {log} 2>&1"


# Stacked training jobs (resonant.stack, methods with torch models): `train_stack` trains the models
# of method {method} at n_sig {nsig} in every test-set window and seed of the stack as one stack
# (hepad.stacking); `train_kfold_stack` the same in the k-fold windows, k folds per model. One
# output file per model, as `train` / `train_kfold` write them; each as if trained alone, up to
# float rounding. (Rules exist only where they have models to train.)
STACKED = bool(P.method_dims()) and P.stacked_methods(True) != "(?!)"
_stack_inputs, _stack_window, _stack_seeds = P.stack_job_args("test")
_kstack_inputs, _kstack_window, _kstack_seeds = P.stack_job_args("kfold")

if STACKED and P.window_pattern("test") != "(?!)":

    rule train_stack:
        input:
            unpack(_stack_inputs),
        output:
            model=P.method_outputs(f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.pkl"),
            info=P.method_outputs(f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json"),
        wildcard_constraints:
            window=P.window_pattern("test"),
            method=P.stacked_methods(True),
            nsig=r"\d+|all",
        params:
            window=_stack_window,
            seeds=_stack_seeds,
            inputs=lambda wc, input: flags(dict(input.items())),
            options=lambda wc: json.dumps(P.options[wc.method], sort_keys=True),
            checkpoint=f"{WORK}/resonant/models/train/{P.method_job()}.ckpt",
            device=config["device"],
            code=code_version("hepad.resonant.steps:train_stack"),
        threads: config["threads"]["train"]
        resources:
            gpu=1,
        conda:
            ENV
        log:
            f"{LOGS}/train/{P.method_job()}.log",
        benchmark:
            f"{BENCH}/train/{P.method_job()}.tsv"
        shell:
            "hepad --threads {threads} train --method {wildcards.method} --window {params.window}"
            " --seed {params.seeds} {params.inputs} --options '{params.options}' --device {params.device}"
            " --model {output.model} --info {output.info} --checkpoint {params.checkpoint} > {log} 2>&1"


if STACKED and P.window_pattern("kfold") != "(?!)":

    rule train_kfold_stack:
        input:
            unpack(_kstack_inputs),
        output:
            scores=P.method_outputs(f"{RESULTS}/resonant/scores/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.npz",
                                    "kfold"),
            info=P.method_outputs(f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json", "kfold"),
        wildcard_constraints:
            window=P.window_pattern("kfold"),
            method=P.stacked_methods(True),
        params:
            window=_kstack_window,
            seeds=_kstack_seeds,
            inputs=lambda wc, input: flags(dict(input.items())),
            options=lambda wc: json.dumps(P.options[wc.method], sort_keys=True),
            k=P.kfold,
            checkpoint=f"{WORK}/resonant/models/train_kfold/{P.method_job()}.ckpt",
            device=config["device"],
            code=code_version("hepad.resonant.steps:train_kfold"),
        threads: config["threads"]["train"]
        resources:
            gpu=1,
        conda:
            ENV
        log:
            f"{LOGS}/train_kfold/{P.method_job()}.log",
        benchmark:
            f"{BENCH}/train_kfold/{P.method_job()}.tsv"
        shell:
            "hepad --threads {threads} train --method {wildcards.method} --window {params.window}"
            " --seed {params.seeds} {params.inputs} --options '{params.options}' --device {params.device}"
            " --kfold {params.k} --scores {output.scores} --info {output.info} --checkpoint {params.checkpoint}"
            " > {log} 2>&1"


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
        code=code_version("hepad.resonant.steps:score"),
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
        code=code_version("hepad.resonant.steps:validate_template"),
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
