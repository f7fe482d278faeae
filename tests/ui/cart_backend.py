"""StationBackends with the real engine and drivers: what the wiring point hands the window.

``DriverBackend`` is the station over real drivers (``station gui``); ``VirtualCartBackend``
adds a virtual cart and the demo blueprint (``station demo`` with a display). They live in
tests because station.ui may not import drivers or the virtual cart; the wiring point
(station.commands) can take them as they are.

Run as a script it opens the window on a virtual cart:
    python -m tests.ui.cart_backend --ipads 15 --androids 15 --screenshot out.png
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from station.blueprint import Blueprint
from station.commands import CALIBRATION_FILE, demo_blueprint, demo_secrets
from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import SlotCalibration
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.drivers.usb import PyusbScanner
from station.jobs.engine import EngineSettings
from station.jobs.events import EventBus, EventType, JobEvent, JobState, Subscription
from station.jobs.runner import Prepared, RunResult, prepare, provision
from station.labels.model import LabelData
from station.labels.pdf import render_pdf
from station.labels.sheets import get_sheet
from station.secrets import SecretStore
from station.sim.cart import CartSpec, VirtualCart
from station.sim.usb.backend import get_backend
from station.store import DB_NAME, Store
from station.ui.backend import EngineControl
from station.ui.cli import run_demo_window


class DriverBackend:
    """The station over real drivers, for the window (one instance per window).

    Args:
        data_dir: the station's data (records, calibration, pair records).
        secrets: where blueprint secrets and the hub token live.
        blueprints: offered in the chooser.
        usb: ties an iPad's LocationID to a hub port.
        settings: engine tunables.
        expect: end the run when this many tablets are final (None: the calibrated slots).
        timeout: give up the run after this many seconds (None: run until stopped).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        secrets: SecretStore,
        blueprints: Sequence[Path] = (),
        usb: PyusbScanner | None = None,
        settings: EngineSettings | None = None,
        expect: int | None = None,
        timeout: float | None = None,
        usbmux_address: str | None = None,
        adb: tuple[str, int] | None = None,
        activation_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.secrets = secrets
        self.paths = list(blueprints)
        self.usb = usb
        self.engine_settings = settings or EngineSettings()
        self.expect = expect
        self.timeout = timeout
        self.usbmux_address = usbmux_address
        self.adb = adb
        self.activation_url = activation_url
        self.store = Store(data_dir / DB_NAME)
        self.calibration_path = data_dir / CALIBRATION_FILE
        self.calibration = SlotCalibration()
        if self.calibration_path.exists():
            self.calibration = SlotCalibration.load(self.calibration_path)
        self.ios: UsbmuxIosDriver | None = None
        self.android: AdbAndroidDriver | None = None
        self.prepared: dict[Path, Prepared] = {}
        self.labels_file = data_dir / "labels.pdf"
        self.results: list[RunResult] = []

    @property
    def settings(self) -> Store:
        return self.store

    def blueprints(self) -> Sequence[Path]:
        return self.paths

    def slot_count(self) -> int:
        return len(self.calibration.slots)

    async def open(self) -> None:
        ios = IosSettings(
            pair_records=self.data_dir / "pair_records", usbmux_address=self.usbmux_address
        )
        if self.activation_url:
            ios = IosSettings(
                pair_records=self.data_dir / "pair_records",
                usbmux_address=self.usbmux_address,
                activation_server=self.activation_url,
            )
        self.ios = UsbmuxIosDriver(ios)
        host, port = self.adb if self.adb else (None, None)
        self.android = AdbAndroidDriver(AndroidSettings(host=host, port=port))

    async def close(self) -> None:
        for driver in (self.ios, self.android):
            if driver is not None:
                await driver.close()
        self.store.close()

    async def load_blueprint(self, path: Path) -> Blueprint:
        prepared = await asyncio.to_thread(prepare, path, self.secrets)
        self.prepared[path] = prepared
        return prepared.blueprint

    async def run(
        self, path: Path, bus: EventBus, on_engine: Callable[[EngineControl], None]
    ) -> RunResult:
        prepared = self.prepared.get(path)
        if prepared is None:
            prepared = await asyncio.to_thread(prepare, path, self.secrets)
        result = await provision(
            prepared,
            store=self.store,
            ios=self.ios,
            android=self.android,
            usb=self.usb,
            calibration=self.calibration,
            expect=self.expect or self.slot_count() or None,
            within=self.timeout,
            settings=self.engine_settings,
            bus=bus,
            on_engine=on_engine,
        )
        self.results.append(result)
        return result

    async def watch_devices(self, bus: EventBus) -> None:
        """DEVICE events with their hub port, without a run (the calibration wizard)."""

        async def watch(driver: UsbmuxIosDriver | AdbAndroidDriver) -> None:
            async for event in driver.watch():
                port = event.usb_path
                if port is None and event.location_id is not None and self.usb is not None:
                    found = await self.usb.scan()
                    port = {d.location_id: d.port_path for d in found}.get(event.location_id)
                bus.publish(
                    JobEvent(
                        type=EventType.DEVICE,
                        platform=event.platform.value,
                        serial=event.serial,
                        port=port,
                        state=event.kind.value,
                        detail=event.presence.value,
                    )
                )

        drivers = [d for d in (self.ios, self.android) if d is not None]
        await asyncio.gather(*(watch(d) for d in drivers))

    async def save_calibration(self, slots: Mapping[str, int]) -> None:
        self.calibration = SlotCalibration(dict(slots))
        text = self.calibration.to_json()
        await asyncio.to_thread(self.calibration_path.write_text, text, "utf-8")

    async def set_secret(self, name: str, value: str) -> None:
        await asyncio.to_thread(self.secrets.set, name, value)

    async def print_labels(self, jobs: Sequence[Mapping[str, Any]]) -> str:
        labels = [
            LabelData(
                asset_tag=str(j["asset_tag"]),
                school_name="",
                school_id="",
                serial=str(j["serial"]),
                model="",
                cart="",
                slot=j.get("slot"),
                qr_payload=str(j["asset_tag"]),
            )
            for j in sorted(jobs, key=lambda j: (j.get("slot") is None, j.get("slot") or 0))
            if j.get("asset_tag")
        ]
        pdf = await asyncio.to_thread(render_pdf, labels, get_sheet("L4736"))
        await asyncio.to_thread(self.labels_file.write_bytes, pdf)
        return str(self.labels_file)


