import os

# as in the CLI: OpenMP threads that spin while waiting are 10-25x slower when processes share the cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
