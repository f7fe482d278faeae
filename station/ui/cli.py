"""``station gui`` and the demo's window mode; the caller builds the backend (drivers, cart).

Importing this module does not load Qt: a headless station (no libEGL, no display) can still
run every other command. Qt is loaded when a window is opened.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from station.ui.backend import StationBackend

LANGUAGES = ("de", "en")

BackendFactory = Callable[[argparse.Namespace], StationBackend]


def display_available(env: dict[str, str] | None = None) -> bool:
    """Whether a window can be shown (or rendered: ``QT_QPA_PLATFORM=offscreen``)."""
    env = dict(os.environ) if env is None else env
    if env.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def add_parser(subparsers: Any, make_backend: BackendFactory) -> argparse.ArgumentParser:
    """Register ``station gui``; ``make_backend(args)`` builds the station (the wiring point)."""
    gui: argparse.ArgumentParser = subparsers.add_parser("gui", help="open the station window")
    add_window_arguments(gui)
    gui.set_defaults(func=lambda args: run_window(make_backend(args), **window_options(args)))
    return gui


def add_window_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the window, shared by ``station gui`` and ``station demo``."""
    parser.add_argument("--language", choices=LANGUAGES, default=None, help="default: system")
    parser.add_argument("--blueprint", type=Path, default=None, help="choose this blueprint")
    parser.add_argument("--start", action="store_true", help="start the run once it is checked")
    parser.add_argument(
        "--screenshot", type=Path, default=None, help="save a PNG of the window mid-run, then quit"
    )


def window_options(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "language": getattr(args, "language", None),
        "blueprint": getattr(args, "blueprint", None),
        "autostart": bool(getattr(args, "start", False)),
        "screenshot": getattr(args, "screenshot", None),
        "quit_when_done": getattr(args, "screenshot", None) is not None,
    }


def run_demo_window(
    args: argparse.Namespace, backend: StationBackend, *, final_screenshot: Path | None = None
) -> int:
    """The demo in the window: check the blueprint and start at once; with ``--screenshot``
    quit at the end of the run (exit 0 when every tablet is done)."""
    options = window_options(args)
    options["final_screenshot"] = final_screenshot
    blueprint = options["blueprint"] or next(iter(backend.blueprints()), None)
    options.update(blueprint=blueprint, autostart=True, first_run=False)
    return run_window(backend, **options)


def run_window(backend: StationBackend, **options: Any) -> int:
    """Open the window on ``backend`` until it is closed (see ``station.ui.app.run_window``)."""
    # Imported here, not at the top: loading Qt needs its system libraries, which a headless
    # station running `station run` does not have to install.
    from station.ui import app

    return app.run_window(backend, **options)
