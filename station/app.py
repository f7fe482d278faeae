"""The wiring point for the window: builds the station (drivers, engine, store) it sits on.

``station.ui`` may not import drivers or the virtual cart (import-linter), so the backends the
window talks to are assembled here: :class:`DriverBackend` over real hardware for
``station gui``, and :class:`VirtualCartBackend`, the same station on a virtual cart with the
demo blueprint and a person who taps Trust and Allow, for ``station demo`` with a display.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from station import commands
from station import messages as msg
from station.blueprint import Blueprint
from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import SlotCalibration
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.drivers.usb import PyusbScanner
from station.errors import InputError
from station.jobs.engine import EngineSettings
from station.jobs.events import EventBus, EventType, JobEvent
from station.jobs.runner import Prepared, RunResult, prepare, provision
from station.labels.android_qr import payload_for_blueprint
from station.labels.cli import labels_for_run
from station.labels.model import LabelData
from station.labels.printer_setting import PrinterSetting
from station.labels.printers import open_printer
from station.labels.queue import PrintQueue
from station.secrets import SecretStore
from station.signing import station_policy
from station.sim.cart import CartSpec, VirtualCart
from station.store import DB_NAME, Store
from station.sync.status import SyncStatus, sync_status
from station.ui import cli as ui_cli
from station.ui.backend import EngineControl

DEMO_WINDOW_IPADS = 15
DEMO_WINDOW_ANDROIDS = 15


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
        self.calibration_path = data_dir / commands.CALIBRATION_FILE
        self.calibration = SlotCalibration.load(self.calibration_path)
        self.ios: UsbmuxIosDriver | None = None
        self.android: AdbAndroidDriver | None = None
        self.prepared: dict[Path, Prepared] = {}
        self.current: Path | None = None
        self.results: list[RunResult] = []

    @property
    def settings(self) -> Store:
        return self.store

    def blueprints(self) -> Sequence[Path]:
        return self.paths

    def slot_count(self) -> int:
        return len(self.calibration.slots)

    async def open(self) -> None:
        options: dict[str, Any] = {}
        if self.activation_url:
            options["activation_server"] = self.activation_url
        self.ios = UsbmuxIosDriver(
            IosSettings(
                pair_records=self.data_dir / "pair_records",
                usbmux_address=self.usbmux_address,
                **options,
            )
        )
        host, port = self.adb if self.adb else (None, None)
        self.android = AdbAndroidDriver(AndroidSettings(host=host, port=port))

    async def close(self) -> None:
        for driver in (self.ios, self.android):
            if driver is not None:
                await driver.close()
        self.store.close()

    async def load_blueprint(self, path: Path) -> Blueprint:
        policy = station_policy(self.data_dir)
        prepared = await asyncio.to_thread(prepare, path, self.secrets, policy)
        self.prepared[path] = prepared
        self.current = path
        return prepared.blueprint

    async def run(
        self, path: Path, bus: EventBus, on_engine: Callable[[EngineControl], None]
    ) -> RunResult:
        prepared = self.prepared.get(path)
        if prepared is None:
            policy = station_policy(self.data_dir)
            prepared = await asyncio.to_thread(prepare, path, self.secrets, policy)
            self.prepared[path] = prepared
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
        await asyncio.to_thread(self.calibration.save, self.calibration_path)

    async def set_secret(self, name: str, value: str) -> None:
        await asyncio.to_thread(self.secrets.set, name, value)

    async def label_data(self, jobs: Sequence[Mapping[str, Any]]) -> Sequence[LabelData]:
        """The labels of ``jobs`` (the whole cart, or one tablet again) in slot order."""
        return await asyncio.to_thread(self._labels, jobs)

    def label_queue(self, setting: PrinterSetting) -> PrintQueue:
        """The label printer's queue, in the folder ``station labels`` uses too."""
        return PrintQueue(self.data_dir / "print-queue", open_printer(setting))

    async def android_enrollment(self) -> Mapping[str, Any]:
        """The loaded blueprint's provisioning payload, from its [android.provisioning] table."""
        return await asyncio.to_thread(self._android_payload)

    async def sync_status(self) -> SyncStatus:
        return await asyncio.to_thread(sync_status, self.store)

    def _android_payload(self) -> dict[str, Any]:
        prepared = self.prepared.get(self.current) if self.current is not None else None
        if prepared is None:
            raise InputError(msg.NO_BLUEPRINT_LOADED, hint=msg.CHOOSE_BLUEPRINT_HINT)
        plan = prepared.blueprint.android
        if plan is None:
            raise InputError(
                msg.BLUEPRINT_NO_ANDROID.fill(name=prepared.blueprint.name),
                hint=msg.ADD_ANDROID_HINT,
            )
        return payload_for_blueprint(plan, self.secrets)

    def _labels(self, jobs: Sequence[Mapping[str, Any]]) -> list[LabelData]:
        serials = {str(j["serial"]) for j in jobs if j.get("serial")}
        if self.results:
            blueprint = next(iter(self.prepared.values())).blueprint if self.prepared else None
            labels = labels_for_run(
                self.store,
                self.results[-1].run_id,
                school_name=blueprint.school.name if blueprint else "",
                school_id=blueprint.school.id if blueprint else "",
                template="plain",
            )
            labels = [label for label in labels if label.serial in serials]
            if labels:
                return labels
        # No records yet (a window opened on a finished cart): what the tiles show.
        return [
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


class VirtualCartBackend(DriverBackend):
    """The demo's station: a virtual cart, the demo blueprint, real drivers and engine, and a
    person at the cart who taps Trust / Allow when a tablet asks."""

    def __init__(
        self,
        folder: Path,
        *,
        ipads: int = DEMO_WINDOW_IPADS,
        androids: int = DEMO_WINDOW_ANDROIDS,
        time_scale: float = 0.01,
        timeout: float = 600.0,
        hubs: int = 2,
    ) -> None:
        data_dir = folder / "station"
        self.blueprint_path = commands.demo_blueprint(folder / "blueprints")
        super().__init__(
            data_dir,
            secrets=commands.demo_secrets(data_dir),
            blueprints=[self.blueprint_path],
            settings=EngineSettings(person_poll=0.2, backoff_scale=0.02),
            expect=ipads + androids,
            timeout=timeout,
        )
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
        self.usb = commands.usb_scanner(cart.usb_snapshot_path)
        self.usbmux_address = info["usbmux"]
        self.activation_url = info["activation_url"]
        self.adb = commands.host_port(info["adb"])
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
        if self.cart is None:
            raise RuntimeError("the virtual cart is not open")
        person = asyncio.ensure_future(commands.person_at_cart(bus.subscribe(), self.cart))
        try:
            return await super().run(path, bus, on_engine)
        finally:
            person.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await person


def gui_backend(args: argparse.Namespace) -> DriverBackend:
    """``station gui``: the station over real drivers, with its data, secrets and calibration."""
    data_dir = commands.data_dir_of(args)
    snapshot = getattr(args, "usb_snapshot", None)
    blueprints = [args.blueprint] if getattr(args, "blueprint", None) else []
    return DriverBackend(
        data_dir,
        secrets=SecretStore(data_dir=data_dir, force_file=bool(args.file_secrets)),
        blueprints=blueprints,
        usb=commands.usb_scanner(snapshot),
        usbmux_address=args.usbmux,
        adb=args.adb,
        activation_url=args.activation_url,
    )


def add_commands(sub: Any) -> None:
    """``station gui``, and the window mode of ``station demo``."""
    gui = ui_cli.add_parser(sub, gui_backend)
    commands.connection_arguments(gui)


def add_demo_window_arguments(demo: argparse.ArgumentParser) -> None:
    ui_cli.add_window_arguments(demo)
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """``station demo``: the window on a virtual cart of 30 when it can be shown, else headless.

    ``--screenshot FILE`` renders the window offscreen when there is no display.
    """
    if args.screenshot is not None and not ui_cli.display_available():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if args.headless or args.json or not ui_cli.display_available():
        return commands.cmd_demo(args)
    ipads = DEMO_WINDOW_IPADS if args.ipads is None else args.ipads
    androids = DEMO_WINDOW_ANDROIDS if args.androids is None else args.androids
    with tempfile.TemporaryDirectory(prefix="station-demo-window-") as tmp:
        backend = VirtualCartBackend(
            Path(tmp),
            ipads=ipads,
            androids=androids,
            time_scale=args.time_scale,
            timeout=args.timeout,
        )
        return ui_cli.run_demo_window(args, backend)
