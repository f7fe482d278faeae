"""``station gui`` options, display detection, and Qt staying unloaded for headless commands."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from station.ui import cli as ui_cli
from tests.ui.fakes import FakeBackend


def test_importing_the_cli_does_not_load_qt() -> None:
    code = "import sys, station.ui.cli; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_display_detection() -> None:
    assert ui_cli.display_available({"QT_QPA_PLATFORM": "offscreen"})
    if sys.platform.startswith("linux"):
        assert ui_cli.display_available({"DISPLAY": ":0"})
        assert ui_cli.display_available({"WAYLAND_DISPLAY": "wayland-0"})
        assert not ui_cli.display_available({})


def test_gui_parser_builds_the_backend_and_passes_window_options(
    tmp_path: Path, monkeypatch: object
) -> None:
    made: list[argparse.Namespace] = []
    opened: list[dict[str, object]] = []

    def make_backend(args: argparse.Namespace) -> FakeBackend:
        made.append(args)
        return FakeBackend(tmp_path)

    def fake_run_window(backend: FakeBackend, **options: object) -> int:
        opened.append(options)
        return 0

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    ui_cli.add_parser(sub, make_backend)
    args = parser.parse_args(
        ["gui", "--language", "de", "--blueprint", "b.toml", "--screenshot", "s.png"]
    )
    monkeypatch.setattr(ui_cli, "run_window", fake_run_window)  # type: ignore[attr-defined]
    assert args.func(args) == 0
    assert len(made) == 1
    assert opened == [
        {
            "language": "de",
            "blueprint": Path("b.toml"),
            "autostart": False,
            "screenshot": Path("s.png"),
            "quit_when_done": True,
        }
    ]


def test_demo_window_starts_the_first_blueprint_at_once(
    tmp_path: Path, monkeypatch: object
) -> None:
    opened: list[dict[str, object]] = []
    monkeypatch.setattr(  # type: ignore[attr-defined]
        ui_cli, "run_window", lambda backend, **options: opened.append(options) or 0
    )
    backend = FakeBackend(tmp_path)
    backend.paths = [tmp_path / "demo.toml"]
    args = argparse.Namespace(screenshot=None, language=None)
    assert ui_cli.run_demo_window(args, backend) == 0
    assert opened[0]["blueprint"] == tmp_path / "demo.toml"
    assert opened[0]["autostart"] is True
    assert opened[0]["first_run"] is False
    assert opened[0]["quit_when_done"] is False
