"""Where a finished run's time went: jobs, seconds and share per rule, from its benchmark files.

    .venv/bin/python bench/rule_profile.py                  # benchmarks/default (make profile)
    .venv/bin/python bench/rule_profile.py benchmarks/ci --wall 1234

Each job writes one benchmark file (`benchmark:` in workflow/rules/*.smk, under benchmarks/{run}/);
its `s` column is the job's wall time, `cpu_time` its CPU seconds. The rule of a file follows from
its path (the patterns below, one per rule). Seconds are job time: on 2 cores two jobs run side by
side, so the sum is up to twice the run's wall time (--wall prints the ratio).
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

# benchmark path under benchmarks/{run}/ -> rule (first match wins)
PATTERNS = [
    (r"^calo/train_flow\d+\.tsv$", "calo_train_flow"),
    (r"^calo/(toy|prepare|score|train_supervised)/", r"calo_\1"),
    (r"^calo/(\w+)\.tsv$", r"calo_\1"),
    (r"^download/", "download_dataset"),
    (r"^toy_null_s\d+\.tsv$", "toy_null"),
    (r"^prepare_dijets_\w+\.tsv$", "prepare_dijets"),
    (r"^train/w\d+/\w+/nall/", "train_simulated"),
    (r"^(\w+)/", r"\1"),  # train, train_kfold, score, metrics, inject_signal, the shared models ...
    (r"^(\w+)\.tsv$", r"\1"),  # toy_dijets, split_samples, bumphunt, aggregate_resonant ...
]


def rule_of(rel: str) -> str:
    for pattern, rule in PATTERNS:
        m = re.match(pattern, rel)
        if m:
            return m.expand(rule)
    raise ValueError(f"benchmark file {rel}: no rule for this path (bench/rule_profile.py PATTERNS)")


def number(text: str | None) -> float:
    """A benchmark column's value; snakemake writes NA (or -) where it measured nothing."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def profile(folder: Path) -> dict[str, dict[str, float]]:
    """rule -> {jobs, seconds, cpu_seconds, max_rss_mb} summed over the rule's benchmark files."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"jobs": 0, "seconds": 0.0, "cpu_seconds": 0.0, "max_rss_mb": 0.0})
    for path in sorted(folder.rglob("*.tsv")):
        with open(path) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        if not rows:
            continue
        row = rows[-1]  # one line a run; a rerun job overwrites its file
        r = out[rule_of(path.relative_to(folder).as_posix())]
        r["jobs"] += 1
        r["seconds"] += float(row["s"])
        r["cpu_seconds"] += number(row.get("cpu_time"))
        r["max_rss_mb"] = max(r["max_rss_mb"], number(row.get("max_rss")))
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("folder", nargs="?", default="benchmarks/default", type=Path)
    ap.add_argument("--wall", type=float, help="the run's wall time in seconds: prints job time / wall")
    ap.add_argument("--csv", type=Path, help="also write the table as CSV")
    a = ap.parse_args(argv)
    if not a.folder.is_dir():
        print(f"error: {a.folder}: no such folder (expected benchmarks/<run> of a finished run)", file=sys.stderr)
        return 2
    prof = profile(a.folder)
    if not prof:
        print(f"error: {a.folder}: no benchmark files (*.tsv) in it", file=sys.stderr)
        return 2
    total = sum(r["seconds"] for r in prof.values())
    rows = sorted(prof.items(), key=lambda kv: -kv[1]["seconds"])
    print(f"{'rule':<24}{'jobs':>6}{'seconds':>10}{'share':>8}{'s/job':>9}{'cpu s':>10}{'max RSS MB':>12}")
    for rule, r in rows:
        print(f"{rule:<24}{r['jobs']:>6}{r['seconds']:>10.0f}{r['seconds'] / total:>8.1%}{r['seconds'] / r['jobs']:>9.1f}"
              f"{r['cpu_seconds']:>10.0f}{r['max_rss_mb']:>12.0f}")
    jobs = sum(r["jobs"] for r in prof.values())
    print(f"{'total':<24}{jobs:>6}{total:>10.0f}{1:>8.0%}")
    wall_file = a.folder / "wall_seconds.log"  # one line per `make workflow`: date, seconds, rc
    if a.wall is None and wall_file.is_file():
        runs = [line.split() for line in wall_file.read_text().splitlines() if line.strip()]
        a.wall = sum(float(r[1]) for r in runs)
        print(f"`make workflow` wall time: {a.wall:.0f} s over {len(runs)} invocation(s) ({wall_file}; remove it "
              f"before a fresh run)")
    if a.wall:
        print(f"job time / wall time: {total / a.wall:.2f} (cores kept busy on average)")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["rule", "jobs", "seconds", "share", "cpu_seconds", "max_rss_mb"])
            for rule, r in rows:
                w.writerow([rule, r["jobs"], f"{r['seconds']:.1f}", f"{r['seconds'] / total:.4f}", f"{r['cpu_seconds']:.1f}",
                            f"{r['max_rss_mb']:.0f}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
