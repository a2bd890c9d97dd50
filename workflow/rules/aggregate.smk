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
