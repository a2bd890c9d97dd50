"""The bump hunt: out-of-fold data scores -> cut at a fixed background efficiency -> background in
the signal region (SR) from a template or a sideband fit -> local and global significance.

scores.py        the input contract (one .npz per window x method x n_sig x seed)
significance.py  counting-experiment significance (Cowan), p <-> Z, systematic from n_sig = 0 runs
fit.py           binned Poisson fit of the dijet function (iminuit), parameter count, q0
hunt.py          per-file estimates (template and fit route) and the `hepad bumphunt` aggregation
calibration.py   calibration of Z on n_sig = 0 runs, effective number of windows, global significance
plots.py         scan, significance vs n_sig, spectra with fits, calibration figures
"""
