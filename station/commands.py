"""``station devices|run|history|demo``: the terminal front end over the engine."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from station import paths
from station.drivers.android import AdbAndroidDriver, AndroidSettings
from station.drivers.base import (
    DeviceEvent,
    SlotCalibration,
)
from station.drivers.ios import IosSettings, UsbmuxIosDriver
from station.drivers.usb import PyusbScanner
from station.errors import InputError, StationError
from station.jobs.engine import EngineSettings
from station.jobs.events import EventBus, EventType, JobEvent, JobState, Subscription
from station.jobs.runner import Prepared, RunResult, prepare, provision
from station.secrets import SecretStore, default_data_dir, generate_supervision_identity
from station.signing import station_policy
from station.sim.artifacts.demo import ensure_demo_files
from station.sim.cart import CartSpec, VirtualCart
from station.sim.usb.backend import get_backend
from station.store import DB_NAME, Store

log = logging.getLogger("station.cli")

CALIBRATION_FILE = "calibration.json"
EXIT_REPORT_AFTER = 20.0  # seconds after Ctrl-C before a slow stop prints its threads
REPO_BLUEPRINTS = paths.resource_dir() / "blueprints"


# --- wiring -----------------------------------------------------------------------------


def usb_scanner(snapshot: Path | None) -> PyusbScanner:
    """pyusb over libusb, or over a virtual cart's USB snapshot file (``--usb-snapshot``)."""
    return PyusbScanner(get_backend(snapshot) if snapshot is not None else None)


def host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="station data (records, secrets file, pair records); default: per-user data dir",
    )
    parser.add_argument("--usbmux", default=None, help="usbmuxd address (HOST:PORT or socket path)")
    parser.add_argument("--adb", type=host_port, default=None, help="adb server HOST:PORT")
    parser.add_argument("--activation-url", default=None, help="activation server (tests)")
    parser.add_argument("--usb-snapshot", type=Path, default=None, help="USB snapshot file")
    parser.add_argument("--calibration", type=Path, default=None, help="slot calibration file")
    parser.add_argument(
        "--file-secrets",
        action="store_true",
        help="read secrets from the data dir's file, not the OS keyring (headless stations)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")


def data_dir_of(args: argparse.Namespace) -> Path:
    """The station data folder: ``--data-dir`` or the platform's usual place."""
    return Path(args.data_dir) if args.data_dir is not None else default_data_dir()


def _drivers(args: argparse.Namespace, data_dir: Path) -> tuple[UsbmuxIosDriver, AdbAndroidDriver]:
    ios_settings = IosSettings(pair_records=data_dir / "pair_records", usbmux_address=args.usbmux)
    if args.activation_url:
        ios_settings = IosSettings(
            pair_records=data_dir / "pair_records",
            usbmux_address=args.usbmux,
            activation_server=args.activation_url,
        )
    host, port = args.adb if args.adb else (None, None)
    return UsbmuxIosDriver(ios_settings), AdbAndroidDriver(AndroidSettings(host=host, port=port))


def _calibration(args: argparse.Namespace, data_dir: Path) -> SlotCalibration:
    path = args.calibration or data_dir / CALIBRATION_FILE
    try:
        return SlotCalibration.load(path)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}", hint="calibrate the cart again") from exc


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )


def _fail(message: str) -> int:
    sys.stderr.write(f"station: error: {message}\n")
    return 2


# --- output -----------------------------------------------------------------------------

_COLUMNS = ("slot", "platform", "serial", "state", "step", "asset_tag", "detail / next action")


def _row(job: dict[str, Any]) -> list[str]:
    action = job["hint"] if job["hint"] else job["detail"]
    return [
        str(job["slot"]) if job["slot"] is not None else "-",
        job["platform"],
        job["serial"] or job["job"],
        job["state"],
        job["step"],
        job["asset_tag"],
        action,
    ]


