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
    """Fit method {method} in window {window} on the mock data (n_sig, seed)."""
    input:
        data=rules.inject_signal.output[0],
        extra=f"{WORK}/samples/extra_train.h5",
        signal=f"{WORK}/samples/signal_train.h5",
    output:
        model=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.pkl",
        info=f"{WORK}/resonant/models/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json",
    params:
        window=window_bounds,
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
        "hepad --threads {threads} train --method {wildcards.method} --window-index {wildcards.window}"
        " --window {params.window} --n-sig {wildcards.nsig} --seed {wildcards.seed}"
        " --data {input.data} --extra {input.extra} --signal {input.signal}"
        " --options '{params.options}' --device {params.device}"
        " --model {output.model} --info {output.info} > {log} 2>&1"


rule score:
    """Score window {window}'s test set with the trained model (CPU)."""
    input:
        model=rules.train.output.model,
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
    """ROC, SIC and AUC of one score file."""
    input:
        scores=rules.score.output[0],
        info=rules.train.output.info,
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
        "hepad metrics --scores {input.scores} --info {input.info} --min-bkg {params.min_bkg}"
        " --out {output} > {log} 2>&1"
