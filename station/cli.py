"""The ``station`` command line: one front end over the engine (the window is another).

This is the wiring point: each area registers its own subcommands here. Only the area of the
command being run is imported (the hub pulls in FastAPI and SQLAlchemy, the engine the device
libraries), so ``station --version`` or ``station labels`` start in a fraction of a second.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from station import __version__


def _engine(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from station import app, commands

    commands.add_commands(sub)  # devices, run, history, demo (the engine's front end)
    app.add_commands(sub)  # gui
    app.add_demo_window_arguments(sub.choices["demo"])  # demo in the window when it can be


def _signing(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from station import signing

    signing.add_parser(sub)  # blueprint keygen|sign|verify


def _labels(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from station.labels import cli

    cli.add_parser(sub)


def _sync(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from station.sync import cli

    cli.add_parser(sub)


def _hub(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from station.hub import cli

    cli.add_parser(sub)


def _sim(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from station.sim import cli

    cli.add_parser(sub)


Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

# Every command: its one-line help (for ``station --help``) and the area that registers it.
COMMANDS: dict[str, tuple[str, Register]] = {
    "devices": ("list the tablets the station sees", _engine),
    "run": ("provision every tablet on the cart with a blueprint", _engine),
    "history": ("past runs and each device's result", _engine),
    "demo": ("start a virtual cart and provision it with the demo blueprint", _engine),
    "gui": ("open the station window", _engine),
    "blueprint": ("sign and verify blueprints (county IT)", _signing),
    "labels": ("asset-tag labels for a run's tablets", _labels),
    "sync": ("send results upstream (county hub, Snipe-IT)", _sync),
    "hub": ("the county hub that collects results from stations", _hub),
    "sim": ("the virtual cart (emulated tablets)", _sim),
}


def _chosen(argv: Sequence[str]) -> str | None:
    """The command named on the command line (the first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser. With ``argv``, only the named command's area is imported and registered in
    full; the others by name and help (enough for ``--help`` and for a typo's message)."""
    parser = argparse.ArgumentParser(
        prog="station",
        description="Enrollment station for school iPads and Android tablets.",
    )
    parser.add_argument("--version", action="version", version=f"station {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if argv is None:
        for register in dict.fromkeys(register for _help, register in COMMANDS.values()):
            register(sub)
    elif (chosen := _chosen(argv)) is not None:
        COMMANDS[chosen][1](sub)
    for name, (help_text, _register) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    result: int = func(args)
    return result
