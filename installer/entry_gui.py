"""PyInstaller entry point of station-gui.exe (Windows): `station gui` without a console."""

import sys

from station.cli import main

raise SystemExit(main(["gui", *sys.argv[1:]]))
