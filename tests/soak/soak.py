"""The fault soak of issue 8, sized by its caller: the short test and ``bench/soak.py``.

A virtual cart (in this process) and ``python -m station run`` (a subprocess, so it can be
SIGKILLed). Faults come from a seeded RNG: cables pulled and plugged back, reboots, an iPad
whose person taps Don't Trust, an Android tablet that shows ``unauthorized`` until a person
taps Allow, SIGKILLs of the station (each followed by a restart that resumes the run) and a
restart of the cart's emulators on their same ports and state directory while the station is
down. The result is read back through pymobiledevice3 and adbutils, not the station's records.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adbutils import AdbClient
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.services.mobile_config import MobileConfigService

from station.commands import demo_blueprint, demo_secrets
from station.drivers.base import SlotCalibration
from station.sim.cart import CartSpec, VirtualCart
from station.sim.scenario import Scenario, SlotOverride
from station.store import DB_NAME, Store

LERNAPP = "de.kreissegeberg.lernapp"
MDM = "de.kreissegeberg.schulit.mdm"
KEEP_ADB = ("finish = { disable_usb_debugging = true }", "")
FLAGS = ("--json", "--person-poll", "0.1", "--backoff-scale", "0.01")


@dataclass
class SoakSpec:
    ipads: int = 6
    androids: int = 6
    hubs: int = 2
    seed: int = 8
    time_scale: float = 0.01
    pulls: int = 2  # cables pulled and plugged back
    reboots: int = 1
    kills: int = 1  # SIGKILLs of the station; the cart restarts during the last one
    limit: float = 80.0  # wall seconds for the whole soak


@dataclass
class SoakReport:
    spec: SoakSpec
    seconds: float = 0.0
    faults: list[str] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    denied_slot: int = 0
    unauthorized_slot: int = 0
    ipads: dict[int, dict[str, Any]] = field(default_factory=dict)
    androids: dict[int, dict[str, Any]] = field(default_factory=dict)
    asset_tags: dict[int, list[str]] = field(default_factory=dict)
    results: Counter[str] = field(default_factory=Counter)
    integrity: str = ""
    station_cpu: float = 0.0
    timed_out: bool = False


def _blueprint(folder: Path) -> Path:
    path = demo_blueprint(folder)
    text = path.read_text(encoding="utf-8")
    assert KEEP_ADB[0] in text
    target = folder / "soak.toml"
    target.write_text(text.replace(*KEEP_ADB), encoding="utf-8")
    return target


def _command(info: dict[str, Any], station: Path, blueprint: Path, expect: int) -> list[str]:
    calibration = station / "calibration.json"
    SlotCalibration({s["port"]: s["slot"] for s in info["slots"]}).save(calibration)
    return [
        sys.executable,
        "-m",
        "station",
        "run",
        "--blueprint",
        str(blueprint),
        "--expect",
        str(expect),
        *FLAGS,
        "--data-dir",
        str(station),
        "--file-secrets",
        "--usbmux",
        info["usbmux"],
        "--adb",
        info["adb"],
        "--activation-url",
        info["activation_url"],
        "--usb-snapshot",
        info["usb_snapshot"],
        "--calibration",
        str(calibration),
    ]


class Station:
    """One ``station run`` process at a time; its JSON events update the shared job table."""

    def __init__(self, jobs: dict[str, dict[str, Any]]) -> None:
        self.jobs = jobs
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()
        self.cpu = 0.0

    async def start(self, command: list[str]) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self._reader = asyncio.ensure_future(self._read(self.proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            event = json.loads(line)
            if event.get("type") == "job" and event.get("job"):
                job = self.jobs.setdefault(event["job"], {})
                job.update(
                    state=event["state"],
                    hint=event.get("hint", ""),
                    slot=event.get("slot"),
                    serial=event.get("serial"),
                )
                self.changed.set()

    async def stop(self, sig: int) -> int:
        assert self.proc is not None
        assert self._reader is not None
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.cpu += _cpu(self.proc.pid)
            self.proc.send_signal(sig)
        try:
            async with asyncio.timeout(60):
                code = await self.proc.wait()
        except TimeoutError:  # it did not stop on SIGINT: that is a finding, not a hang
            self.proc.kill()
            code = await self.proc.wait()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        return code


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_soak(tmp: Path, spec: SoakSpec) -> SoakReport:
    """Run the soak; returns what it found (the caller asserts)."""
    rng = random.Random(spec.seed)
    report = SoakReport(spec)
    n = spec.ipads + spec.androids
    report.denied_slot = rng.randint(1, spec.ipads)
    report.unauthorized_slot = rng.randint(spec.ipads + 1, n)
    slots = {s: SlotOverride(trust="accept") for s in range(1, spec.ipads + 1)}
    slots[report.denied_slot] = SlotOverride(trust="deny")
    slots[report.unauthorized_slot] = SlotOverride(adb_state="unauthorized")
    station = tmp / "station"
    demo_secrets(station)
    blueprint = _blueprint(tmp / "blueprints")
    cart_spec = CartSpec(
        ipads=spec.ipads,
        androids=spec.androids,
        hubs=spec.hubs,
        time_scale=spec.time_scale,
        state_dir=tmp / "cart",
        scenario=Scenario(slots=slots),
        seed=spec.seed,
    )
    started = time.monotonic()
    cart = VirtualCart(cart_spec)
    await cart.start()
    runner = Station(report.jobs)
    holder = [cart]
    try:
        try:
            async with asyncio.timeout(spec.limit):
                await _drive(holder, cart_spec, runner, rng, report, station, blueprint, n)
        except TimeoutError:
            done = _done_in_records(station / DB_NAME)
            report.timed_out = True
            report.faults.append(f"TIMED OUT after {spec.limit:g} s: {done} of {n} done")
            if runner.proc is not None and runner.proc.returncode is None:
                await runner.stop(signal.SIGINT)
        cart = holder[0]
        report.seconds = time.monotonic() - started
        await _read_back(cart, station, report)
    finally:
        if runner.proc is not None and runner.proc.returncode is None:
            await runner.stop(signal.SIGKILL)
        await holder[0].stop()
    report.station_cpu = runner.cpu
    with Store(station / DB_NAME) as store:
        device_ids = {r.device_id for r in store.history(limit=1_000_000)}
        report.asset_tags = {d: store.asset_tags(d) for d in device_ids}
        for row in store.outbox():
            report.results[f"{row.natural_key}:{row.op}:{_milestone(row.payload)}"] += 1
    with contextlib.closing(sqlite3.connect(station / DB_NAME)) as db:
        report.integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    return report


def _milestone(payload: dict[str, Any]) -> str:
    return str(payload.get("milestone") or payload.get("status") or "")


def _settled(report: SoakReport, n: int, db: Path) -> bool:
    """Every tablet done, except the denied iPad, which waits for a person.

    "Done" is read from the station's records: a tablet finished just before a SIGKILL is
    restored as done by the next process without a job event on its stream.
    """
    denied = [j for j in report.jobs.values() if j.get("slot") == report.denied_slot]
    if not denied or denied[-1]["state"] != "needs_person":
        return False
    return _done_in_records(db) >= n - 1


def _done_in_records(db: Path) -> int:
    if not db.exists():
        return 0
    with Store(db, recover=False) as store:
        results = [r for r in store.history(limit=1_000_000) if r.step == "result"]
    return len({r.device_id for r in results if r.status.value == "done"})


def _done_count(report: SoakReport) -> int:
    return sum(1 for j in report.jobs.values() if j.get("state") == "done")


async def _drive(
    holder: list[VirtualCart],
    cart_spec: CartSpec,
    runner: Station,
    rng: random.Random,
    report: SoakReport,
    station: Path,
    blueprint: Path,
    n: int,
) -> None:
    """Start the station, inject the faults as the run goes, return once the cart settled.

    ``holder[0]`` is the running cart (replaced when the cart restarts).
    """
    cart = holder[0]
    await runner.start(_command(cart.ready_info(), station, blueprint, n))
    # The done counts at which the station is killed, spread over the run.
    kill_at = sorted(rng.sample(range(1, max(2, n - 2)), spec_kills(report, n)))
    faults: list[tuple[str, int]] = [("pull", rng.randint(1, n)) for _ in range(report.spec.pulls)]
    faults += [("reboot", rng.randint(1, n)) for _ in range(report.spec.reboots)]
    rng.shuffle(faults)
    allowed = False
    db = station / DB_NAME
    while not _settled(report, n, db):
        runner.changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(rng.uniform(0.1, 0.6)):
                await runner.changed.wait()
        unauthorized = next(
            (j for j in report.jobs.values() if j.get("slot") == report.unauthorized_slot), None
        )
        if not allowed and unauthorized is not None and unauthorized["state"] == "needs_person":
            # The person notices the prompt after a while and taps Allow.
            await cart.act("allow_usb_debugging", report.unauthorized_slot)
            report.faults.append(f"person allows USB debugging on slot {report.unauthorized_slot}")
            allowed = True
        if kill_at and _done_count(report) >= kill_at[0]:
            kill_at.pop(0)
            code = await runner.stop(signal.SIGKILL)
            report.faults.append(f"SIGKILL station at {_done_count(report)} done (exit {code})")
            if not kill_at:
                cart = holder[0] = await _restart_cart(cart, cart_spec)
                report.faults.append("cart emulators restarted (same ports and state dir)")
            await runner.start(_command(cart.ready_info(), station, blueprint, n))
            continue
        if faults and rng.random() < 0.5:
            kind, slot = faults.pop()
            report.faults.append(await _fault(cart, kind, slot, rng))
    for kind, slot in faults:  # the run outpaced the dice: the rest happen at the end
        report.faults.append(await _fault(cart, kind, slot, rng) + " (after settling)")
    if faults:
        await _wait_settled(runner, report, n, db)
    code = await runner.stop(signal.SIGINT)
    report.faults.append(f"station stopped by SIGINT (exit {code})")


def spec_kills(report: SoakReport, n: int) -> int:
    return min(report.spec.kills, max(1, n - 3))


async def _wait_settled(runner: Station, report: SoakReport, n: int, db: Path) -> None:
    await asyncio.sleep(0.5)
    while not _settled(report, n, db):
        runner.changed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.5):
                await runner.changed.wait()


async def _fault(cart: VirtualCart, kind: str, slot: int, rng: random.Random) -> str:
    s = cart.slot(slot)
    if not s.plugged or s.attachment is None:
        return f"{kind} on slot {slot} skipped (not on the bus)"
    if kind == "pull":
        await cart.unplug(slot)
        await asyncio.sleep(rng.uniform(0.05, 0.5))
        await cart.plug(slot)
        return f"cable of slot {slot} pulled and plugged back"
    try:
        await cart.start_reboot(slot)
    except ValueError as exc:
        return f"reboot of slot {slot} skipped ({exc})"
    return f"slot {slot} rebooted"


async def _restart_cart(cart: VirtualCart, spec: CartSpec) -> VirtualCart:
    info = cart.ready_info()
    mux_host, _, mux_port = info["usbmux"].rpartition(":")
    adb_port = int(info["adb"].rpartition(":")[2])
    await cart.stop()
    again = CartSpec(
        ipads=spec.ipads,
        androids=spec.androids,
        hubs=spec.hubs,
        time_scale=spec.time_scale,
        state_dir=spec.state_dir,
        usbmux=(mux_host, int(mux_port)),
        adb_port=adb_port,
        seed=spec.seed,
    )
    restarted = VirtualCart(again)
    await restarted.start()
    return restarted


async def _read_back(cart: VirtualCart, station: Path, report: SoakReport) -> None:
    """What pymobiledevice3 and adbutils find on every tablet."""
    info = cart.ready_info()
    for slot in info["slots"]:
        if slot["kind"] == "ipad":
            report.ipads[slot["slot"]] = await _read_ipad(info, station, slot["udid"])
        else:
            report.androids[slot["slot"]] = await asyncio.to_thread(
                _read_android, info, slot["serial"]
            )


async def _read_ipad(info: dict[str, Any], station: Path, udid: str) -> dict[str, Any]:
    client = await create_using_usbmux(
        serial=udid,
        autopair=False,
        pairing_records_cache_folder=station / "pair_records",
        usbmux_address=info["usbmux"],
    )
    try:
        if not client.paired:
            return {"paired": False}
        async with InstallationProxyService(lockdown=client) as proxy:
            apps = await proxy.get_apps(application_type="User")
        async with MobileConfigService(lockdown=client) as mc:
            cloud = await mc.get_cloud_configuration()
        return {
            "paired": True,
            "name": await client.get_value(key="DeviceName"),
            "apps": set(apps),
            "supervised": bool(cloud and cloud.get("IsSupervised")),
        }
    finally:
        await client.close()


def _read_android(info: dict[str, Any], serial: str) -> dict[str, Any]:
    host, _, port = info["adb"].rpartition(":")
    device = AdbClient(host=host, port=int(port)).device(serial=serial)
    return {
        "state": device.get_state(),
        "apps": {p for p in (MDM, LERNAPP) if device.app_info(p) is not None},
        "owners": device.shell(["dumpsys", "device_policy"]),
        "name": device.shell(["settings", "get", "global", "device_name"]).strip(),
    }


def check(report: SoakReport) -> list[str]:
    """Every problem the soak found (empty: all correct)."""
    problems: list[str] = []
    if report.timed_out:
        problems.append("the cart did not settle in time")
    for slot, ipad in report.ipads.items():
        if slot == report.denied_slot:
            if ipad.get("paired"):
                problems.append(f"slot {slot}: denied trust, yet paired")
            continue
        if not (ipad.get("supervised") and LERNAPP in ipad.get("apps", set())):
            problems.append(f"slot {slot}: iPad not provisioned: {ipad}")
        elif not str(ipad.get("name", "")).startswith("Tablet SEG042-"):
            problems.append(f"slot {slot}: iPad not renamed: {ipad.get('name')}")
    for slot, tablet in report.androids.items():
        if tablet["apps"] != {MDM, LERNAPP} or MDM not in tablet["owners"]:
            problems.append(f"slot {slot}: Android not provisioned: {tablet}")
    by_slot = {j.get("slot"): j for j in report.jobs.values()}
    denied = by_slot.get(report.denied_slot)
    if denied is None or denied["state"] != "needs_person" or not denied["hint"]:
        problems.append(f"denied iPad (slot {report.denied_slot}): no person state: {denied}")
    tags = [t for ts in report.asset_tags.values() for t in ts]
    dupes = [t for t, c in Counter(tags).items() if c > 1]
    if dupes:
        problems.append(f"asset tags duplicated: {dupes}")
    if any(len(ts) > 1 for ts in report.asset_tags.values()):
        problems.append(f"a device holds several tags: {report.asset_tags}")
    doubled = {k: c for k, c in report.results.items() if c > 1}
    if doubled:
        problems.append(f"upstream records duplicated: {doubled}")
    provisioned = [k for k in report.results if k.endswith(":provisioned")]
    expected = len(report.ipads) + len(report.androids) - 1
    if len(provisioned) != expected:
        problems.append(f"{len(provisioned)} provisioned records, expected {expected}")
    if report.integrity != "ok":
        problems.append(f"integrity_check: {report.integrity}")
    return problems
