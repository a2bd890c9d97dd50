#!/usr/bin/env bash
# The GPU benchmarks, within 8 minutes on one CUDA device, and the paper scan projected in GPU-hours.
#
#   bash bench/gpu.sh [LOG]        # default log: bench/gpu.log (printed as it goes)
#
# 1. bench_stack.py: the paper sideband flow (15 x 128 affine, batch norm, batch 256) stacked K = 1, 10, 50
# 2. bench_stack.py --kind rqs: an RQS flow of the same size (R-ANODE's signal flow kind), K = 1, 50
# 3. bench_stack.py --model mlp: the 3 x 64 MLP classifier, K = 1, 50
# 4. bench_calo.py: the paper's CaloFlow (Flow-II 37.8M parameters): log-likelihood rate and a training step
# 5. gpu_projection.py: each model stack of config/paper.yaml at its job's K, then GPU-hours per rule
# Needs .venv with a CUDA build of torch (`pip install torch` on the GPU machine, then `pip install -e .`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
LOG=${1:-bench/gpu.log}
export OMP_WAIT_POLICY=PASSIVE
if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "error: bench/gpu.sh: torch sees no CUDA device ($PY, torch $("$PY" -c 'import torch; print(torch.__version__)')); expected a GPU machine with a CUDA build of torch" >&2
    exit 2
fi
THREADS=$(nproc)
{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    # each step has its own limit: 7.5 minutes in all at most
    step() { local s=$1; shift; echo; echo "== $*"; timeout "$s" "$PY" "$@" || echo "(exit $?: $1 stopped after $s s)"; }
    step 60 bench/bench_stack.py --device cuda --ks 1,10,50 --steps 20
    step 60 bench/bench_stack.py --device cuda --kind rqs --ks 1,50 --steps 20
    step 60 bench/bench_stack.py --device cuda --model mlp --ks 1,50 --steps 20
    step 90 bench/bench_calo.py --device cuda --threads "$THREADS" --n-score 20000 --train-steps 10
    step 180 bench/gpu_projection.py --device cuda --threads "$THREADS" --steps 20
} 2>&1 | tee "$LOG"
