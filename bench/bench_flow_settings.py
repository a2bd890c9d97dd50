"""Flow training settings side by side on one data set: best validation loss and seconds per variant
(the screen behind config.yaml's `resonant.flow`, README "Measured").

    .venv/bin/python bench/bench_flow_settings.py work/default/resonant/data/n500/s0.h5 --sr 3.3 3.7 \\
        '{}' '{"batch_size": 4096, "lr": 0.006, "epochs": 6}'
    ... --region sr '{}' '{"batch_size": 1024, "lr": 0.002, "epochs": 6}'   # ANODE's SR flow

Each variant (JSON) overrides the base (`--base`, default the previous default 4 x 64, 8 epochs, batch
1024, cosine lr from 1e-3) and trains the seed-0 flow on the sideband (`--region sb`, the sideband
flow's data) or the SR events (`--region sr`) of one mock-data file, on --threads CPU threads.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

from hepad.resonant.background.density import fit_density
from hepad.resonant.background.sideband import sideband
from hepad.resonant.formats.table import read_table

BASE = {"num_blocks": 4, "hidden_features": 64, "epochs": 8, "batch_size": 1024, "lr": 0.001, "lr_schedule": "cosine",
        "keep_best": 3}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", help="a mock-data table (hepad's HDF5), e.g. work/default/resonant/data/n500/s0.h5")
    p.add_argument("variants", nargs="+", help="JSON overrides of the base flow options, one per variant")
    p.add_argument("--sr", nargs=2, type=float, default=[3.3, 3.7])
    p.add_argument("--region", choices=["sb", "sr"], default="sb")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--base", type=json.loads, default=BASE)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    d = read_table(a.data)
    events = sideband(d, *a.sr) if a.region == "sb" else d[d.in_range(*a.sr)]
    print(f"{len(events)} {a.region} events of {a.data}, {a.threads} thread(s)")
    for v in a.variants:
        t0 = time.perf_counter()
        _, r = fit_density(events.x, events.mjj, {**a.base, **json.loads(v)}, 0, "cpu", f"variant {v}")
        print(json.dumps({"variant": v, "seconds": round(time.perf_counter() - t0, 1), "best_val_loss": round(min(r.best_losses), 5),
                          "val_loss": [round(h["val_loss"], 5) for h in r.history]}), flush=True)


if __name__ == "__main__":
    main()
