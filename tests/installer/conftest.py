"""Builds the Linux bundle and the .deb once per test session, with the real build script."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "installer" / "build_linux.py"
# build/ is git-ignored; build_linux.py --reuse keeps a bundle only while its source digest
# (station/, resources/, installer/, pyproject.toml, installed distributions) is unchanged.
BUNDLE_OUT = ROOT / "build" / "installer-test"
BUILD_TIMEOUT = 1500


def _require_linux_build_tools() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the Linux bundle is built on Linux")
    if importlib.util.find_spec("PyInstaller") is None:
        pytest.fail("PyInstaller is missing: pip install -e '.[dev,installer]'")
    for tool in ("objdump", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: apt-get install binutils dpkg")


@pytest.fixture(scope="session")
def linux_bundle() -> Path:
    """The onedir bundle (``.../dist/station``) built by installer/build_linux.py."""
    _require_linux_build_tools()
    command = [sys.executable, str(BUILD_SCRIPT), "--no-deb", "--reuse", "--out", str(BUNDLE_OUT)]
    BUNDLE_OUT.mkdir(parents=True, exist_ok=True)
    # Two test sessions in this checkout at once take turns; the second reuses the bundle.
    import fcntl  # Linux only, as this fixture

    with (BUNDLE_OUT / "build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(command, check=True, cwd=ROOT, timeout=BUILD_TIMEOUT)
    bundle = BUNDLE_OUT / "dist" / "station"
    assert (bundle / "station").is_file()
    return bundle


@pytest.fixture(scope="session")
def deb_package(linux_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The .deb built around :func:`linux_bundle` by the same script."""
    out = tmp_path_factory.mktemp("deb")
    command = [sys.executable, str(BUILD_SCRIPT), "--bundle", str(linux_bundle), "--out", str(out)]
    subprocess.run(command, check=True, cwd=ROOT, timeout=BUILD_TIMEOUT)
    packages = list(out.glob("enrollment-station_*.deb"))
    assert len(packages) == 1, packages
    return packages[0]
