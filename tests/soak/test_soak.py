"""Issue 8's fault soak, short form: 12 tablets, seeded faults, one SIGKILL, a cart restart."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.soak.soak import SoakSpec, check, run_soak


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No proxies for loopback HTTP, no real adb binary, no stray usbmuxd address."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("ADBUTILS_ADB_PATH", "/bin/false")
    monkeypatch.delenv("USBMUXD_SOCKET_ADDRESS", raising=False)
    yield
    gc.collect()


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_short_soak_leaves_every_tablet_right(tmp_path: Path) -> None:
    report = await run_soak(tmp_path, SoakSpec(ipads=6, androids=6, seed=8, limit=90))
    assert check(report) == [], report.faults
    assert any("SIGKILL" in f for f in report.faults)
    assert any("cart emulators restarted" in f for f in report.faults)
    assert any("pulled" in f for f in report.faults), report.faults
