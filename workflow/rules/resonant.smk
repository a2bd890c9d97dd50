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


rule train:
    """Fit method {method} in window {window} on the mock data of (nsig, seed)."""
    input:
        data=lambda wc: [] if wc.nsig == "all" else mock_data(wc),
        extra=f"{WORK}/samples/extra_train.h5",
        signal=f"{WORK}/samples/signal_train.h5",
    output:
        model=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.pkl",
        info=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
    wildcard_constraints:
        nsig=r"\d+|all",
    params:
        window=window_bounds,
        data=lambda wc, input: f"--data {input.data}" if input.data else "",
        options=lambda wc: json.dumps(method_options(wc.method), sort_keys=True),
        device=config["device"],
        code=code_version("methods", "classifiers", "training.py", "windows.py", "resonant.py", "io"),
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
        " --seed {wildcards.seed} {params.data} --extra {input.extra} --signal {input.signal}"
        " --options '{params.options}' --device {params.device}"
        " --model {output.model} --info {output.info} > {log} 2>&1"


rule score:
    """Score window {window}'s test set with the trained model (CPU)."""
    input:
        model=lambda wc: model_path(wc, "pkl"),
        test=rules.make_testset.output[0],
    output:
        f"{RESULTS}/resonant/scores/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.npz",
    params:
        code=code_version("methods", "classifiers", "resonant.py", "io"),
    threads: config["threads"]["score"]
    conda:
        ENV
    log:
        f"{LOGS}/score/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.log",
    benchmark:
        f"{BENCH}/score/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.tsv"
    shell:
        "hepad --threads {threads} score --model {input.model} --test {input.test} --out {output} > {log} 2>&1"


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
