"""Secrets never leave the secret store: a whole run, sync and exports are searched for them.

A cart of one iPad and one Android tablet is provisioned with the demo blueprint (supervision
identity, a Wi-Fi password filled into a profile), results go to the county hub and Snipe-IT
with their tokens, and everything the station leaves behind is searched byte for byte: the
SQLite files (database, WAL), the DEBUG log, the MDM import files, the hub's database and its
exports, the label PDF and ZPL, and the pair-record folder's modes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import re
import secrets as pysecrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization

from station.commands import demo_blueprint, person_at_cart
from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import SlotCalibration
from station.drivers.ios import IosSettings, UsbmuxIosDriver, _keybag
from station.drivers.usb import PyusbScanner
from station.hub.app import create_app
from station.hub.db import HubDB
from station.jobs.engine import EngineSettings
from station.jobs.events import EventBus
from station.jobs.runner import prepare, provision
from station.labels.cli import labels_for_run
from station.labels.pdf import render_pdf
from station.labels.sheets import load_sheets
from station.labels.zpl import labels_zpl
from station.secrets import SecretStore, generate_supervision_identity
from station.sim.cart import CartSpec, VirtualCart
from station.sim.scenario import Scenario, SlotOverride
from station.sim.usb.backend import get_backend
from station.store import DB_NAME, StepStatus, Store
from station.sync import config
from station.sync.mdm_files import FORMATS, devices_from_store, render
from station.sync.relay import Relay
from station.sync.snipeit import SnipeItSettings
from station.sync.targets import AssetRecord, asset_entry
from tests.sync.snipeit_fake import FakeSnipeIt

pytestmark = pytest.mark.timeout(120)

WIFI_PASSWORD = "Wlan-" + pysecrets.token_hex(12)
SNIPE_TOKEN = "snipe-" + pysecrets.token_urlsafe(24)


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), raw.hex().encode(), secret.encode("utf-16-le")]


def key_needles(key_pem: str) -> list[bytes]:
    """The supervision key as PEM body lines, DER in base64 and hex, and its RSA numbers."""
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    der = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    body = "".join(line for line in key_pem.splitlines() if "-----" not in line)
    lines = [line.encode() for line in key_pem.splitlines() if "-----" not in line and line]
    numbers = key.private_numbers()  # type: ignore[union-attr]
    d_hex = f"{numbers.d:x}".encode()
    return [
        *lines[1:-1],  # whole 64-character lines of the PEM body (the first holds the header)
        body.encode(),
        base64.b64encode(der),
        der.hex().encode(),
        der[40:104],  # a raw stretch of the DER key
        d_hex[:48],
    ]


@contextlib.contextmanager
def debug_log(path: Path) -> Iterator[None]:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(before)
        handler.close()


class Upstreams:
    """The hub and Snipe-IT as ASGI apps behind one httpx transport, chosen by host name."""

    def __init__(self, hub: Any, snipe: Any) -> None:
        self.apps = {"hub.test": hub, "snipe.test": snipe}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        host = dict(scope.get("headers") or []).get(b"host", b"").decode().split(":")[0]
        await self.apps[host](scope, receive, send)


def _search(haystacks: dict[str, bytes], needles: dict[str, list[bytes]]) -> list[str]:
    found = []
    for where, data in haystacks.items():
        for name, forms in needles.items():
            for form in forms:
                if form and form in data:
                    found.append(f"{name} ({form[:16]!r}...) in {where}")
    return found


@pytest.fixture
def identity_pem() -> str:
    return generate_supervision_identity("Kreis Segeberg Schul-IT").to_pem()


async def test_no_secret_in_records_logs_exports_or_labels(tmp_path: Path, quiet_env: None) -> None:
    station = tmp_path / "station"
    vault = SecretStore(data_dir=station, force_file=True)
    identity = generate_supervision_identity("Kreis Segeberg Schul-IT")
    identity_pem = identity.to_pem()
    vault.set("supervision-2026", identity_pem)
    vault.set("wlan-schule", WIFI_PASSWORD)
    hub_db_path = tmp_path / "hub.db"
    hub_db = HubDB(f"sqlite:///{hub_db_path}")
    hub_token = hub_db.add_station("cart-1")
    snipe = FakeSnipeIt(SNIPE_TOKEN)
    transport = httpx.ASGITransport(app=Upstreams(create_app(hub_db), snipe))
    needles = {
        "supervision key": key_needles(identity.key_pem),
        "wifi password": _forms(WIFI_PASSWORD),
        "hub token": _forms(hub_token),
        "snipe-it token": _forms(SNIPE_TOKEN),
    }
    log_file = tmp_path / "station.log"
    prepared = prepare(demo_blueprint(tmp_path / "blueprints"), vault)
    scenario = Scenario(slots={1: SlotOverride(trust="accept")})
    spec = CartSpec(
        state_dir=tmp_path / "cart",
        ipads=1,
        androids=1,
        hubs=1,
        time_scale=0.002,
        scenario=scenario,
    )
    with debug_log(log_file), Store(station / DB_NAME) as store:
        config.save_hub(store, vault, "http://hub.test/", hub_token)
        config.save_snipeit(
            store, vault, SnipeItSettings(url="http://snipe.test", status_id=2), SNIPE_TOKEN
        )
        async with VirtualCart(spec) as cart:
            info = cart.ready_info()
            ios = UsbmuxIosDriver(
                IosSettings(
                    pair_records=station / "pair_records",
                    usbmux_address=info["usbmux"],
                    activation_server=info["activation_url"],
                )
            )
            host, _, port = info["adb"].rpartition(":")
            android = AdbAndroidDriver(AndroidSettings(host=host, port=int(port)))
            bus = EventBus()
            person = asyncio.ensure_future(person_at_cart(bus.subscribe(), cart))
            try:
                result = await provision(
                    prepared,
                    store=store,
                    ios=ios,
                    android=android,
                    usb=PyusbScanner(get_backend(cart.usb_snapshot_path)),
                    calibration=SlotCalibration({s["port"]: s["slot"] for s in info["slots"]}),
                    expect=2,
                    within=60,
                    settings=EngineSettings(
                        person_poll=0.1, backoff_scale=0.01, settle=0.2, usb_poll=0.2
                    ),
                    bus=bus,
                )
            finally:
                person.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await person
                await ios.close()
                await android.close()
        assert result.ok, result.jobs
        # The engine does not queue Snipe-IT rows yet: queue the inventory step's rows here.
        for job in result.jobs:
            device = store.devices_by_serial(job["serial"])[0]
            record = AssetRecord(
                serial=job["serial"], model="iPad (9th generation)", asset_tag=job["asset_tag"]
            )
            store.record_step_result(
                result.run_id, device.id, "inventory", StepStatus.DONE, outbox=[asset_entry(record)]
            )
        relay = Relay(store, config.configured_targets(store, vault, transport=transport))
        try:
            for _ in range(5):
                await relay.drain_once()
        finally:
            await relay.aclose()
        assert hub_db.count_records() == 2, "the results reached the hub"
        # While the database is open its newest pages are in the -wal file: read it now too.
        open_files = {
            f"{p.relative_to(tmp_path)} (open)": p.read_bytes()
            for p in station.rglob("*")
            if p.is_file() and not p.name.startswith(("secrets.json", ".secrets-"))
        }
        assert any(name.endswith("-wal (open)") for name in open_files), sorted(open_files)
        exports = {
            f"mdm {fmt}": render(devices_from_store(store), fmt).text.encode() for fmt in FORMATS
        }
        labels = labels_for_run(
            store,
            result.run_id,
            school_name="Sventana",
            school_id="SEG042",
            base_url="https://inventar.example",
        )
        assert labels, "the run made labels"
        exports["labels.pdf"] = render_pdf(labels, next(iter(load_sheets().values())))
        exports["labels.zpl"] = labels_zpl(labels)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(hub_db)), base_url="http://hub.test"
    ) as client:
        for url in ("/export/summary.json", "/export/records.json", "/export/records.csv", "/"):
            response = await client.get(url)
            assert response.status_code == 200, url
            exports[f"hub {url}"] = response.content
    hub_db.close()

    files = {
        str(p.relative_to(tmp_path)): p.read_bytes()
        for p in [*station.rglob("*"), hub_db_path, log_file]
        if p.is_file() and not p.name.startswith(("secrets.json", ".secrets-"))
    }
    assert any(name.endswith(".db") for name in files)
    assert "station.log" in files
    assert b"DEBUG" in files["station.log"]
    leaks = _search({**open_files, **files, **exports}, needles)
    assert not leaks, "\n".join(leaks)

    # Controls: the search does find the secrets where they belong, and they were used.
    vault_hits = _search({"secrets.json": (station / "secrets.json").read_bytes()}, needles)
    assert {hit.split(" (")[0] for hit in vault_hits} == set(needles)
    tablet = b"".join(p.read_bytes() for p in (tmp_path / "cart").rglob("*") if p.is_file())
    # (the virtual iPad keeps installed profiles hex-encoded in its device.json)
    assert WIFI_PASSWORD.encode().hex().encode() in tablet, "the Wi-Fi password reached the iPad"
    assert snipe.log, "the station talked to Snipe-IT with its token"

    # The secrets file and the pair records are owner-only.
    assert stat.S_IMODE((station / "secrets.json").stat().st_mode) == 0o600
    assert stat.S_IMODE(station.stat().st_mode) == 0o700
    records = station / "pair_records"
    assert stat.S_IMODE(records.stat().st_mode) == 0o700
    plists = list(records.glob("*.plist"))
    assert plists, "the iPad was paired"
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in plists)
    assert re.search(rb"HostPrivateKey", plists[0].read_bytes())


def test_keybag_file_is_owner_only_and_removed(identity_pem: str) -> None:
    with _keybag(identity_pem.encode()) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes() == identity_pem.encode()
    assert not path.exists()
    identity = generate_supervision_identity("X")
    with identity.keybag_file() as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()
