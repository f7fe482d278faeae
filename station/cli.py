"""The ``station`` command line: one front end over the engine (the window is another)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from station import __version__, commands
from station.sim import cli as sim_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station",
        description="Enrollment station for school iPads and Android tablets.",
    )
    parser.add_argument("--version", action="version", version=f"station {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sim_cli.add_parser(sub)
    commands.add_commands(sub)  # devices, run, history, demo (the engine's front end)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = func(args)
    return result
