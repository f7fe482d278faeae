"""Issue 8's fault soak, short form: 12 tablets, seeded faults, one SIGKILL, hub outages.

The real county hub and relay run beside the station; the cart's emulators restart once under
the running station and once while it is down.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.soak.soak import SoakSpec, check, known_bug, run_soak


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
@pytest.mark.timeout(200)  # against hangs only: the soak bounds itself
async def test_short_soak_leaves_every_tablet_right(tmp_path: Path) -> None:
    spec = SoakSpec(ipads=6, androids=6, seed=8, limit=90, drain_limit=30)
    report = await run_soak(tmp_path, spec)
    problems = check(report)
    known = [p for p in problems if known_bug(p)]
    assert [p for p in problems if p not in known] == [], report.faults
    faults = report.faults
    assert any("SIGKILL station" in f for f in faults)
    assert any("restarted while the station is down" in f for f in faults), faults
    assert any("restarted under a running station" in f for f in faults), faults
    assert any("pulled" in f for f in faults), faults
    # Two hub outages, one of them begun with the station killed; the relay met at least one.
    assert sum("hub down" in f for f in faults) == 2, faults
    assert any("hub down by SIGKILL with the station killed" in f for f in faults), faults
    assert sum("hub back" in f for f in faults) == 2, faults
    assert report.outages_met >= 1
    assert report.relay_retried >= 1
    # The live restart caught jobs mid-way; each went on (paused or retried) and finished.
    assert report.live_restart, faults
    assert all(report.live_restart_done.values()), report.live_restart
    # Exactly once at the hub: every result of the station, each once.
    assert len(report.hub_records) == report.result_records == len(report.station_keys)
    if known:
        # Every tablet ended right (asserted above), but a job failed on the way for a
        # station bug the soak found and that is not fixed yet (tests/soak/soak.py KNOWN_BUGS).
        pytest.xfail("; ".join(f"{p} [{known_bug(p)}]" for p in known))
