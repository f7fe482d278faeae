"""The real window under Xvfb on a virtual cart of 30 tablets, run to the end, with screenshots."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from station.jobs.events import JobState
from station.ui.tiles import STATE_COLOURS

REPO = Path(__file__).resolve().parents[2]
SIZE = (1600, 1000)


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A fresh X server (Xvfb picks a free display number and tells us through a pipe)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb); CI installs it")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [
            xvfb,
            "-displayfd",
            str(write_fd),
            "-screen",
            "0",
            f"{SIZE[0]}x{SIZE[1]}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=[write_fd],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        assert ready, "Xvfb did not start"
        number = os.read(read_fd, 64).decode().strip()
        assert number.isdigit(), f"Xvfb said {number!r}"
        yield f":{number}"
    finally:
        os.close(read_fd)
        proc.terminate()
        proc.wait(timeout=30)


def _count(image: Image.Image, colour: str) -> int:
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return sum(n for n, c in image.getcolors(SIZE[0] * SIZE[1]) or [] if c[:3] == rgb)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_window_runs_a_cart_of_30_tablets_to_the_end(xvfb_display: str, tmp_path: Path) -> None:
    mid, final, report = tmp_path / "mid.png", tmp_path / "final.png", tmp_path / "report.json"
    env = {
        **os.environ,
        "DISPLAY": xvfb_display,
        "QT_QPA_PLATFORM": "xcb",
        "QT_FATAL_WARNINGS": "1",  # a Qt warning ends the window, and so fails this test
        "LANG": "C.UTF-8",
    }
    env.pop("WAYLAND_DISPLAY", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.ui.cart_backend",
            "--ipads",
            "15",
            "--androids",
            "15",
            "--time-scale",
            "0.005",
            "--language",
            "en",
            "--screenshot",
            str(mid),
            "--final-screenshot",
            str(final),
            "--report",
            str(report),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (run,) = json.loads(report.read_text(encoding="utf-8"))
    assert run["ok"]
    assert len(run["jobs"]) == 30
    assert sorted(j["slot"] for j in run["jobs"]) == list(range(1, 31))

    done_colour = STATE_COLOURS[JobState.DONE][0]
    running_colour = STATE_COLOURS[JobState.RUNNING][0]
    with Image.open(mid) as image:
        assert image.size == SIZE
        shot = image.convert("RGB")
    # In the middle of the run: some tiles done, some still working.
    assert _count(shot, done_colour) > 0
    assert _count(shot, running_colour) > 0
    with Image.open(final) as image:
        shot = image.convert("RGB")
    assert _count(shot, running_colour) == 0
    assert _count(shot, done_colour) > 30 * 100  # thirty green tiles
