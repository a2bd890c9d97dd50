# The two commands of the README:  make workflow  (toy study end to end)  and  make test.
# Both create .venv on first use: torch 2.13.0 first (the CPU build on this machine), then the package.
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2
PIP := $(PY) -m pip install -q
export PIP_DISABLE_PIP_VERSION_CHECK := 1

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) --upgrade pip > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(PIP) torch==2.13.0 > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(PIP) -e '.[test]' > $(VENV)/pip.log 2>&1 || (cat $(VENV)/pip.log; exit 1)
	$(PY) -c "import hepad, torch, snakemake, nflows, sklearn, h5py"
	touch $@

.PHONY: workflow test test-all report venv profile calibration
venv: $(VENV)/.installed

# each `make workflow` appends its wall time (snakemake only, venv excluded) next to the benchmark files
workflow: $(VENV)/.installed
	@start=$$(date +%s); $(VENV)/bin/snakemake --cores $(CORES) --configfile config/config.yaml; rc=$$?; \
	  mkdir -p benchmarks/default && echo "$$(date -Is) $$(( $$(date +%s) - start )) rc=$$rc" >> benchmarks/default/wall_seconds.log; \
	  exit $$rc

# where the last default run's time went: jobs, seconds and share per rule (bench/rule_profile.py)
profile: $(VENV)/.installed
	$(PY) bench/rule_profile.py benchmarks/default

# the bump hunt's n_sig = 0 calibration on 20 independent background samples (config/calibration.yaml, ~7 min)
calibration: $(VENV)/.installed
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/calibration.yaml
	$(PY) bench/calibration.py results/calibration

report: $(VENV)/.installed
	$(VENV)/bin/snakemake --cores $(CORES) --configfile config/config.yaml --report results/default/report.html

# the fast subset (a developer's inner loop) and everything (what CI runs), both on $(CORES) pytest-xdist
# workers (tests/conftest.py: one file per unit, the longest first)
test: $(VENV)/.installed
	$(PY) -m pytest -m "not slow" -n $(CORES) --dist loadgroup

test-all: $(VENV)/.installed
	$(PY) -m pytest -n $(CORES) --dist loadgroup
