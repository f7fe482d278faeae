"""The window over the real station (drivers, engine, virtual cart), as the wiring point builds it.

The backends live in ``station.app`` (``station.ui`` may not import drivers or the virtual
cart); this module re-exports them for the tests and, run as a script, opens the window on a
virtual cart:
    python -m tests.ui.cart_backend --ipads 15 --androids 15 --screenshot out.png
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from station.app import DriverBackend, VirtualCartBackend
from station.ui.cli import run_demo_window

__all__ = ["DriverBackend", "VirtualCartBackend", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ipads", type=int, default=15)
    parser.add_argument("--androids", type=int, default=15)
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--final-screenshot", type=Path, default=None)
    parser.add_argument("--language", default=None)
    parser.add_argument("--blueprint", type=Path, default=None)
    parser.add_argument("--start", action="store_true")
    parser.add_argument("--report", type=Path, default=None, help="write the run's result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="station-window-") as tmp:
        backend = VirtualCartBackend(
            Path(tmp), ipads=args.ipads, androids=args.androids, time_scale=args.time_scale
        )
        code = run_demo_window(args, backend, final_screenshot=args.final_screenshot)
        if args.report is not None:
            report = [{"ok": r.ok, "complete": r.complete, "jobs": r.jobs} for r in backend.results]
            args.report.write_text(json.dumps(report), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
