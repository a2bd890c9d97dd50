"""The resonant study: a sliding-window bump hunt in m_jj (LHC Olympics R&D layout) with IAD,
supervised, CWoLa Hunting, ANODE, CATHODE, R-ANODE and SIGMA, per window, n_sig and seed.

commands (the `hepad` subcommands) -> steps (one function per rule) -> methods/, background/,
windows, kfold, formats/; plan (what the rules need) and registry (what methods read) serve the
workflow rules in workflow/rules/resonant.smk and aggregate.smk."""
