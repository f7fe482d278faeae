"""The command line imports only the area of the command being run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from station import __version__
from station.cli import COMMANDS, build_parser, main

HEAVY = ("fastapi", "sqlalchemy", "pymobiledevice3", "adbutils", "PySide6", "station.jobs.engine")


def imported_after(*argv: str) -> tuple[str, set[str]]:
    """Run ``station ARGV`` in a fresh interpreter; its output and which heavy modules it loaded."""
    code = (
        "import sys\n"
        "from station.cli import main\n"
        "try:\n"
        f"    main({list(argv)!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"import json\n"
        f"print('LOADED', json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = done.stdout.rsplit("LOADED", 1)[1].strip()
    return done.stdout, set(json.loads(loaded))


def test_version_and_help_import_no_area() -> None:
    out, loaded = imported_after("--version")
    assert f"station {__version__}" in out
    assert loaded == set()
    out, loaded = imported_after("--help")
    assert all(name in out for name in COMMANDS)
    assert loaded == set()


def test_a_command_imports_only_its_own_area() -> None:
    out, loaded = imported_after("labels", "--help")
    assert "--format" in out  # the labels area's own parser, in full
    assert not loaded & {"fastapi", "sqlalchemy", "PySide6", "pymobiledevice3"}
    _out, loaded = imported_after("run", "--help")
    assert "station.jobs.engine" in loaded


def test_every_command_registers_itself_under_its_name() -> None:
    parser = build_parser()  # everything, as the docs generator and tests see it
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert set(COMMANDS) <= set(choices)
    for name in COMMANDS:
        sub = build_parser([name])._subparsers._group_actions[0].choices[name]  # type: ignore[union-attr]
        assert sub.format_usage().startswith(f"usage: station {name}")


def test_unknown_command_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["rn"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'rn'" in err
    assert "'run'" in err