class VirtualCartBackend(DriverBackend):
    """The demo's station: a virtual cart, the demo blueprint, real drivers and engine, and a
    person at the cart who taps Trust / Allow when a tablet asks."""

    def __init__(
        self,
        folder: Path,
        *,
        ipads: int = 15,
        androids: int = 15,
        time_scale: float = 0.01,
        timeout: float = 600.0,
        hubs: int = 2,
    ) -> None:
        data_dir = folder / "station"
        self.blueprint_path = demo_blueprint(folder / "blueprints")
        super().__init__(
            data_dir,
            secrets=demo_secrets(data_dir),
            blueprints=[self.blueprint_path],
            settings=EngineSettings(person_poll=0.2, backoff_scale=0.02),
            expect=ipads + androids,
            timeout=timeout,
        )
        self.labels_file = folder / "labels.pdf"
        self.spec = CartSpec(
            ipads=ipads,
            androids=androids,
            hubs=hubs,
            time_scale=time_scale,
            state_dir=folder / "cart",
        )
        self.cart: VirtualCart | None = None

    def slot_count(self) -> int:
        return self.spec.ipads + self.spec.androids

    async def open(self) -> None:
        cart = VirtualCart(self.spec)
        await cart.__aenter__()
        self.cart = cart
        info = cart.ready_info()
        self.calibration = SlotCalibration({s["port"]: s["slot"] for s in info["slots"]})
        self.usb = PyusbScanner(get_backend(cart.usb_snapshot_path))
        self.usbmux_address = info["usbmux"]
        self.activation_url = info["activation_url"]
        host, _, port = info["adb"].rpartition(":")
        self.adb = (host, int(port))
        await super().open()

    async def close(self) -> None:
        try:
            await super().close()
        finally:
            if self.cart is not None:
                await self.cart.__aexit__(None, None, None)
                self.cart = None

    async def run(
        self, path: Path, bus: EventBus, on_engine: Callable[[EngineControl], None]
    ) -> RunResult:
        assert self.cart is not None
        person = asyncio.ensure_future(_person_at_cart(bus.subscribe(), self.cart))
        try:
            return await super().run(path, bus, on_engine)
        finally:
            person.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await person


async def _person_at_cart(sub: Subscription, cart: VirtualCart) -> None:
    """A person at the cart: taps Trust / Allow when a tablet asks for it."""
    try:
        async for event in sub:
            if event.type is not EventType.JOB or event.state != JobState.NEEDS_PERSON.value:
                continue
            if event.slot is None:
                continue
            action = None
            if "Trust" in event.hint:
                action = "accept_trust"
            elif "USB debugging" in event.hint or "Allow" in event.hint:
                action = "allow_usb_debugging"
            if action is not None:
                with contextlib.suppress(ValueError, LookupError):
                    await cart.act(action, event.slot)
    finally:
        sub.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ipads", type=int, default=15)
    parser.add_argument("--androids", type=int, default=15)
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--screenshot", type=Path, default=None)
    parser.add_argument("--final-screenshot", type=Path, default=None)
    parser.add_argument("--language", default=None)
    parser.add_argument("--blueprint", type=Path, default=None)
    parser.add_argument("--start", action="store_true")
    parser.add_argument("--report", type=Path, default=None, help="write the run's result here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="station-window-") as tmp:
        backend = VirtualCartBackend(
            Path(tmp), ipads=args.ipads, androids=args.androids, time_scale=args.time_scale
        )
        code = run_demo_window(args, backend, final_screenshot=args.final_screenshot)
        if args.report is not None:
            report = [{"ok": r.ok, "complete": r.complete, "jobs": r.jobs} for r in backend.results]
            args.report.write_text(json.dumps(report), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