def render_table(jobs: Sequence[dict[str, Any]], *, width: int = 120) -> str:
    rows = [list(_COLUMNS), *(_row(j) for j in jobs)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS) - 1)]
    lines = []
    for row in rows:
        head = "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False))
        line = f"{head}  {row[-1]}"
        lines.append(line[:width])
    return "\n".join(lines)


async def _json_lines(sub: Subscription, out: TextIO) -> None:
    async for event in sub:
        if event.type is EventType.PROGRESS:
            continue
        out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        out.flush()


async def _live_table(sub: Subscription, out: TextIO, jobs: dict[str, dict[str, Any]]) -> None:
    """Redraw a table of jobs in place (a terminal) as events arrive, at most 4 times a second.

    When cancelled it wipes itself: the summary table that follows replaces it.
    """
    drawn = 0
    width = shutil.get_terminal_size((120, 40)).columns
    try:
        while True:
            events = sub.pending()
            for event in events:
                _apply(jobs, event)
            if events:
                table = render_table(sorted(jobs.values(), key=_slot_key), width=width)
                if drawn:
                    out.write(f"\x1b[{drawn}F\x1b[J")
                out.write(table + "\n")
                out.flush()
                drawn = table.count("\n") + 1
            await asyncio.sleep(0.25)
    finally:
        if drawn:
            out.write(f"\x1b[{drawn}F\x1b[J")
            out.flush()


def _slot_key(job: dict[str, Any]) -> tuple[bool, int, str]:
    return (job["slot"] is None, job["slot"] or 0, job["job"])


def _apply(jobs: dict[str, dict[str, Any]], event: JobEvent) -> None:
    if not event.job:
        return
    job = jobs.setdefault(
        event.job,
        {
            "job": event.job,
            "platform": event.platform,
            "serial": event.serial,
            "slot": event.slot,
            "state": JobState.WAITING.value,
            "step": "",
            "asset_tag": "",
            "detail": "",
            "hint": "",
        },
    )
    job["slot"] = event.slot if event.slot is not None else job["slot"]
    job["serial"] = event.serial or job["serial"]
    if event.type is EventType.JOB:
        job.update(state=event.state, step=event.step, detail=event.detail, hint=event.hint)
        job["asset_tag"] = event.data.get("asset_tag", job["asset_tag"])
    elif event.type is EventType.PROGRESS and event.fraction is not None:
        job["detail"] = f"{event.detail} {event.fraction:.0%}"


def _summary(result: RunResult) -> str:
    done = sum(1 for j in result.jobs if j["state"] == "done")
    head = f"run {result.run_id}{' (resumed)' if result.resumed else ''}: "
    head += f"{done} of {len(result.jobs)} devices done"
    if not result.complete:
        head += " (stopped before every device was final)"
    return render_table(result.jobs) + "\n" + head + "\n"


@contextlib.asynccontextmanager
async def _reporting(bus: EventBus, out: TextIO, *, as_json: bool) -> AsyncIterator[None]:
    sub = bus.subscribe()
    task = asyncio.ensure_future(_json_lines(sub, out) if as_json else _live_table(sub, out, {}))
    try:
        yield
    finally:
        if as_json:
            await asyncio.sleep(0)
            sub.close()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        else:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            sub.close()


# --- station run ------------------------------------------------------------------------


