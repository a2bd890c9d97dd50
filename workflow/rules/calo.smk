# CaloFlow likelihood tagging (showers -> Flow-I/Flow-II -> scores -> studies).
# Samples: photons_train (flows' training and validation), photons_test (evaluation background),
# chi_m{mass}_z{z} (E_chi = 50 GeV, fixed decay position), sup_m{mass} (supervised-training signal).
CALO_TARGETS = []

if config.get("calo"):  # no `calo` section (or calo: null): the study is off
    from hepad.calo import plan

    C = config["calo"]
    CALO = f"{WORK}/calo"
    CALO_FIGS = f"{RESULTS}/figures"
    CHI = plan.chi_samples(C)
    SUP = plan.sup_samples(C)
    LIFE, LIFE_SRC = {}, {}  # lifetime samples of the public data, when present (else: reweighting)
    try:  # a bad config or a member missing from the signal archive stops here with one line
        plan.check(C)
        if C["source"] == "calogan":
            CHI_MEMBERS, LIFE_SRC = plan.calogan_signals(C, load_manifest(MANIFEST).get(C["calogan"]["signal_zip"]),
                                                         DATA_DIR)
            LIFE = {n: mt for n, mt in plan.life_samples(C).items() if n in LIFE_SRC}
            if not config["download"]:  # every missing file in one line, at DAG time (not MissingInputException)
                plan.require_calogan_files(C, ["photons_train", "photons_test", *CHI, *SUP, *LIFE], LIFE_SRC, DATA_DIR,
                                           load_manifest(MANIFEST), MANIFEST)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    CALO_SAMPLES = ["photons_train", "photons_test", *CHI, *SUP, *LIFE]
    calo_showers = lambda name: f"{CALO}/showers/{name}.h5"
    calo_scores = lambda name: f"{RESULTS}/calo/scores/{name}.npz"

    if C["source"] == "toy":

        rule calo_toy:
            """Toy showers of one sample in the CaloGAN layout."""
            output:
                calo_showers("{sample}"),
            wildcard_constraints:
                sample="|".join(CALO_SAMPLES),
            params:
                args=lambda wc: plan.toy_args(C, wc.sample),
                code=code_version("hepad.calo.steps:generate"),
            conda:
                ENV
            log:
                f"{LOGS}/calo/toy/{{sample}}.log",
            benchmark:
                f"{BENCH}/calo/toy/{{sample}}.tsv"
            shell:
                "hepad calo-toy {params.args} --out {output} > {log} 2>&1"

    else:

        rule calo_prepare:
            """Validated copy of a public CaloGAN-layout file (or of one member of the signal zip)."""
            input:
                lambda wc: dataset_path(plan.calogan_file(C, wc.sample, LIFE_SRC)),
            output:
                calo_showers("{sample}"),
            wildcard_constraints:
                sample="|".join(CALO_SAMPLES),
            params:
                args=lambda wc: plan.calogan_args(wc.sample, CHI_MEMBERS, LIFE_SRC),
                code=code_version("hepad.calo.sources:convert", "hepad.calo.sources:extract_signal"),
            conda:
                ENV
            log:
                f"{LOGS}/calo/prepare/{{sample}}.log",
            benchmark:
                f"{BENCH}/calo/prepare/{{sample}}.tsv"
            shell:
                "hepad calo-prepare --input {input} {params.args} --out {output} > {log} 2>&1"

    rule calo_train_flow:
        """CaloFlow Flow-I (layer energies) or Flow-II (normalised voxels) on the training photons."""
        input:
            calo_showers("photons_train"),
        output:
            model=f"{CALO}/models/flow{{flow}}.pt",
            losses=f"{RESULTS}/calo/flow{{flow}}_losses.csv",
        wildcard_constraints:
            flow="1|2",
        params:
            flow=lambda wc: json.dumps(C[f"flow{wc.flow}"]["flow"], sort_keys=True),
            train=lambda wc: json.dumps(C[f"flow{wc.flow}"]["train"], sort_keys=True),
            val=C["val_fraction"],
            seed=C["seed"],
            device=config["device"],
            code=code_version("hepad.calo.steps:train_flow"),
        threads: config["threads"]["train"]
        resources:
            gpu=1,
        priority: 10  # the longest jobs: start them as soon as the training photons exist
        conda:
            ENV
        log:
            f"{LOGS}/calo/train_flow{{flow}}.log",
        benchmark:
            f"{BENCH}/calo/train_flow{{flow}}.tsv"
        shell:
            "hepad --threads {threads} calo-train-flow --flow {wildcards.flow} --photons {input}"
            " --flow-config '{params.flow}' --train-config '{params.train}' --val-fraction {params.val}"
            " --seed {params.seed} --device {params.device} --model {output.model} --losses {output.losses}"
            " > {log} 2>&1"

    rule calo_score:
        """Per-shower log-likelihoods (both flows, with the preprocessing log-Jacobians) of one sample (CPU)."""
        input:
            flow1=f"{CALO}/models/flow1.pt",
            flow2=f"{CALO}/models/flow2.pt",
            showers=calo_showers("{sample}"),
        output:
            calo_scores("{sample}"),
        wildcard_constraints:
            sample="|".join(["photons_test", *CHI, *LIFE]),
        params:
            seed=C["seed"],
            batch=C["score_batch_size"],
            code=code_version("hepad.calo.steps:score"),
        threads: config["threads"]["score"]
        conda:
            ENV
        log:
            f"{LOGS}/calo/score/{{sample}}.log",
        benchmark:
            f"{BENCH}/calo/score/{{sample}}.tsv"
        shell:
            "hepad --threads {threads} calo-score --flow1 {input.flow1} --flow2 {input.flow2}"
            " --showers {input.showers} --name {wildcards.sample} --seed {params.seed}"
            " --batch-size {params.batch} --out {output} > {log} 2>&1"

    rule calo_train_supervised:
        """The supervised 505-input MLP: one supervised signal vs the training photons."""
        input:
            signal=calo_showers("{sample}"),
            photons=calo_showers("photons_train"),
            flow1=f"{CALO}/models/flow1.pt",
        output:
            f"{CALO}/models/supervised_{{sample}}.pt",
        wildcard_constraints:
            sample="|".join(SUP) or "none",
        params:
            options=json.dumps(C["supervised"], sort_keys=True),
            seed=C["seed"],
            device=config["device"],
            code=code_version("hepad.calo.steps:train_supervised"),
        threads: config["threads"]["train"]
        resources:
            gpu=1,
        conda:
            ENV
        log:
            f"{LOGS}/calo/train_supervised/{{sample}}.log",
        benchmark:
            f"{BENCH}/calo/train_supervised/{{sample}}.tsv"
        shell:
            "hepad --threads {threads} calo-train-supervised --signal {input.signal} --photons {input.photons}"
            " --flow1 {input.flow1} --options '{params.options}' --seed {params.seed} --device {params.device}"
            " --model {output} > {log} 2>&1"

    calo_report = lambda name: report(f"{CALO_FIGS}/{name}.png", caption="../report/calo_figure.rst",
                                      category="CaloFlow", labels={"figure": name})

    rule calo_heatmap:
        """max SIC over mass x displacement (our floor and the paper's none; unsup, sup, combined),
        log-likelihood figures."""
        input:
            background=calo_scores("photons_test"),
            background_showers=calo_showers("photons_test"),
            signal=[calo_scores(n) for n in CHI],
            signal_showers=[calo_showers(n) for n in CHI],
            supervised=[f"{CALO}/models/supervised_{n}.pt" for n in SUP],
        output:
            csv=report(f"{RESULTS}/calo/heatmap.csv", caption="../report/calo_heatmap.rst", category="CaloFlow"),
            png=[calo_report(n) for n in ("calo_heatmap", "calo_loglik", "calo_jacobian")],
            pdf=[f"{CALO_FIGS}/{n}.pdf" for n in ("calo_heatmap", "calo_loglik", "calo_jacobian")],
        params:
            signal=plan.tagged(C, calo_scores),
            showers=plan.tagged(C, calo_showers),
            supervised=" ".join(f"{m}:{CALO}/models/supervised_{n}.pt" for n, m in SUP.items()),
            seed=C["seed"],
            min_bkg=C["min_bkg"],
            jacobian="--jacobian" if C["jacobian"] else "",
            figdir=lambda wc, output: os.path.dirname(output.pdf[0]),
            code=code_version("hepad.calo.steps:heatmap"),
        conda:
            ENV
        log:
            f"{LOGS}/calo/heatmap.log",
        benchmark:
            f"{BENCH}/calo/heatmap.tsv"
        shell:
            "hepad calo-heatmap --background {input.background} --signal {params.signal}"
            " --background-showers {input.background_showers} --signal-showers {params.showers}"
            " --supervised {params.supervised} --seed {params.seed}"
            " --min-bkg {params.min_bkg} {params.jacobian} --csv {output.csv} --figdir {params.figdir} > {log} 2>&1"

    rule calo_lifetimes:
        """Lifetime samples (public ones where present, else P_d(z) reweighting): unsupervised, supervised
        and combined SIC per mass and tau."""
        input:
            background=calo_scores("photons_test"),
            background_showers=calo_showers("photons_test"),
            signal=[calo_scores(n) for n in CHI],
            signal_showers=[calo_showers(n) for n in CHI],
            supervised=[f"{CALO}/models/supervised_{n}.pt" for n in SUP],
            lifetime_scores=[calo_scores(n) for n in LIFE],
            lifetime_showers=[calo_showers(n) for n in LIFE],
        output:
            csv=report(f"{RESULTS}/calo/lifetimes.csv", caption="../report/calo_lifetimes.rst", category="CaloFlow"),
            png=[calo_report(n) for n in ("calo_lifetime_sic", "calo_sup_vs_unsup")],
            pdf=[f"{CALO_FIGS}/{n}.pdf" for n in ("calo_lifetime_sic", "calo_sup_vs_unsup")],
        params:
            signal=plan.tagged(C, calo_scores),
            showers=plan.tagged(C, calo_showers),
            supervised=" ".join(f"{m}:{CALO}/models/supervised_{n}.pt" for n, m in SUP.items()),
            life=(f"--lifetime-scores {plan.tagged(C, calo_scores, LIFE)}"
                  f" --lifetime-showers {plan.tagged(C, calo_showers, LIFE)}") if LIFE else "",
            taus=" ".join(str(t) for t in C["taus"]),
            n=C["lifetime_showers"],
            seed=C["seed"],
            min_bkg=C["min_bkg"],
            jacobian="--jacobian" if C["jacobian"] else "",
            figdir=lambda wc, output: os.path.dirname(output.pdf[0]),
            code=code_version("hepad.calo.steps:lifetimes"),
        threads: config["threads"]["score"]
        conda:
            ENV
        log:
            f"{LOGS}/calo/lifetimes.log",
        benchmark:
            f"{BENCH}/calo/lifetimes.tsv"
        shell:
            "hepad --threads {threads} calo-lifetimes --background {input.background}"
            " --background-showers {input.background_showers} --signal {params.signal}"
            " --signal-showers {params.showers} --supervised {params.supervised} {params.life} --taus {params.taus}"
            " --n-showers {params.n} --seed {params.seed} --min-bkg {params.min_bkg} {params.jacobian}"
            " --csv {output.csv} --figdir {params.figdir} > {log} 2>&1"

    CALO_EXAMPLE = f"chi_m{max(C['masses']):g}_z{min(C['displacements']):g}"

    rule calo_example:
        """Example showers: the heaviest chi decaying furthest upstream (two blobs) vs a photon."""
        input:
            photons=calo_showers("photons_test"),
            signal=calo_showers(CALO_EXAMPLE),
        output:
            png=calo_report("calo_example_showers"),
            pdf=f"{CALO_FIGS}/calo_example_showers.pdf",
        params:
            stem=lambda wc, output: output.pdf[: -len(".pdf")],
            code=code_version("hepad.calo.steps:example_figure"),
        conda:
            ENV
        log:
            f"{LOGS}/calo/example.log",
        benchmark:
            f"{BENCH}/calo/example.tsv"
        shell:
            "hepad calo-example --photons {input.photons} --signal {input.signal} --stem {params.stem} > {log} 2>&1"

    CALO_TARGETS = [rules.calo_heatmap.output.csv, rules.calo_lifetimes.output.csv, rules.calo_example.output.pdf]
