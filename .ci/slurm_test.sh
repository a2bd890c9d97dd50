#!/usr/bin/env bash
# Real SLURM test: bring up a single-node cluster with a fake GPU (../shared/slurm/up.sh), run
# config/ci.yaml through `snakemake --profile cluster`, check that every rule but `all` ran as a
# SLURM job and that the results equal a local run. Everything under `timeout -k`.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
UP="${HEPAD_SLURM_UP:-$ROOT/../shared/slurm/up.sh}"
cd "$ROOT"
.venv/bin/python -m pip install -q -e '.[cluster]' > .venv/pip-cluster.log 2>&1 || { cat .venv/pip-cluster.log; exit 1; }
timeout -k 10 300 bash "$UP"
export PATH="$ROOT/.venv/bin:$PATH"  # jobs inherit the submitting shell's environment
work="$(mktemp -d)"
timeout -k 10 120 snakemake --profile cluster --configfile config/ci.yaml --lint  # the profile lints
# Test overrides for this node: no accounting database (squeue for job status), quick first poll,
# at most 2 jobs at once on its 2 CPUs, status polled every 2 s (10 s by default).
# The SLURM run stacks the sideband flows of both windows and seeds in one job (resonant.stack), the
# local run one job per seed (the default): the comparison below also checks that stacking changes no result.
# It runs n_sig = 600 only (the local run also has 0, for the bump hunt): half the resonant jobs, so
# that CI stays within its time; its rows are compared with the local run's n_sig = 600 rows.
printf 'resonant:\n  stack: [window, seed]\n  n_sig: [600]\n' > "$work/slurm.yaml"  # merged over ci.yaml
timeout -k 30 1500 snakemake --profile cluster --configfile config/ci.yaml "$work/slurm.yaml" -d "$work/slurm" \
  --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2 --seconds-between-status-checks 2 --jobs 2 --cores 2 > "$work/slurm.log" 2>&1 \
  || { tail -50 "$work/slurm.log"; exit 1; }
grep -E "submitted with SLURM jobid" "$work/slurm.log"
# The local run to compare with: the one the workflow test kept (.ci/run sets HEPAD_KEEP_CI_RUN), else a new one.
local="${HEPAD_KEEP_CI_RUN:-}"
if [ -z "$local" ] || [ ! -f "$local/results/ci/resonant/summary.csv" ]; then
  local="$work/local"
  timeout -k 30 900 snakemake --cores 2 --configfile config/ci.yaml -d "$local" > "$work/local.log" 2>&1 \
    || { tail -50 "$work/local.log"; exit 1; }
fi
# the rules a local run of the SLURM run's config executes (from the DAG; `all` is local)
snakemake -n --configfile config/ci.yaml "$work/slurm.yaml" -d "$work/dry" > "$work/local.log" 2>&1
python .ci/slurm_check.py "$work/slurm" "$local" "$work/slurm.log" "$work/local.log"

# A failing job is retried (profile: retries 2) and then reported with its SLURM log path:
# n_sig larger than the signal pool makes inject_signal fail on every attempt.
sed 's/^  n_sig: \[0, 600\]/  n_sig: [100000]/' config/ci.yaml > "$work/bad.yaml"
if timeout -k 30 600 snakemake --profile cluster --configfile "$work/bad.yaml" -d "$work/slurm" \
    --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2 --seconds-between-status-checks 2 --jobs 2 --cores 2 \
    > "$work/fail.log" 2>&1; then
  echo "expected the run with n_sig = 100000 to fail"; exit 1
fi
grep -E "Error in rule inject_signal|slurm_logs/rule_inject_signal/100000_0" "$work/fail.log"
tries=$(grep -c "submitted with SLURM jobid .*rule_inject_signal/100000_0/" "$work/fail.log" || true)
[ "$tries" -eq 3 ] || { echo "inject_signal was submitted $tries times; expected 3 (2 retries)"; tail -40 "$work/fail.log"; exit 1; }
grep -q "error: .*n_sig = 100000 exceeds the" "$work/slurm/logs/ci/inject_signal/n100000_s0.log"
echo "failing job: submitted 3 times (2 retries), reported with its log; its error: $(cat "$work/slurm/logs/ci/inject_signal/n100000_s0.log")"
rm -rf "$work"