def add_commands(sub: Any) -> None:
    """Register ``devices``, ``run``, ``history`` and ``demo`` on the top-level parser."""
    devices = sub.add_parser("devices", help="list the tablets the station sees")
    connection_arguments(devices)
    devices.add_argument("--json", action="store_true", help="one JSON object per line")
    devices.set_defaults(func=cmd_devices)

    run = sub.add_parser("run", help="provision every tablet on the cart with a blueprint")
    connection_arguments(run)
    run.add_argument("--blueprint", type=Path, required=True, help="the blueprint TOML file")
    run.add_argument("--expect", type=int, default=None, help="wait for this many devices")
    run.add_argument("--timeout", type=float, default=None, help="give up after S seconds")
    run.add_argument("--json", action="store_true", help="JSON lines (default when piped)")

    run.add_argument(
        "--transfers-per-hub", type=int, default=2, help="concurrent large transfers per hub"
    )
    run.add_argument(
        "--person-poll", type=float, default=2.0, help="seconds between looks at a person state"
    )
    run.add_argument(
        "--backoff-scale", type=float, default=1.0, help="multiply the blueprint's backoff"
    )
    run.set_defaults(func=cmd_run)

    history = sub.add_parser("history", help="past runs and each device's result")
    history.add_argument("--data-dir", type=Path, default=None)
    history.add_argument("--json", action="store_true")
    history.add_argument("--limit", type=int, default=10, help="how many runs")
    history.set_defaults(func=cmd_history)

    demo = sub.add_parser(
        "demo", help="start a virtual cart and provision it with the demo blueprint"
    )
    demo.add_argument(
        "--headless", action="store_true", help="no window, even when a display is present"
    )
    demo.add_argument("--ipads", type=int, default=None, help="default: 6 (window: 15)")
    demo.add_argument("--androids", type=int, default=None, help="default: 6 (window: 15)")
    demo.add_argument("--time-scale", type=float, default=0.01)
    demo.add_argument("--timeout", type=float, default=300.0)
    demo.add_argument("--json", action="store_true")
    demo.add_argument("-v", "--verbose", action="store_true")
    demo.set_defaults(func=cmd_demo)


def cmd_run(args: argparse.Namespace) -> int:
    _setup_logging(args.verbose)
    data_dir = data_dir_of(args)
    try:
        secrets = SecretStore(data_dir=data_dir, force_file=args.file_secrets)
        prepared = prepare(args.blueprint, secrets, station_policy(data_dir))
        calibration = _calibration(args, data_dir)
    except StationError as exc:
        return _fail(f"{exc}\nno device was touched")
    settings = EngineSettings(
        transfers_per_hub=args.transfers_per_hub,
        person_poll=args.person_poll,
        backoff_scale=args.backoff_scale,
    )
    as_json = args.json or not sys.stdout.isatty()
    try:
        with Store(data_dir / DB_NAME) as store:
            result = asyncio.run(
                _run(args, data_dir, prepared, store, calibration, settings, as_json=as_json)
            )
    except StationError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        sys.stderr.write("station: interrupted; `station run` again resumes the run\n")
        return 130
    if as_json:
        sys.stdout.write(json.dumps({"type": "summary", **_result_json(result)}) + "\n")
    else:
        sys.stdout.write(_summary(result))
    return 0 if result.ok else 1


def _result_json(result: RunResult) -> dict[str, Any]:
    return {
        "run_id": result.run_id,
        "resumed": result.resumed,
        "complete": result.complete,
        "ok": result.ok,
        "devices": result.jobs,
    }


async def _run(
    args: argparse.Namespace,
    data_dir: Path,
    prepared: Prepared,
    store: Store,
    calibration: SlotCalibration,
    settings: EngineSettings,
    *,
    as_json: bool,
) -> RunResult:
    ios, android = _drivers(args, data_dir)
    usb = usb_scanner(args.usb_snapshot)
    bus = EventBus()
    try:
        async with _reporting(bus, sys.stdout, as_json=as_json):
            return await _provision_or_say_where_stuck(
                prepared,
                store=store,
                ios=ios,
                android=android,
                usb=usb,
                calibration=calibration,
                expect=args.expect,
                within=args.timeout,
                settings=settings,
                bus=bus,
            )
    finally:
        await ios.close()
        await android.close()


async def _provision_or_say_where_stuck(prepared: Prepared, **kwargs: Any) -> RunResult:
    """``provision``; once interrupted (Ctrl-C), a stop that takes longer than it should
    writes every thread's stack to stderr, so a station that will not exit says where."""
    try:
        return await provision(prepared, **kwargs)
    except asyncio.CancelledError:
        faulthandler.dump_traceback_later(EXIT_REPORT_AFTER, exit=False)
        raise


