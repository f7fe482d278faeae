"""PyInstaller entry point: the ``station`` command (the same as ``python -m station``)."""

from station.cli import main

raise SystemExit(main())
