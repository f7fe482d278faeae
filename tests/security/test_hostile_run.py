"""A whole run with a tampered iPad and a tampered Android tablet among good ones.

The tampered tablets fail with device errors (not "internal error", the engine's last-resort
boundary), and the good tablets beside them finish, through the real engine and drivers.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from station.commands import demo_blueprint, person_at_cart
from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import SlotCalibration
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.drivers.usb import PyusbScanner
from station.jobs.engine import EngineSettings
from station.jobs.events import EventBus
from station.jobs.runner import prepare, provision
from station.secrets import SecretStore, generate_supervision_identity
from station.sim.android.adb_server import AdbServer
from station.sim.cart import CartSpec, VirtualCart, default_services
from station.sim.ios import mcinstall
from station.sim.ios.framing import FramingError, read_plist
from station.sim.ios.services import ServiceContext, ServiceHandler
from station.sim.scenario import Scenario, SlotOverride
from station.sim.usb.backend import get_backend
from station.store import DB_NAME, Store
from tests.security.hostile import framed

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

# Shaped like MCInstall's answer, with wrong types inside: past the library, into the driver.
GARBLED_MC = {"Status": "Acknowledged", "CloudConfiguration": {"SkipSetup": 5}}


def _garbling(real: ServiceHandler, udid: list[str]) -> ServiceHandler:
    async def handler(ctx: ServiceContext) -> None:
        if ctx.ipad.udid not in udid:
            await real(ctx)
            return
        with contextlib.suppress(FramingError):
            while await read_plist(ctx.reader) is not None:
                ctx.writer.write(framed(GARBLED_MC, binary=False))
                await ctx.writer.drain()

    return handler


async def test_hostile_tablets_fail_alone(
    tmp_path: Path, quiet_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    station = tmp_path / "station"
    vault = SecretStore(data_dir=station, force_file=True)
    vault.set_identity("supervision-2026", generate_supervision_identity("Kreis Segeberg Schul-IT"))
    vault.set("wlan-schule", "wlan-passwort")
    blueprint = demo_blueprint(tmp_path / "blueprints")
    # A tampered tablet may just keep a step busy: the step timeout is what ends it.
    text = blueprint.read_text(encoding="utf-8")
    blueprint.write_text(text.replace("step = 300", "step = 4"), encoding="utf-8")
    prepared = prepare(blueprint, vault)

    hostile_udid: list[str] = []
    hostile_serial: list[str] = []
    real_shell = AdbServer._shell_raw

    async def shell_raw(self: AdbServer, t: Any, command: str, reader: Any, writer: Any) -> None:
        if t.tablet.serial in hostile_serial:
            writer.write(b"\x1b[2J tampered\nX4EXIT:not-a-number")
            return
        await real_shell(self, t, command, reader, writer)

    monkeypatch.setattr(AdbServer, "_shell_raw", shell_raw)
    services = default_services()
    services[mcinstall.SERVICE_NAME] = _garbling(services[mcinstall.SERVICE_NAME], hostile_udid)
    spec = CartSpec(
        state_dir=tmp_path / "cart",
        ipads=2,
        androids=2,
        hubs=1,
        time_scale=0.002,
        scenario=Scenario(slots={1: SlotOverride(trust="accept"), 2: SlotOverride(trust="accept")}),
    )
    async with VirtualCart(spec, services=services) as cart:
        hostile_ipad, hostile_android = cart.slots[2].ipad, cart.slots[4].android
        assert hostile_ipad is not None
        assert hostile_android is not None
        hostile_udid.append(hostile_ipad.udid)
        hostile_serial.append(hostile_android.serial)
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
            with Store(station / DB_NAME) as store:
                result = await provision(
                    prepared,
                    store=store,
                    ios=ios,
                    android=android,
                    usb=PyusbScanner(get_backend(cart.usb_snapshot_path)),
                    calibration=SlotCalibration({s["port"]: s["slot"] for s in info["slots"]}),
                    expect=4,
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
    by_slot = {job["slot"]: job for job in result.jobs}
    assert sorted(by_slot) == [1, 2, 3, 4], result.jobs
    for slot in (1, 3):
        assert by_slot[slot]["state"] == "done", by_slot[slot]
    for slot in (2, 4):
        job = by_slot[slot]
        assert job["state"] == "failed", result.jobs
        assert "internal error" not in str(job), job