# --- station devices --------------------------------------------------------------------


def cmd_devices(args: argparse.Namespace) -> int:
    _setup_logging(args.verbose)
    data_dir = data_dir_of(args)
    try:
        rows = asyncio.run(_devices(args, data_dir))
    except StationError as exc:
        return _fail(str(exc))
    if args.json:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return 0
    if not rows:
        sys.stdout.write("no tablets found\n")
        return 0
    cols = ("slot", "platform", "handle", "serial", "model", "name", "presence", "hint")
    table = [
        list(cols),
        *([str(r.get(c) if r.get(c) is not None else "-") for c in cols] for r in rows),
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    for line in table:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        sys.stdout.write("\n")
    return 0


async def _devices(args: argparse.Namespace, data_dir: Path) -> list[dict[str, Any]]:
    ios, android = _drivers(args, data_dir)
    calibration = _calibration(args, data_dir)
    ports: dict[int, str] = {}
    with contextlib.suppress(StationError):  # no libusb: slots stay unknown for iPads
        scanned = await usb_scanner(args.usb_snapshot).scan()
        ports = {d.location_id: d.port_path for d in scanned}
    rows: list[dict[str, Any]] = []
    try:
        listings: list[tuple[UsbmuxIosDriver | AdbAndroidDriver, list[DeviceEvent]]] = []
        for driver in (ios, android):
            try:
                listings.append((driver, await driver.devices()))
            except StationError as exc:
                log.warning("%s: %s", driver.platform, exc)
        for driver, events in listings:
            for event in events:
                port = event.usb_path or ports.get(event.location_id or -1)
                row: dict[str, Any] = {
                    "platform": event.platform.value,
                    "handle": event.handle,
                    "serial": event.serial,
                    "port": port,
                    "slot": calibration.slot_for(port),
                    "presence": event.presence.value,
                    "hint": event.hint,
                }
                with contextlib.suppress(StationError):
                    info = await driver.info(event.handle)
                    row.update(serial=info.serial or event.serial, model=info.model, name=info.name)
                rows.append(row)
    finally:
        await ios.close()
        await android.close()
    return sorted(rows, key=lambda r: (r["slot"] is None, r["slot"] or 0, r["handle"]))


# --- station history --------------------------------------------------------------------


def cmd_history(args: argparse.Namespace) -> int:
    data_dir = data_dir_of(args)
    try:
        with Store(data_dir / DB_NAME, recover=False) as store:
            runs = store.runs(limit=args.limit)
            out: list[dict[str, Any]] = []
            for run in runs:
                results = [
                    r for r in store.history(run_id=run.id, limit=100_000) if r.step == "result"
                ]
                devices: list[dict[str, str]] = []
                for r in results:
                    device = store.device(r.device_id)
                    tags = store.asset_tags(device.id)
                    devices.append(
                        {
                            "platform": device.platform,
                            "serial": device.serial,
                            "asset_tag": tags[-1] if tags else "",
                            "status": r.status.value,
                            "detail": r.detail,
                        }
                    )
                out.append(
                    {
                        "run": run.id,
                        "blueprint": run.blueprint_name,
                        "started": run.started_at,
                        "status": run.status.value,
                        "devices": devices,
                    }
                )
    except StationError as exc:
        return _fail(str(exc))
    if args.json:
        for entry in out:
            sys.stdout.write(json.dumps(entry, ensure_ascii=False) + "\n")
        return 0
    for entry in out:
        done = sum(1 for d in entry["devices"] if d["status"] == "done")
        sys.stdout.write(
            f"{entry['started']}  {entry['status']:<11} {done}/{len(entry['devices'])} done  "
            f"{entry['blueprint']}  ({entry['run']})\n"
        )
        for d in entry["devices"]:
            sys.stdout.write(
                f"    {d['platform']:<8} {d['serial']:<18} {d['asset_tag']:<14} {d['status']:<8}"
                f" {d['detail']}\n"
            )
    return 0


# --- station demo -----------------------------------------------------------------------


HEADLESS_DEMO_TABLETS = 6  # of each kind: the headless demo prints a table, keep it short
DEMO_IDENTITY = "supervision-2026"
DEMO_WIFI = "wlan-schule"


def cmd_demo(args: argparse.Namespace) -> int:
    """Headless demo: a virtual cart, the demo blueprint, end to end; exit 0 when all done."""
    _setup_logging(args.verbose)
    if not (REPO_BLUEPRINTS / "demo.toml").is_file():
        return _fail(f"the demo blueprint is missing ({REPO_BLUEPRINTS / 'demo.toml'})")
    as_json = args.json or not sys.stdout.isatty()
    with tempfile.TemporaryDirectory(prefix="station-demo-") as tmp:
        try:
            result = asyncio.run(_demo(args, Path(tmp), as_json=as_json))
        except StationError as exc:
            return _fail(str(exc))
    if as_json:
        sys.stdout.write(json.dumps({"type": "summary", **_result_json(result)}) + "\n")
    else:
        sys.stdout.write(_summary(result))
    return 0 if result.ok else 1


def _demo_count(given: int | None) -> int:
    return HEADLESS_DEMO_TABLETS if given is None else given


def demo_secrets(data_dir: Path) -> SecretStore:
    """A file secret store with a fresh supervision identity and the demo Wi-Fi password."""
    secrets = SecretStore(data_dir=data_dir, force_file=True)
    secrets.set_identity(DEMO_IDENTITY, generate_supervision_identity("Kreis Segeberg Schul-IT"))
    secrets.set(DEMO_WIFI, "demo-wlan-passwort")
    return secrets


def demo_blueprint(folder: Path) -> Path:
    """The demo blueprint copied into ``folder`` with its generated apps and profiles."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "demo.toml"
    shutil.copyfile(REPO_BLUEPRINTS / "demo.toml", target)
    ensure_demo_files(folder)
    return target


async def _demo(args: argparse.Namespace, tmp: Path, *, as_json: bool) -> RunResult:
    data_dir = tmp / "station"
    secrets = demo_secrets(data_dir)
    prepared = prepare(demo_blueprint(tmp / "blueprints"), secrets)
    spec = CartSpec(
        ipads=_demo_count(args.ipads),
        androids=_demo_count(args.androids),
        hubs=2,
        time_scale=args.time_scale,
        state_dir=tmp / "cart",
    )
    async with VirtualCart(spec) as cart:
        info = cart.ready_info()
        calibration = SlotCalibration({s["port"]: s["slot"] for s in info["slots"]})
        ios = UsbmuxIosDriver(
            IosSettings(
                pair_records=data_dir / "pair_records",
                usbmux_address=info["usbmux"],
                activation_server=info["activation_url"],
            )
        )
        adb_host, adb_port = host_port(info["adb"])
        android = AdbAndroidDriver(AndroidSettings(host=adb_host, port=adb_port))
        bus = EventBus()
        person = asyncio.ensure_future(person_at_cart(bus.subscribe(), cart))
        try:
            with Store(data_dir / DB_NAME) as store:
                async with _reporting(bus, sys.stdout, as_json=as_json):
                    return await provision(
                        prepared,
                        store=store,
                        ios=ios,
                        android=android,
                        usb=usb_scanner(cart.usb_snapshot_path),
                        calibration=calibration,
                        expect=_demo_count(args.ipads) + _demo_count(args.androids),
                        within=args.timeout,
                        settings=EngineSettings(person_poll=0.2, backoff_scale=0.02),
                        bus=bus,
                    )
        finally:
            person.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await person
            await ios.close()
            await android.close()


async def person_at_cart(sub: Subscription, cart: VirtualCart) -> None:
    """The demo's person: taps Trust / Allow when a tablet asks for it."""
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
