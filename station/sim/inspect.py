"""Show a running cart as the REAL client tools see it: pymobiledevice3, adbutils, CLIs, pyusb.

Nothing here reads the emulators' memory: every row comes from a real client library talking
to the cart's usbmuxd, lockdownd and adb server over their wire protocols, or from pyusb
through the USB backend. Each row is matched to its cart slot only through what the tools
report (usbmuxd LocationID, adb ``usb:`` devpath, pyusb port numbers), which is exactly how
the station maps tablets to slots on a real cart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import usb.core
from adbutils import AdbClient
from adbutils.errors import AdbError
from pymobiledevice3.exceptions import PyMobileDevice3Exception
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.usbmux import PlistMuxConnection, create_mux

from station.sim.usb.backend import get_backend

log = logging.getLogger("station.sim.inspect")

LOCKDOWN_KEYS = ("DeviceName", "ProductType", "ProductVersion", "SerialNumber", "ActivationState")
ANDROID_PROPS = ("ro.product.manufacturer", "ro.product.model", "ro.build.version.release")

TrustHook = Callable[[str], Awaitable[None]]


@dataclass
class CartView:
    """What each real tool reported; ``errors`` says which tool failed and why."""

    usbmux: list[dict[str, Any]] = field(default_factory=list)
    lockdown: dict[str, dict[str, Any]] = field(default_factory=dict)  # by UDID
    adb: list[dict[str, Any]] = field(default_factory=list)
    adb_cli: str | None = None
    idevice_id: str | None = None
    usb: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def usbmux_devices(usbmux_address: str) -> list[dict[str, Any]]:
    """usbmuxd's ListDevices through pymobiledevice3's own connection (keeps LocationID).

    pymobiledevice3's ``MuxDevice`` drops LocationID, so this sends the same ListDevices
    request on its plist connection and reads the full reply.
    """
    mux = await create_mux(usbmux_address=usbmux_address)
    try:
        if not isinstance(mux, PlistMuxConnection):
            raise PyMobileDevice3Exception("usbmuxd does not speak the plist protocol")
        await mux._send({"MessageType": "ListDevices"})
        reply = await mux._receive(mux._tag - 1)
    finally:
        await mux.close()  # type: ignore[no-untyped-call]  # untyped in pymobiledevice3
    devices = []
    for item in reply.get("DeviceList", []):
        props = item.get("Properties", {})
        devices.append(
            {
                "device_id": props.get("DeviceID"),
                "udid": props.get("SerialNumber"),
                "location_id": props.get("LocationID"),
                "product_id": props.get("ProductID"),
                "connection": props.get("ConnectionType"),
            }
        )
    return devices


async def lockdown_values(
    udid: str,
    usbmux_address: str,
    pair_dir: Path,
    trust: TrustHook | None = None,
    give_up_after: float = 60.0,
) -> dict[str, Any]:
    """Pair (a person taps Trust through ``trust``) and read lockdownd's values."""

    async def connect() -> dict[str, Any]:
        client = await create_using_usbmux(
            serial=udid,
            usbmux_address=usbmux_address,
            pairing_records_cache_folder=pair_dir,
            autopair=True,
        )
        try:
            values = await client.get_value()  # in the paired session: the full set
            return {key: values.get(key) for key in LOCKDOWN_KEYS} | {"paired": client.paired}
        finally:
            await client.close()

    task = asyncio.ensure_future(connect())
    try:
        async with asyncio.timeout(give_up_after):
            while not task.done():
                if trust is not None:
                    await trust(udid)
                await asyncio.wait({task}, timeout=0.05)
            return await task
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, PyMobileDevice3Exception):
                await task


def adb_devices(host: str, port: int) -> list[dict[str, Any]]:
    """adbutils' view: ``list(extended=True)``, plus getprop for each usable device (blocking)."""
    client = AdbClient(host=host, port=port, socket_timeout=30)
    out = []
    for info in client.list(extended=True):
        row: dict[str, Any] = {"serial": info.serial, "state": info.state, **info.tags}
        if info.state == "device" and info.transport_id:
            device = client.device(transport_id=info.transport_id)
            for prop in ANDROID_PROPS:
                row[prop] = device.getprop(prop)
        out.append(row)
    return out


