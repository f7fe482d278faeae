"""The dashboard in a real headless Chromium (Debian package ``chromium``)."""

from __future__ import annotations

import datetime as dt
import html.parser
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.hub.conftest import RunningHub

CHROMIUM = next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium not installed (Debian package: chromium)"
    ),
    # The summary queries run on PostgreSQL in test_hub; one backend is enough for the browser.
    pytest.mark.parametrize("hub_url", ["sqlite"], indirect=True),
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


class Cells(html.parser.HTMLParser):
    """Text of every element with an id or class, by that name (enough for our tables)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.found: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        key = names.get("id") or (names.get("class") or "").split(" ")[-1]
        self.stack.append(key or "")
        if key:
            self.found.setdefault(key, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for key in reversed(self.stack):
            if key:
                self.found[key][-1] += data
                return


def seed(hub: RunningHub) -> None:
    token = hub.db.add_station("cart-1 <north>")
    hub.db.add_station("cart-2 south")
    t0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC).isoformat()

    def item(key: str, serial: str, **extra: Any) -> dict[str, Any]:
        payload = {
            "serial": serial,
            "platform": "ios",
            "step": "enroll",
            "status": "done",
            "recorded_at": t0,
            "operator": "Stadt Nordhafen",
            "school": "Realschule Nord",
            "cart": "cart-1",
            "cart_size": 30,
            "milestone": "provisioned",
        } | extra
        return {"key": key, "op": "device_result", "payload": payload}

    items = [item(f"p{i}", f"SER{i:04d}") for i in range(28)]
    items += [item(f"l{i}", f"SER{i:04d}", step="label", milestone="labelled") for i in range(5)]
    items += [
        item(f"f{i}", f"SER{i + 28:04d}", status="failed", milestone=None, error="Wi-Fi join")
        for i in range(2)
    ]
    items.append(item("x", "SER0001", school="Gymnasium Süd", cart="", milestone=None))
    body = {"station": {"version": "0.1.0", "backlog": 4}, "items": items}
    response = hub.client.post(
        "api/v1/batches", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_dashboard_renders_counts_in_chromium(hub: RunningHub, tmp_path: Path) -> None:
    seed(hub)
    result = chromium(tmp_path, "--dump-dom", hub.url)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "<title>County hub" in dom
    cells = Cells()
    cells.feed(dom)
    found = cells.found
    assert found["total-records"] == ["36"]
    assert found["total-stations"] == ["2"]
    # Realschule Nord: 30 devices, 28 provisioned, 5 labelled; Gymnasium Süd: 1 device.
    assert found["devices"] == ["1", "30"]
    assert found["provisioned"] == ["0", "28"]
    assert found["labelled"] == ["0", "5"]
    assert found["completeness"] == ["28/30"]
    assert found["count"] == ["2"]
    assert found["serial"] == ["SER0001"]
    assert "Wi-Fi join" in dom
    assert "cart-1 &lt;north&gt;" in dom  # escaped station name


def test_dashboard_screenshot_is_a_png(hub: RunningHub, tmp_path: Path) -> None:
    seed(hub)
    shot = tmp_path / "dashboard.png"
    result = chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", hub.url)
    assert result.returncode == 0, result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 1600)
