"""The ``station`` command line: one front end over the engine (the window is another).

This is the wiring point: each area registers its own subcommands here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from station import __version__, app, commands, signing
from station.hub import cli as hub_cli
from station.labels import cli as labels_cli
from station.sim import cli as sim_cli
from station.sync import cli as sync_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station",
        description="Enrollment station for school iPads and Android tablets.",
    )
    parser.add_argument("--version", action="version", version=f"station {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_commands(sub)  # devices, run, history, demo (the engine's front end)
    app.add_commands(sub)  # gui
    app.add_demo_window_arguments(sub.choices["demo"])  # demo in the window when it can be
    signing.add_parser(sub)  # blueprint keygen|sign|verify
    labels_cli.add_parser(sub)
    sync_cli.add_parser(sub)
    hub_cli.add_parser(sub)
    sim_cli.add_parser(sub)
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