def adb_cli_devices(port: int, adb: str | None = None) -> str | None:
    """``adb devices -l`` from the real adb binary if one is on PATH (else None)."""
    binary = adb or shutil.which("adb")
    if binary is None:
        return None
    env = dict(os.environ, ANDROID_ADB_SERVER_PORT=str(port))
    result = subprocess.run(
        [binary, "-P", str(port), "devices", "-l"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    return (result.stdout + result.stderr).strip()


def idevice_id_list(usbmux_address: str) -> str | None:
    """``idevice_id -l`` (libimobiledevice, via libusbmuxd) if it is on PATH (else None)."""
    binary = shutil.which("idevice_id")
    if binary is None:
        return None
    env = dict(os.environ, USBMUXD_SOCKET_ADDRESS=usbmux_address)
    result = subprocess.run(
        [binary, "-l"], capture_output=True, text=True, timeout=30, env=env, check=False
    )
    return (result.stdout + result.stderr).strip()


def usb_devices(snapshot_path: Path) -> list[dict[str, Any]]:
    """pyusb's scan of the bus through the cart's backend (blocking)."""
    backend = get_backend(snapshot_path)
    rows = []
    for dev in usb.core.find(find_all=True, backend=backend):
        ports = dev.port_numbers or ()
        rows.append(
            {
                "bus": dev.bus,
                "address": dev.address,
                "port": f"{dev.bus}-{'.'.join(str(p) for p in ports)}"
                if ports
                else f"usb{dev.bus}",
                "port_numbers": tuple(ports),
                "vid_pid": f"{dev.idVendor:04x}:{dev.idProduct:04x}",
                "product": dev.product,
                "serial": dev.serial_number if dev.iSerialNumber else "",
                "hub": dev.bDeviceClass == 0x09,
            }
        )
    return rows


async def inspect_cart(
    info: dict[str, Any], pair_dir: Path, *, trust: TrustHook | None = None
) -> CartView:
    """Ask every real tool what it sees of the cart described by ``ready_info``.

    Set ``ready_info()["env"]`` in the environment first: pymobiledevice3 11.45 saves a new
    pair record to usbmuxd without passing ``usbmux_address`` on, so it only reaches the
    cart through ``USBMUXD_SOCKET_ADDRESS`` (as the station's drivers do too).
    """
    view = CartView()
    mux = info["usbmux"]
    adb_host, adb_port = info["adb"].rsplit(":", 1)
    await asyncio.to_thread(pair_dir.mkdir, parents=True, exist_ok=True)
    try:
        view.usbmux = await usbmux_devices(mux)
        results = await asyncio.gather(
            *(lockdown_values(d["udid"], mux, pair_dir, trust) for d in view.usbmux),
            return_exceptions=True,
        )
        for dev, result in zip(view.usbmux, results, strict=True):
            if isinstance(result, BaseException):
                view.errors.append(f"lockdown {dev['udid']}: {type(result).__name__}: {result}")
            else:
                view.lockdown[dev["udid"]] = result
    except (PyMobileDevice3Exception, OSError) as exc:
        view.errors.append(f"usbmuxd: {type(exc).__name__}: {exc}")
    try:
        view.adb = await asyncio.to_thread(adb_devices, adb_host, int(adb_port))
    except (AdbError, OSError) as exc:
        view.errors.append(f"adbutils: {type(exc).__name__}: {exc}")
    try:
        view.adb_cli = await asyncio.to_thread(adb_cli_devices, int(adb_port))
    except (OSError, subprocess.SubprocessError) as exc:
        view.errors.append(f"adb: {type(exc).__name__}: {exc}")
    try:
        view.idevice_id = await asyncio.to_thread(idevice_id_list, mux)
    except (OSError, subprocess.SubprocessError) as exc:
        view.errors.append(f"idevice_id: {type(exc).__name__}: {exc}")
    try:
        view.usb = await asyncio.to_thread(usb_devices, Path(info["usb_snapshot"]))
    except (usb.core.USBError, OSError, ValueError) as exc:
        view.errors.append(f"pyusb: {type(exc).__name__}: {exc}")
    return view


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def render(view: CartView, info: dict[str, Any]) -> str:
    """A readable report: one table per tool, each device matched to its slot."""
    slots = info["slots"]
    by_location = {s.get("location_id"): s["slot"] for s in slots if s.get("location_id")}
    # adbutils splits "usb:1-2.3" into the tag usb="1-2.3".
    by_devpath = {s["devpath"].removeprefix("usb:"): s["slot"] for s in slots if s.get("devpath")}
    by_port = {s["port"]: s["slot"] for s in slots}
    parts = [
        f"Virtual cart: usbmuxd {info['usbmux']}, adb server {info['adb']}, "
        f"{len(slots)} slots on {info['hubs']} hubs",
        "",
        "usbmuxd via pymobiledevice3 (ListDevices + lockdown GetValue after pairing):",
    ]
    rows: list[tuple[object, ...]] = []
    for dev in sorted(view.usbmux, key=lambda d: by_location.get(d["location_id"], 0)):
        values = view.lockdown.get(dev["udid"], {})
        rows.append(
            (
                by_location.get(dev["location_id"], "?"),
                dev["device_id"],
                dev["udid"],
                f"0x{dev['location_id']:08x}" if dev["location_id"] is not None else "",
                values.get("ProductType"),
                values.get("ProductVersion"),
                values.get("SerialNumber"),
                values.get("DeviceName"),
                values.get("ActivationState"),
                "yes" if values.get("paired") else "no",
            )
        )
    headers: tuple[str, ...] = ("slot", "id", "udid", "location", "type", "ios", "serial")
    parts.append(_table((*headers, "name", "activation", "paired"), rows))
    if view.idevice_id is not None:
        parts += ["", "idevice_id -l (libimobiledevice):", view.idevice_id]
    parts += ["", "adb server via adbutils (list(extended=True) + getprop):"]
    rows = []
    for dev in sorted(view.adb, key=lambda d: by_devpath.get(d.get("usb", ""), 0)):
        rows.append(
            (
                by_devpath.get(dev.get("usb", ""), "?"),
                dev["serial"],
                dev["state"],
                dev.get("usb"),
                dev.get("transport_id"),
                dev.get("ro.product.manufacturer"),
                dev.get("ro.product.model"),
                dev.get("ro.build.version.release"),
            )
        )
    headers = ("slot", "serial", "state", "devpath", "transport", "maker", "model", "android")
    parts.append(_table(headers, rows))
    if view.adb_cli is not None:
        parts += ["", "adb devices -l:", view.adb_cli]
    parts += ["", "USB bus via pyusb (our backend over usb.json):"]
    rows = []
    for dev in view.usb:
        rows.append(
            (
                "hub" if dev["hub"] else by_port.get(dev["port"], "?"),
                dev["port"],
                dev["address"],
                dev["vid_pid"],
                dev["product"],
                dev["serial"],
            )
        )
    parts.append(_table(("slot", "port", "addr", "id", "product", "serial"), rows))
    if view.errors:
        parts += ["", "Errors:"] + [f"  {e}" for e in view.errors]
    return "\n".join(parts) + "\n"
