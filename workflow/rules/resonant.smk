# The bump hunt: per window x method x n_sig x seed. Training is `rule train`, scoring `rule score`.


rule inject_signal:
    """Mock data for one (n_sig, seed): all background + n_sig signal events."""
    input:
        background=f"{WORK}/samples/background.h5",
        signal=f"{WORK}/samples/signal_inject.h5",
    output:
        f"{WORK}/resonant/data/n{{nsig}}/s{{seed}}.h5",
    params:
        code=code_version("windows.py", "resonant.py", "io"),
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
        extra=f"{WORK}/samples/extra_test.h5",
        signal=f"{WORK}/samples/signal_test.h5",
    output:
        f"{WORK}/resonant/test/w{{window}}.h5",
    params:
        window=window_bounds,
        code=code_version("windows.py", "resonant.py", "io"),
    conda:
        ENV
    log:
        f"{LOGS}/make_testset/w{{window}}.log",
    benchmark:
        f"{BENCH}/make_testset/w{{window}}.tsv"
    shell:
        "hepad make-testset --extra-test {input.extra} --signal-test {input.signal}"
        " --window {params.window} --out {output} > {log} 2>&1"


rule train_bkg_flow:
    """The sideband flow p_bg(x | m_jj) of window {window} on the mock data of (nsig, seed): trained
    once, used by ANODE, CATHODE and R-ANODE. Resumes from its checkpoint after a kill."""
    input:
        mock_data,
    output:
        model=f"{WORK}/resonant/bkg_flow/w{{window}}/n{{nsig}}/s{{seed}}.pt",
        losses=f"{WORK}/resonant/bkg_flow/w{{window}}/n{{nsig}}/s{{seed}}.losses.csv",
    params:
        window=window_bounds,
        options=json.dumps(R["flow"], sort_keys=True),
        checkpoint=lambda wc, output: f"{output.model}.ckpt",
        device=config["device"],
        code=code_version("flows", "methods", "training.py", "resonant.py", "io"),
    threads: config["threads"]["train"]
    resources:
        gpu=1,
    conda:
        ENV
    log:
        f"{LOGS}/train_bkg_flow/w{{window}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/train_bkg_flow/w{{window}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} train-bkg-flow --data {input} --window {params.window}"
        " --options '{params.options}' --seed {wildcards.seed} --device {params.device}"
        " --model {output.model} --losses {output.losses} --checkpoint {params.checkpoint} > {log} 2>&1"


rule train_sigma:
    """SIGMA's one model of all the mock data of (nsig, seed), used in every window."""
    input:
        mock_data,
    output:
        model=f"{WORK}/resonant/sigma/n{{nsig}}/s{{seed}}.pt",
        losses=f"{WORK}/resonant/sigma/n{{nsig}}/s{{seed}}.losses.csv",
    params:
        options=json.dumps(sigma_options(), sort_keys=True),
        checkpoint=lambda wc, output: f"{output.model}.ckpt",
        device=config["device"],
        code=code_version("flows", "methods", "training.py", "resonant.py", "io"),
    threads: config["threads"]["train"]
    resources:
        gpu=1,
    conda:
        ENV
    log:
        f"{LOGS}/train_sigma/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/train_sigma/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} train-sigma --data {input}"
        " --options '{params.options}' --seed {wildcards.seed} --device {params.device}"
        " --model {output.model} --losses {output.losses} --checkpoint {params.checkpoint} > {log} 2>&1"


rule train:
    """Fit method {method} in window {window} on the mock data of (nsig, seed)."""
    input:
        unpack(train_inputs),
    output:
        model=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.pkl",
        info=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
    wildcard_constraints:
        nsig=r"\d+|all",
    params:
        window=window_bounds,
        inputs=lambda wc, input: " ".join(flag(f"--{o}", input, k) for o, k in (
            ("data", "data"), ("extra", "extra_bkg"), ("signal", "signal"), ("bkg-flow", "bkg_flow"),
            ("sigma-model", "sigma"))),
        options=lambda wc: json.dumps(method_options(wc.method), sort_keys=True),
        kfold=lambda wc: R["kfold"] if EVALUATION[int(wc.window)] == "kfold" else 0,
        device=config["device"],
        code=code_version("methods", "classifiers", "flows", "training.py", "windows.py", "resonant.py", "kfold.py",
                          "io"),
    threads: config["threads"]["train"]
    resources:
        gpu=lambda wc: gpu_request(wc.method),
    conda:
        ENV
    log:
        f"{LOGS}/train/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/train/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} train --method {wildcards.method} --window {params.window}"
        " --seed {wildcards.seed} {params.inputs}"
        " --options '{params.options}' --kfold {params.kfold} --device {params.device}"
        " --model {output.model} --info {output.info} > {log} 2>&1"


rule score:
    """Score window {window}'s test set with the trained model (CPU)."""
    input:
        model=lambda wc: model_path(wc, "pkl"),
        test=test_set,
        bkg_flow=lambda wc: bkg_flow_path(wc) if "bkg_flow" in METHODS[wc.method].score_needs else [],
    output:
        f"{RESULTS}/resonant/scores/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.npz",
    params:
        bkg_flow=lambda wc, input: f"--bkg-flow {input.bkg_flow}" if input.bkg_flow else "",
        test=lambda wc, input: f"--test {input.test}" if input.test else "",
        code=code_version("methods", "classifiers", "flows", "resonant.py", "io"),
    threads: config["threads"]["score"]
    conda:
        ENV
    log:
        f"{LOGS}/score/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/score/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} score --model {input.model} {params.test} {params.bkg_flow}"
        " --out {output} > {log} 2>&1"


rule metrics:
    """ROC, SIC and AUC of one score file, with the SR truth counts of the mock data."""
    input:
        scores=rules.score.output[0],
        info=lambda wc: model_path(wc, "json"),
        data=mock_data,
    output:
        f"{WORK}/resonant/metrics/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
    params:
        min_bkg=R["min_bkg"],
        code=code_version("metrics.py", "resonant.py"),
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
        unpack(lambda wc: {k: v for k, v in train_inputs(wc).items() if k in ("data", "bkg_flow", "sigma")}),
    output:
        json=f"{WORK}/resonant/validation/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
        png=report(f"{RESULTS}/figures/template_w{{window}}_{{method}}_n{{nsig}}_s{{seed}}.png",
                   caption="../report/template.rst", category="Resonant", subcategory="Template validation"),
        pdf=f"{RESULTS}/figures/template_w{{window}}_{{method}}_n{{nsig}}_s{{seed}}.pdf",
    params:
        window=window_bounds,
        inputs=lambda wc, input: " ".join(flag(f"--{o}", input, k) for o, k in (
            ("bkg-flow", "bkg_flow"), ("sigma-model", "sigma"))),
        options=lambda wc: json.dumps(method_options(wc.method), sort_keys=True),
        figure=lambda wc, output: output.pdf[:-4],
        device=config["device"],
        code=code_version("methods", "flows", "validation.py", "plots.py", "resonant.py"),
    threads: config["threads"]["train"]
    conda:
        ENV
    log:
        f"{LOGS}/validate_template/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/validate_template/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} validate-template --method {wildcards.method} --window {params.window}"
        " --data {input.data} {params.inputs} --options '{params.options}' --seed {wildcards.seed}"
        " --device {params.device} --out {output.json} --figure {params.figure} > {log} 2>&1"
