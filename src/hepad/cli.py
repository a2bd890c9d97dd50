"""The one command-line entry point: `hepad <step> ...`. Every workflow rule calls one step; the
steps are added by the studies (hepad.resonant.commands, hepad.calo.commands) and hepad.io.commands.

Bad input ends with a one-line `error: ...` on stderr, exit status 2, and no output written.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

# OpenMP threads that spin while waiting collapse (25x slower, measured) when jobs share the cores;
# set before torch or sklearn load their OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from hepad.calo import commands as calo_commands  # noqa: E402
from hepad.errors import InputError, TrainingDiverged  # noqa: E402
from hepad.io import commands as io_commands  # noqa: E402
from hepad.resonant import commands as resonant_commands  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hepad", description=__doc__)
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch and sklearn")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="step", required=True)

    # each study's steps live beside its code: each commands module has add_commands(subparsers)
    for commands in (resonant_commands, calo_commands, io_commands):
        commands.add_commands(sub)
    return p


def _limit_threads(n: int | None) -> None:
    if n is None:
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(n)
    threadpool_limits(n)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s", stream=sys.stderr)
    _limit_threads(args.threads)
    try:
        args.func(args)
    except (InputError, TrainingDiverged) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
