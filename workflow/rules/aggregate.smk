# Aggregation: summary.csv, figures, report. `snakemake --report report.html` collects the figures.
FIGS = f"{RESULTS}/figures"
RESONANT_FIGS = [f"sic_w{w}" for w in WINDOW_IDS] + ["max_sic_vs_window", "max_sic_vs_nsig"]


rule aggregate_resonant:
    """summary.csv (one row per window, method, n_sig, seed) and the SIC figures."""
    input:
        expand(f"{WORK}/resonant/metrics/w{{window}}/{{method}}/n{{nsig}}/s{{seed}}.json", zip,
               **{k: [key[k] for key in RESONANT_KEYS] for k in ("window", "method", "nsig", "seed")}),
    output:
        summary=report(f"{RESULTS}/resonant/summary.csv", caption="../report/summary.rst", category="Resonant"),
        png=[report(f"{FIGS}/{name}.png", caption="../report/resonant_figure.rst", category="Resonant",
                    labels={"figure": name}) for name in RESONANT_FIGS],
        pdf=[f"{FIGS}/{name}.pdf" for name in RESONANT_FIGS],
    params:
        min_bkg=R["min_bkg"],
        figdir=lambda wc, output: os.path.dirname(output.pdf[0]),
        code=code_version("aggregate.py", "plots.py", "metrics.py"),
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
    """Training cost per job and per method (own jobs + the shared flows it uses), SIGMA vs CATHODE."""
    input:
        train_benchmarks,
    output:
        jobs=f"{RESULTS}/resonant/compute_jobs.csv",
        methods=report(f"{RESULTS}/resonant/compute_by_method.csv", caption="../report/compute.rst",
                       category="Resonant", subcategory="Compute"),
        png=report(f"{FIGS}/training_cost.png", caption="../report/compute.rst", category="Resonant",
                   subcategory="Compute"),
        pdf=f"{FIGS}/training_cost.pdf",
    params:
        figure=lambda wc, output: output.pdf[:-4],
        code=code_version("compute.py", "plots.py"),
    conda:
        ENV
    log:
        f"{LOGS}/compute_accounting.log",
    benchmark:
        f"{BENCH}/compute_accounting.tsv"
    shell:
        "hepad compute-accounting --benchmarks {input} --jobs {output.jobs} --methods {output.methods}"
        " --figure {params.figure} > {log} 2>&1"


rule flow_losses:
    """Per-epoch training and validation losses of the sideband flows and SIGMA models."""
    input:
        [f"{WORK}/resonant/bkg_flow/w{w}/n{n}/s{s}.losses.csv" for w, n, s in FLOW_KEYS]
        + [f"{WORK}/resonant/sigma/n{n}/s{s}.losses.csv" for n, s in SIGMA_KEYS],
    output:
        png=report(f"{FIGS}/flow_losses.png", caption="../report/flow_losses.rst", category="Resonant",
                   subcategory="Training"),
        pdf=f"{FIGS}/flow_losses.pdf",
    params:
        figure=lambda wc, output: output.pdf[:-4],
        code=code_version("aggregate.py", "plots.py"),
    conda:
        ENV
    log:
        f"{LOGS}/flow_losses.log",
    benchmark:
        f"{BENCH}/flow_losses.tsv"
    shell:
        "hepad flow-losses --losses {input} --figure {params.figure} > {log} 2>&1"


rule template_closure:
    """template_closure.csv: AUC of template vs true SR background per window and template method."""
    input:
        [f"{WORK}/resonant/validation/w{k['window']}/{k['method']}/n{k['nsig']}/s{k['seed']}.json"
         for k in VALIDATION_KEYS],
    output:
        report(f"{RESULTS}/resonant/template_closure.csv", caption="../report/template.rst", category="Resonant",
               subcategory="Template validation"),
    params:
        code=code_version("aggregate.py"),
    conda:
        ENV
    log:
        f"{LOGS}/template_closure.log",
    benchmark:
        f"{BENCH}/template_closure.tsv"
    shell:
        "hepad template-closure --inputs {input} --out {output} > {log} 2>&1"


# what `rule all` asks for besides summary.csv (only what the configured methods produce)
RESONANT_TARGETS = [f"{RESULTS}/resonant/summary.csv", f"{RESULTS}/resonant/compute_by_method.csv"]
RESONANT_TARGETS += [f"{FIGS}/flow_losses.png"] if FLOW_KEYS or SIGMA_KEYS else []
RESONANT_TARGETS += [f"{RESULTS}/resonant/template_closure.csv"] if VALIDATION_KEYS else []
