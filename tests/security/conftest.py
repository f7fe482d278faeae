"""Fixtures for the security tests: the demo blueprint folder with its generated files."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.commands import demo_blueprint


@pytest.fixture(scope="session")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo blueprint and its apps/profiles/files, generated once (do not modify)."""
    return demo_blueprint(tmp_path_factory.mktemp("demo-blueprint")).parent


@pytest.fixture
def blueprint_copy(demo_folder: Path, tmp_path: Path) -> Path:
    """A private copy of the demo blueprint folder; returns the path of its demo.toml."""
    target = tmp_path / "bp"
    shutil.copytree(demo_folder, target)
    return target / "demo.toml"


@pytest.fixture(autouse=True)
def collect_garbage() -> Iterator[None]:
    """Leaked sockets are reported by the test that leaked them, not the next one."""
    yield
    gc.collect()


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxies for loopback HTTP, no real adb binary, no stray usbmuxd address."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("ADBUTILS_ADB_PATH", "/bin/false")
    monkeypatch.delenv("USBMUXD_SOCKET_ADDRESS", raising=False)
    monkeypatch.delenv("ANDROID_SERIAL", raising=False)
