#!/usr/bin/env bash
# Real SLURM test: bring up a single-node cluster with a fake GPU (../shared/slurm/up.sh), run
# config/ci.yaml through `snakemake --profile cluster`, check that every rule but `all` ran as a
# SLURM job and that the results equal a local run. Everything under `timeout -k`.
#   bash .ci/slurm_test.sh               the whole test (its own local run unless HEPAD_KEEP_CI_RUN holds one)
#   bash .ci/slurm_test.sh run DIR       the SLURM runs only, into DIR (.ci/run: beside the test suite)
#   bash .ci/slurm_test.sh compare DIR   then the comparison with the local run the workflow test kept
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
UP="${HEPAD_SLURM_UP:-$ROOT/../shared/slurm/up.sh}"
cd "$ROOT"
mode="${1:-all}"
work="${2:-$(mktemp -d)}"
mkdir -p "$work"
export PATH="$ROOT/.venv/bin:$PATH"  # jobs inherit the submitting shell's environment
# Test overrides for this node: no accounting database (squeue for job status), quick first poll,
# status polled every 2 s. Up to 8 jobs are submitted at once: SLURM queues what its 2 CPUs cannot run
# yet and starts it as soon as a job ends, while the executor only notices a finished job at its next
# poll (10 s later for each poll that found none: 2, 12, 22, ... s); with at most 2 jobs submitted
# that wait held a CPU idle after every job (measured: README "Tests").
SLURM_ARGS=(--profile cluster --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2
            --seconds-between-status-checks 2 --jobs "${HEPAD_SLURM_JOBS:-8}" --cores 2)

slurm_runs() {
  .venv/bin/python -m pip install -q -e '.[cluster]' > .venv/pip-cluster.log 2>&1 || { cat .venv/pip-cluster.log; exit 1; }
  timeout -k 10 300 bash "$UP"
  timeout -k 10 120 snakemake --profile cluster --configfile config/ci.yaml --lint  # the profile lints
  # The SLURM run stacks the sideband flows of both windows and seeds in one job (resonant.stack), the
  # local run one job per seed (the default): the comparison also checks that stacking changes no result.
  # It runs n_sig = 600 only (the local run also has 0, for the bump hunt): half the resonant jobs, so
  # that CI stays within its time; its rows are compared with the local run's n_sig = 600 rows.
  printf 'resonant:\n  stack: [window, seed]\n  n_sig: [600]\n' > "$work/slurm.yaml"  # merged over ci.yaml
  timeout -k 30 2400 snakemake "${SLURM_ARGS[@]}" --configfile config/ci.yaml "$work/slurm.yaml" -d "$work/slurm" \
    > "$work/slurm.log" 2>&1 || { tail -50 "$work/slurm.log"; exit 1; }
  echo "SLURM run of config/ci.yaml: $(grep -c "submitted with SLURM jobid" "$work/slurm.log") SLURM jobs, ${SECONDS} s (cluster start included)"

  # A failing job is retried (profile: retries 2) and then reported with its SLURM log path: a window
  # beyond the toy's m_jj reach (what the data decides, so a job finds it) makes split_samples fail on
  # every attempt. (n_sig beyond the toy's signal pool, the earlier case, is now refused at start-up.)
  sed 's/^  windows: .*/  windows: [[9.0, 9.4]]/' config/ci.yaml > "$work/bad.yaml"
  if timeout -k 30 600 snakemake "${SLURM_ARGS[@]}" --configfile "$work/bad.yaml" -d "$work/slurm" > "$work/fail.log" 2>&1; then
    echo "expected the run with the window [9.0, 9.4] TeV to fail"; exit 1
  fi
  grep -E "Error in rule split_samples|slurm_logs/rule_split_samples/" "$work/fail.log"
  tries=$(grep -c "submitted with SLURM jobid .*rule_split_samples/" "$work/fail.log" || true)
  [ "$tries" -eq 3 ] || { echo "split_samples was submitted $tries times; expected 3 (2 retries)"; tail -40 "$work/fail.log"; exit 1; }
  grep -q "error: .*window \[9.0, 9.4\] TeV lies outside the m_jj range" "$work/slurm/logs/ci/split_samples.log"
  echo "failing job: submitted 3 times (2 retries), reported with its log; its error: $(cat "$work/slurm/logs/ci/split_samples.log")"
  echo "SLURM runs done: ${SECONDS} s"
}

compare() {
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
}

case "$mode" in
  run) slurm_runs ;;
  compare) compare ;;
  all) slurm_runs; compare; [ -n "${2:-}" ] || rm -rf "$work" ;;
  *) echo "usage: $0 [run|compare|all] [DIR]" >&2; exit 2 ;;
esac
