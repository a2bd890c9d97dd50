# Aggregation: summary.csv, figures, report. `snakemake --report report.html` collects the figures.
FIGS = f"{RESULTS}/figures"
RESONANT_FIGS = [f"sic_w{w}" for w in P.window_ids] + ["max_sic_vs_window", "max_sic_vs_nsig"]


rule aggregate_resonant:
    """summary.csv (one row per window, method, n_sig, seed) and the SIC figures."""
    input:
        [P.metrics(k) for k in P.keys],
    output:
        summary=report(f"{RESULTS}/resonant/summary.csv", caption="../report/summary.rst", category="Resonant"),
        png=[report(f"{FIGS}/{name}.png", caption="../report/resonant_figure.rst", category="Resonant",
                    labels={"figure": name}) for name in RESONANT_FIGS],
        pdf=[f"{FIGS}/{name}.pdf" for name in RESONANT_FIGS],
    params:
        min_bkg=config["resonant"]["min_bkg"],
        figdir=lambda wc, output: os.path.dirname(output.pdf[0]),
        code=code_version("hepad.resonant.aggregate:aggregate"),
    conda:
        ENV
    log:
        f"{LOGS}/aggregate_resonant.log",
    benchmark:
        f"{BENCH}/aggregate_resonant.tsv"
    shell:
        "hepad aggregate-resonant --metrics {input} --summary {output.summary} --figdir {params.figdir}"
        " --min-bkg {params.min_bkg} > {log} 2>&1"


rule compute_accounting:
    """Training cost per job and per method (own jobs + the shared models it uses), SIGMA vs CATHODE."""
    input:
        P.train_benchmarks(),
    output:
        jobs=f"{RESULTS}/resonant/compute_jobs.csv",
        methods=report(f"{RESULTS}/resonant/compute_by_method.csv", caption="../report/compute.rst",
                       category="Resonant", subcategory="Compute"),
        png=report(f"{FIGS}/training_cost.png", caption="../report/compute.rst", category="Resonant",
                   subcategory="Compute"),
        pdf=f"{FIGS}/training_cost.pdf",
    params:
        figure=lambda wc, output: output.pdf[:-4],
        stack=P.stack_values(),
        code=code_version("hepad.resonant.compute:account"),
    conda:
        ENV
    log:
        f"{LOGS}/compute_accounting.log",
    benchmark:
        f"{BENCH}/compute_accounting.tsv"
    shell:
        "hepad compute-accounting --benchmarks {input} --jobs {output.jobs} --methods {output.methods}"
        " --figure {params.figure} --stack {params.stack} > {log} 2>&1"


rule flow_losses:
    """Per-epoch training and validation losses of the shared models (one panel each)."""
    input:
        [tagged.partition("=")[2] for tagged in P.loss_files()],
    output:
        png=report(f"{FIGS}/flow_losses.png", caption="../report/flow_losses.rst", category="Resonant",
                   subcategory="Training"),
        pdf=f"{FIGS}/flow_losses.pdf",
    params:
        losses=" ".join(P.loss_files()),
        figure=lambda wc, output: output.pdf[:-4],
        code=code_version("hepad.resonant.aggregate:flow_losses"),
    conda:
        ENV
    log:
        f"{LOGS}/flow_losses.log",
    benchmark:
        f"{BENCH}/flow_losses.tsv"
    shell:
        "hepad flow-losses --losses {params.losses} --figure {params.figure} > {log} 2>&1"


rule template_closure:
    """template_closure.csv: AUC of template vs true SR background per window and template method."""
    input:
        [f"{WORK}/resonant/validation/w{k['window']}/{k['method']}/n{k['nsig']}/s{k['seed']}.json"
         for k in P.validation_keys],
    output:
        report(f"{RESULTS}/resonant/template_closure.csv", caption="../report/template.rst", category="Resonant",
               subcategory="Template validation"),
    params:
        code=code_version("hepad.resonant.aggregate:closure_table"),
    conda:
        ENV
    log:
        f"{LOGS}/template_closure.log",
    benchmark:
        f"{BENCH}/template_closure.tsv"
    shell:
        "hepad template-closure --inputs {input} --out {output} > {log} 2>&1"


# what `rule all` asks for besides summary.csv (only what the configured methods produce)
# the calibration figure needs n_sig = 0 runs (config/paper.yaml has none)
BUMPHUNT_FIGS = ["bumphunt_summary", "bumphunt_scan_fit", "bumphunt_scan_template", "bumphunt_vs_nsig"] + ["bumphunt_scan_ratio"] * (
    "ratio" in P.bumphunt_routes) + [
    f"bumphunt_spectrum_w{w}" for w in P.window_ids] + ["bumphunt_calibration"] * (0 in config["resonant"]["n_sig"])


rule bumphunt:
    """The bump hunt's answer: local significance per window, method, n_sig, seed, eps and background
    estimate (template, sideband fit) from the out-of-fold data scores; calibration on n_sig = 0."""
    input:
        [P.data_scores(k) for k in P.bumphunt_keys],
    output:
        csv=report(f"{RESULTS}/resonant/bumphunt.csv", caption="../report/bumphunt.rst", category="Bump hunt"),
        calibration=report(f"{RESULTS}/resonant/bumphunt_calibration.csv", caption="../report/bumphunt.rst",
                           category="Bump hunt"),
        summary=report(f"{RESULTS}/resonant/bumphunt_summary.csv", caption="../report/bumphunt.rst",
                       category="Bump hunt"),
        png=[report(f"{FIGS}/{name}.png", caption="../report/bumphunt.rst", category="Bump hunt",
                    labels={"figure": name}) for name in BUMPHUNT_FIGS],
        pdf=[f"{FIGS}/{name}.pdf" for name in BUMPHUNT_FIGS],
    params:
        eps=" ".join(map(str, config["resonant"]["bumphunt"]["eps"])),
        null="independent" if P.independent_null else "shared",
        fit_min=config["resonant"]["bumphunt"]["fit_min_mjj"],
        figdir=lambda wc, output: os.path.dirname(output.pdf[0]),
        figures=" ".join(BUMPHUNT_FIGS),
        code=code_version("hepad.resonant.bumphunt.hunt:bumphunt"),
    conda:
        ENV
    log:
        f"{LOGS}/bumphunt.log",
    benchmark:
        f"{BENCH}/bumphunt.tsv"
    shell:
        "hepad bumphunt --scores {input} --eps {params.eps} --out {output.csv} --calibration {output.calibration}"
        " --summary {output.summary}"
        " --figures {params.figdir} --expect {params.figures} --null-samples {params.null}"
        " --fit-min-mjj {params.fit_min} > {log} 2>&1"


RESONANT_TARGETS = [f"{RESULTS}/resonant/summary.csv", f"{RESULTS}/resonant/compute_by_method.csv"]
RESONANT_TARGETS += [f"{RESULTS}/resonant/bumphunt.csv"] if P.bumphunt_keys else []
RESONANT_TARGETS += [f"{FIGS}/flow_losses.png"] if P.loss_files() else []
RESONANT_TARGETS += [f"{RESULTS}/resonant/template_closure.csv"] if P.validation_keys else []
