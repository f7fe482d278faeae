"""The Linux onedir bundle runs on its own (no Python on PATH) and finds its resources."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from station import __version__, paths, secrets, store
from tests.installer.conftest import BUILD_TIMEOUT, ROOT

RUN_TIMEOUT = 300
# Written by station.sim.artifacts.demo.ensure_demo_files at run time; never shipped.
GENERATED = Path("blueprints") / "demo"


def bare_env(home: Path, path: str) -> dict[str, str]:
    """What a desktop session gives a program: no PYTHONPATH, VIRTUAL_ENV or PYTHONHOME."""
    return {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": str(home)}


def run_bundle(bundle: Path, *args: str, cwd: Path, path: str) -> tuple[int, str, str]:
    """Run the bundle's ``station`` as a person would from a terminal in ``cwd``."""
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(bundle / "station"), *args],
        cwd=cwd,
        env=bare_env(home, path),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    return result.returncode, result.stdout, result.stderr


# --- station.paths (fast) ---------------------------------------------------------------


def test_resource_dir_from_source_is_the_repository_folder() -> None:
    assert paths.resource_dir() == ROOT / "resources"
    assert (paths.resource_dir() / "blueprints" / "demo.toml").is_file()


def test_resource_dir_when_frozen_is_beside_the_frozen_packages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.is_frozen()
    assert paths.resource_dir() == tmp_path / "resources"


def test_store_and_secrets_defaults_use_the_station_data_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("XDG variables are how Linux chooses the folders")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert paths.data_dir() == tmp_path / "data" / paths.APP_NAME
    assert paths.config_dir() == tmp_path / "config" / paths.APP_NAME
    assert paths.log_dir() == tmp_path / "state" / paths.APP_NAME / "log"
    assert paths.cache_dir() == tmp_path / "cache" / paths.APP_NAME
    assert store.default_db_path() == paths.data_dir() / store.DB_NAME
    assert secrets.default_data_dir() == paths.data_dir()


# --- the built bundle (slow: builds once per session) -----------------------------------


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT + RUN_TIMEOUT)
def test_bundle_prints_its_version_with_nothing_on_path(linux_bundle: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    code, out, err = run_bundle(linux_bundle, "--version", cwd=tmp_path, path=str(empty))
    assert code == 0, err
    assert out.strip() == f"station {__version__}"


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT + RUN_TIMEOUT)
def test_bundle_runs_the_headless_demo_on_a_virtual_cart(
    linux_bundle: Path, tmp_path: Path
) -> None:
    args = ["demo", "--headless", "--json", "--ipads", "2", "--androids", "2"]
    code, out, err = run_bundle(linux_bundle, *args, cwd=tmp_path, path="/usr/bin:/bin")
    assert code == 0, err[-4000:]
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    summary = lines[-1]
    assert summary["type"] == "summary"
    assert summary["ok"] is True
    assert summary["complete"] is True
    devices = summary["devices"]
    assert sorted(d["platform"] for d in devices) == ["android", "android", "ios", "ios"]
    assert {d["state"] for d in devices} == {"done"}
    # Steps really ran on the emulated tablets through the bundled pymobiledevice3 and adbutils.
    assert all(d["done_steps"] > 0 and d["asset_tag"] for d in devices)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"], "wrote into the cwd"


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT + RUN_TIMEOUT)
def test_bundle_opens_the_window_with_its_own_qt(linux_bundle: Path, tmp_path: Path) -> None:
    """The demo in the window (Qt's offscreen platform): plugins and translations are bundled."""
    shot = tmp_path / "window.png"
    home = tmp_path / "home"
    home.mkdir()
    env = {**bare_env(home, "/usr/bin:/bin"), "QT_QPA_PLATFORM": "offscreen"}
    args = ["demo", "--ipads", "1", "--androids", "1", "--language", "de"]
    args += ["--screenshot", str(shot)]
    result = subprocess.run(
        [str(linux_bundle / "station"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "could not load the Qt platform plugin" not in result.stderr


@pytest.mark.slow
@pytest.mark.timeout(BUILD_TIMEOUT + RUN_TIMEOUT)
def test_bundle_holds_the_resources_and_no_test_tools(linux_bundle: Path) -> None:
    internal = linux_bundle / "_internal"
    source = ROOT / "resources"
    shipped = internal / "resources"
    expected = {
        p.relative_to(source)
        for p in source.rglob("*")
        if p.is_file() and GENERATED not in p.relative_to(source).parents
    }
    found = {p.relative_to(shipped) for p in shipped.rglob("*") if p.is_file()}
    assert found == expected
    for relative in expected:
        assert (shipped / relative).read_bytes() == (source / relative).read_bytes(), relative
    for absent in ("pytest", "_pytest", "hypothesis", "tkinter", "mypy", "tests", "av"):
        assert not (internal / absent).exists(), absent
    # adbutils' own adb: the station's fallback when the system has none (always on Windows).
    adb = internal / "adbutils" / "binaries" / "adb"
    assert adb.is_file()
    assert os.access(adb, os.X_OK)
    assert list(internal.glob("libpython3*.so*")), "the bundle carries its own Python"
    # station.labels.model falls back to reportlab's fonts where DejaVu is not installed.
    assert (internal / "reportlab" / "fonts" / "Vera.ttf").is_file()
    assert (internal / "reportlab" / "fonts" / "VeraBd.ttf").is_file()
