"""The fault soak of issue 8, sized by its caller: the short test and ``bench/soak.py``.

A virtual cart (in this process), ``python -m station run`` (a subprocess, so it can be
SIGKILLed), the county hub (``station hub serve`` on SQLite) and the relay (``station sync
watch``), set up through the real commands (``station hub add-station``, ``station sync
set-hub``). Faults come from a seeded RNG: cables pulled and plugged back, reboots, an iPad
whose person taps Don't Trust, an Android tablet that shows ``unauthorized`` until a person
taps Allow, SIGKILLs of the station (each followed by a restart that resumes the run; the last
one also kills the relay, as a power cut would, and restarts the cart's emulators while the
station is down), restarts of the cart's emulators while the station runs, and hub outages (the
first begins with the first SIGKILL, so the hub comes back while the station restarts).

The result is read back through pymobiledevice3 and adbutils, not the station's records, and
the hub's records are compared with the station's results once the relay drained the outbox.
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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adbutils import AdbClient
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services.installation_proxy import InstallationProxyService
from pymobiledevice3.services.mobile_config import MobileConfigService

from station.commands import demo_blueprint, demo_secrets
from station.drivers.base import SlotCalibration
from station.hub.db import HubDB
from station.sim.cart import CartSpec, VirtualCart
from station.sim.ios.activation import ActivationServer
from station.sim.scenario import Scenario, SlotOverride
from station.store import DB_NAME, OutboxState, Store
from station.sync.targets import OP_DEVICE_RESULT, TARGET_HUB

REPO = Path(__file__).resolve().parents[2]
LERNAPP = "de.kreissegeberg.lernapp"
MDM = "de.kreissegeberg.schulit.mdm"
KEEP_ADB = ("finish = { disable_usb_debugging = true }", "")
FLAGS = ("--json", "--person-poll", "0.1", "--backoff-scale", "0.01")
# The relay looks often and backs off briefly, so a hub that is back is noticed within a second.
RELAY_FLAGS = ("--poll", "0.1", "--backoff-base", "0.05", "--backoff-cap", "0.5")
STATION_NAME = "soak-cart"
IN_FLIGHT = ("waiting", "running", "paused", "needs_person")


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
    hub_outages: int = 2  # the first begins with the first SIGKILL
    live_restarts: int = 1  # cart emulator restarts while ``station run`` runs
    limit: float = 80.0  # wall seconds until the cart must have settled
    drain_limit: float = 60.0  # wall seconds for the relay to empty the outbox afterwards
    outage_limit: float = 15.0  # wall seconds a hub stays down waiting for the relay to notice


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
    unexpected_exits: list[str] = field(default_factory=list)
    # Jobs that were in flight when the cart restarted under a running station: their states
    # afterwards, and whether the station's records have them done at the end.
    live_restart: dict[str, list[str]] = field(default_factory=dict)
    live_restart_done: dict[str, bool] = field(default_factory=dict)
    # Upstream: the station's results for the hub (outbox key -> serial), what the hub holds.
    result_records: int = 0  # device results in the station's history
    station_keys: dict[str, str] = field(default_factory=dict)
    outbox_states: Counter[str] = field(default_factory=Counter)
    relay_retried: int = 0  # hub rows that met a failure before they were delivered
    hub_records: list[dict[str, Any]] = field(default_factory=list)
    hub_replayed: int = 0  # deliveries the hub answered from its idempotency keys
    hub_integrity: str = ""
    drain_seconds: float = 0.0
    drain_timed_out: bool = False
    outages_met: int = 0  # hub outages during which the relay found the port closed
    token_leaks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # findings that leave every tablet right
    failures: list[str] = field(default_factory=list)  # jobs that failed, even if resumed later


def _blueprint(folder: Path) -> Path:
    path = demo_blueprint(folder)
    text = path.read_text(encoding="utf-8")
    assert KEEP_ADB[0] in text
    target = folder / "soak.toml"
    target.write_text(text.replace(*KEEP_ADB), encoding="utf-8")
    return target


def _env() -> dict[str, str]:
    """Children import this tree, keep secrets in the data dir's file, never buffer output."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


def _command(info: dict[str, Any], station: Path, blueprint: Path, expect: int) -> list[str]:
    """The arguments of ``station run`` against the cart ``info`` describes."""
    calibration = station / "calibration.json"
    SlotCalibration({s["port"]: s["slot"] for s in info["slots"]}).save(calibration)
    return [
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


async def _spawn(
    args: list[str], log: Path, *, stdout: int | None = None
) -> asyncio.subprocess.Process:
    """``python -m station ARGS`` with its stderr (and stdout unless piped) in ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as err:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "station",
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout if stdout is not None else err,
            stderr=err,
            env=_env(),
            cwd=REPO,
        )


async def _stop(proc: asyncio.subprocess.Process, sig: int) -> int:
    """Signal ``proc`` and reap it; one that ignores the signal for a minute is killed."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    try:
        async with asyncio.timeout(60):
            return await proc.wait()
    except TimeoutError:
        proc.kill()
        return await proc.wait()


async def _cli(args: list[str], log: Path, stdin: bytes = b"") -> str:
    """Run one ``station`` command to its end; its stdout, or an error with its log."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "station",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
        cwd=REPO,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate(stdin)
    with log.open("ab") as f:
        f.write(err)
    if proc.returncode != 0:
        raise RuntimeError(f"station {' '.join(args[:2])} failed: {err.decode(errors='replace')}")
    return out.decode()


class Upstream:
    """The county hub and the station's relay, as the processes a county would run."""

    def __init__(self, tmp: Path, station: Path) -> None:
        (tmp / "hub").mkdir(parents=True, exist_ok=True)
        self.hub_file = tmp / "hub" / "hub.db"
        self.db_url = f"sqlite:///{self.hub_file}"
        self.station = station
        self.logs = tmp / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.hub: asyncio.subprocess.Process | None = None
        self.relay: asyncio.subprocess.Process | None = None
        self.port = 0
        self.token = ""

    async def setup(self) -> None:
        """Register the station at the hub, start the hub, point the station at it."""
        log = self.logs / "setup.log"
        out = await _cli(["hub", "add-station", "--db", self.db_url, STATION_NAME], log)
        self.token = out.strip()
        await self.start_hub()
        url = f"http://127.0.0.1:{self.port}/"
        args = ["sync", "set-hub", url, "--data-dir", str(self.station), "--token-stdin"]
        await _cli(args, log, stdin=self.token.encode() + b"\n")
        await self.start_relay()

    async def start_hub(self) -> None:
        """Start the hub, on the port it had before (the URL the station has) if any."""
        args = ["hub", "serve", "--db", self.db_url, "--port", str(self.port)]
        proc = await _spawn(args, self.logs / "hub.log", stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        async with asyncio.timeout(60):
            line = await proc.stdout.readline()
        if not line:
            await proc.wait()
            raise RuntimeError(f"the hub exited before it was ready (exit {proc.returncode})")
        port = int(json.loads(line)["port"])
        assert self.port in (0, port), (self.port, port)
        self.port = port
        self.hub = proc

    async def stop_hub(self, sig: int) -> int:
        assert self.hub is not None
        proc, self.hub = self.hub, None
        code = await _stop(proc, sig)
        assert proc.stdout is not None
        await proc.stdout.read()
        return code

    async def start_relay(self) -> None:
        args = ["sync", "watch", "--data-dir", str(self.station), *RELAY_FLAGS]
        self.relay = await _spawn(args, self.logs / "relay.log")

    async def stop_relay(self, sig: int) -> int:
        assert self.relay is not None
        proc, self.relay = self.relay, None
        return await _stop(proc, sig)

    async def close(self) -> None:
        if self.relay is not None:
            await self.stop_relay(signal.SIGKILL)
        if self.hub is not None:
            await self.stop_hub(signal.SIGKILL)


class Station:
    """One ``station run`` process at a time; its JSON events update the shared job table."""

    def __init__(self, jobs: dict[str, dict[str, Any]], log: Path) -> None:
        self.jobs = jobs
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()
        self.cpu = 0.0
        self.failures: list[str] = []  # every job that failed, with why

    async def start(self, command: list[str]) -> None:
        self.proc = await _spawn(command, self.log, stdout=asyncio.subprocess.PIPE)
        self._reader = asyncio.ensure_future(self._read(self.proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        with self.log.with_suffix(".jsonl").open("ab") as events:
            while line := await proc.stdout.readline():
                events.write(line)
                self._event(json.loads(line))

    def _event(self, event: dict[str, Any]) -> None:
        if event.get("type") == "job" and event.get("job"):
            job = self.jobs.setdefault(event["job"], {"states": []})
            job.update(
                state=event["state"],
                hint=event.get("hint", ""),
                slot=event.get("slot"),
                serial=event.get("serial"),
            )
            job["states"].append(event["state"])
            if event["state"] == "failed":
                where = f"{event['job']} (slot {event.get('slot')})"
                self.failures.append(f"{where}: {event.get('detail')}")
            self.changed.set()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def stop(self, sig: int) -> int:
        assert self.proc is not None
        assert self._reader is not None
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, FileNotFoundError):
                self.cpu += _cpu(self.proc.pid)
        code = await _stop(self.proc, sig)
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
    runner = Station(report.jobs, tmp / "logs" / "station.log")
    upstream = Upstream(tmp, station)
    holder = [cart]
    try:
        await upstream.setup()
        drive = _Drive(holder, cart_spec, runner, upstream, rng, report, station, blueprint)
        try:
            async with asyncio.timeout(spec.limit):
                await drive.run()
        except TimeoutError:
            done = _done_in_records(station / DB_NAME)
            report.timed_out = True
            report.faults.append(f"TIMED OUT after {spec.limit:g} s: {done} of {n} done")
            if runner.running:
                await runner.stop(signal.SIGINT)
        await drive.end_outages()
        report.live_restart = drive.live_states()
        report.seconds = time.monotonic() - started
        await _drain(upstream, station / DB_NAME, report)
        await _read_back(holder[0], station, report)
    finally:
        if runner.running:
            await runner.stop(signal.SIGKILL)
        await upstream.close()
        await holder[0].stop()
    report.station_cpu = runner.cpu
    report.failures = runner.failures
    _read_records(station / DB_NAME, report)
    _read_hub(upstream, report)
    for log in sorted((tmp / "logs").glob("*.log")):
        if upstream.token and upstream.token in log.read_text(errors="replace"):
            report.token_leaks.append(log.name)
    return report


def _read_records(db: Path, report: SoakReport) -> None:
    """The station's side: tags, results, the outbox, integrity."""
    with Store(db) as store:
        history = store.history(limit=1_000_000)
        device_ids = {r.device_id for r in history}
        report.asset_tags = {d: store.asset_tags(d) for d in device_ids}
        results = [r for r in history if r.step == "result"]
        report.result_records = len(results)
        done = {store.device(r.device_id).serial for r in results if r.status.value == "done"}
        for row in store.outbox():
            report.results[f"{row.natural_key}:{row.op}:{_milestone(row.payload)}"] += 1
            report.outbox_states[f"{row.target}:{row.state.value}"] += 1
            if row.target == TARGET_HUB and row.op == OP_DEVICE_RESULT:
                report.station_keys[row.idempotency_key] = row.natural_key
                report.relay_retried += bool(row.last_error)
    report.live_restart_done = {
        key: report.jobs[key].get("serial") in done for key in report.live_restart
    }
    with contextlib.closing(sqlite3.connect(db)) as conn:
        report.integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]


def _read_hub(upstream: Upstream, report: SoakReport) -> None:
    """The hub's side, read from its database once it stopped."""
    hub = HubDB(upstream.db_url)
    try:
        report.hub_records = hub.records()
    finally:
        hub.close()
    with contextlib.closing(sqlite3.connect(upstream.hub_file)) as conn:
        report.hub_integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    for line in (upstream.logs / "hub.log").read_text(errors="replace").splitlines():
        # "station 'soak-cart': 3 items, 2 new, 1 replayed, 0 rejected"
        words = line.split()
        if "replayed," in words:
            report.hub_replayed += int(words[words.index("replayed,") - 1])


def _hub_pending(db: Path) -> int:
    with Store(db, recover=False) as store:
        rows = store.outbox(state=OutboxState.PENDING)
    return sum(1 for r in rows if r.target == TARGET_HUB)


async def _drain(upstream: Upstream, db: Path, report: SoakReport) -> None:
    """Wait (bounded) until the relay delivered every result, then stop relay and hub."""
    started = time.monotonic()
    drained = await _until(lambda: not _hub_pending(db), report.spec.drain_limit)
    report.drain_timed_out = not drained
    report.drain_seconds = time.monotonic() - started
    state = "timed out" if report.drain_timed_out else "drained"
    report.faults.append(f"outbox {state} {report.drain_seconds:.1f} s after the station stopped")
    if upstream.relay is not None:
        code = await upstream.stop_relay(signal.SIGINT)
        if code != 0:
            report.unexpected_exits.append(f"relay exit {code} on SIGINT")
    if upstream.hub is not None:
        code = await upstream.stop_hub(signal.SIGTERM)
        # uvicorn shuts down cleanly, then raises the signal it caught again: -SIGTERM is clean.
        if code not in (0, -signal.SIGTERM):
            report.unexpected_exits.append(f"hub exit {code} on SIGTERM")


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


async def _until(check: Callable[[], bool], within: float) -> bool:
    """Poll another process's records (no event crosses processes); False after ``within`` s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while True:
        if await asyncio.to_thread(check):
            return True
        if loop.time() >= end:
            return False
        await asyncio.sleep(0.1)


def _relay_met_outage(db: Path) -> bool:
    """A result waits with a failed attempt: the relay found the hub down."""
    with Store(db, recover=False) as store:
        rows = store.outbox(state=OutboxState.PENDING)
    return any(r.target == TARGET_HUB and r.attempts for r in rows)


class _Drive:
    """Starts the station and injects the faults as the run goes, until the cart settled.

    ``holder[0]`` is the running cart (replaced when the cart restarts). Station kills,
    hub outages and live cart restarts happen when the number of finished tablets reaches
    their seeded thresholds; cable pulls and reboots at random looks in between.
    """

    def __init__(
        self,
        holder: list[VirtualCart],
        cart_spec: CartSpec,
        runner: Station,
        upstream: Upstream,
        rng: random.Random,
        report: SoakReport,
        station: Path,
        blueprint: Path,
    ) -> None:
        self.holder = holder
        self.cart_spec = cart_spec
        self.runner = runner
        self.upstream = upstream
        self.rng = rng
        self.report = report
        self.spec = report.spec
        self.station = station
        self.blueprint = blueprint
        self.db = station / DB_NAME
        self.n = cart_spec.ipads + cart_spec.androids
        self.outage: asyncio.Task[None] | None = None
        self.kills_done = 0
        self.live_marks: dict[str, int] = {}  # in-flight job -> its state count at a restart

    def live_states(self) -> dict[str, list[str]]:
        """The states each job in flight at a live cart restart went through afterwards."""
        return {k: self.report.jobs[k]["states"][m:] for k, m in self.live_marks.items()}

    def _schedule(self) -> list[tuple[int, str]]:
        """(done count, what) for the kills, the later hub outages and the live restarts."""
        n, rng, spec = self.n, self.rng, self.spec
        kills = min(spec.kills, max(1, n - 3))
        plan = [(d, "kill") for d in rng.sample(range(1, max(2, n - 2)), kills)]
        # The first outage comes with the first kill; the others after it, while running.
        first = min(d for d, _ in plan)
        plan += [
            (rng.randint(first + 1, max(first + 1, n - 2)), "outage")
            for _ in range(spec.hub_outages - 1)
        ]
        # Early in the run, so many jobs are in flight when the emulators go away.
        plan += [(rng.randint(1, max(1, n // 2)), "restart") for _ in range(spec.live_restarts)]
        return sorted(plan, key=lambda p: p[0])

    def _command(self) -> list[str]:
        return _command(self.holder[0].ready_info(), self.station, self.blueprint, self.n)

    async def run(self) -> None:
        report, rng = self.report, self.rng
        await self.runner.start(self._command())
        plan = self._schedule()
        faults: list[tuple[str, int]] = [
            ("pull", rng.randint(1, self.n)) for _ in range(self.spec.pulls)
        ]
        faults += [("reboot", rng.randint(1, self.n)) for _ in range(self.spec.reboots)]
        rng.shuffle(faults)
        allowed = False
        while not _settled(report, self.n, self.db):
            self.runner.changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(rng.uniform(0.1, 0.6)):
                    await self.runner.changed.wait()
            await self._check_alive()
            if not allowed and self._unauthorized_waits():
                # The person notices the prompt after a while and taps Allow.
                await self.holder[0].act("allow_usb_debugging", report.unauthorized_slot)
                report.faults.append(
                    f"person allows USB debugging on slot {report.unauthorized_slot}"
                )
                allowed = True
            due = plan and _done_count(report) >= plan[0][0]
            if due and (plan[0][1] != "outage" or self._hub_up()):
                await self._act(plan.pop(0)[1])
                continue
            if faults and rng.random() < 0.5:
                kind, slot = faults.pop()
                report.faults.append(await _fault(self.holder[0], kind, slot, rng))
        # The run outpaced the dice: the rest happen now, and the cart must settle again.
        for kind, slot in faults:
            report.faults.append(
                await _fault(self.holder[0], kind, slot, rng) + " (after settling)"
            )
        for _done, what in plan:
            if what == "outage":
                await self.end_outages()
            await self._act(what, late=True)
        if faults or plan:
            await _wait_settled(self.runner, report, self.n, self.db)
        code = await self.runner.stop(signal.SIGINT)
        report.faults.append(f"station stopped by SIGINT (exit {code})")
        if code == -signal.SIGKILL:
            report.notes.append("station run did not exit within 60 s of SIGINT; killed")
        elif code not in (0, 130):  # 130: interrupted, `station run` again resumes
            report.unexpected_exits.append(f"station exit {code} on SIGINT")

    def _unauthorized_waits(self) -> bool:
        slot = self.report.unauthorized_slot
        job = next((j for j in self.report.jobs.values() if j.get("slot") == slot), None)
        return job is not None and job["state"] == "needs_person"

    def _hub_up(self) -> bool:
        return self.outage is None or self.outage.done()

    async def _check_alive(self) -> None:
        """A station that exits on its own is a finding; start it again to go on."""
        proc = self.runner.proc
        if proc is not None and proc.returncode is not None:
            await self.runner.stop(signal.SIGKILL)
            self.report.unexpected_exits.append(f"station exited on its own ({proc.returncode})")
            await self.runner.start(self._command())

    async def _act(self, what: str, *, late: bool = False) -> None:
        when = " (after settling)" if late else ""
        done = _done_count(self.report)
        if what == "kill":
            await self._kill(when)
        elif what == "outage":
            self.outage = asyncio.ensure_future(self._hub_outage(signal.SIGTERM, "while running"))
        else:
            await self._live_restart(done, when)

    async def _kill(self, when: str) -> None:
        report = self.report
        code = await self.runner.stop(signal.SIGKILL)
        self.kills_done += 1
        first = self.kills_done == 1
        last = self.kills_done == min(self.spec.kills, max(1, self.n - 3))
        report.faults.append(f"SIGKILL station at {_done_count(report)} done (exit {code}){when}")
        if first and self.spec.hub_outages > 0 and self._hub_up():
            # The hub goes down too; it comes back while the station restarts.
            self.outage = asyncio.ensure_future(
                self._hub_outage(signal.SIGKILL, "with the station killed")
            )
            await asyncio.sleep(0)
        if last:
            code = await self.upstream.stop_relay(signal.SIGKILL)
            report.faults.append(f"SIGKILL relay too (exit {code})")
            self.holder[0] = await _restart_cart(self.holder[0], self.cart_spec)
            report.faults.append("cart emulators restarted while the station is down")
            await self.upstream.start_relay()
        await self.runner.start(self._command())

    async def _hub_outage(self, sig: int, why: str) -> None:
        code = await self.upstream.stop_hub(sig)
        down = time.monotonic()
        name = "SIGKILL" if sig == signal.SIGKILL else "SIGTERM"
        self.report.faults.append(f"hub down by {name} {why} (exit {code})")
        met = await _until(lambda: _relay_met_outage(self.db), self.spec.outage_limit)
        self.report.outages_met += met
        await asyncio.sleep(self.rng.uniform(0.2, 1.5))
        await self.upstream.start_hub()
        seen = "the relay met it down" if met else "the relay had nothing to send meanwhile"
        self.report.faults.append(
            f"hub back on port {self.upstream.port} after {time.monotonic() - down:.1f} s ({seen})"
        )

    async def end_outages(self) -> None:
        if self.outage is not None:
            await self.outage

    async def _live_restart(self, done: int, when: str) -> None:
        """The cart's usbmuxd and adb server go away and come back under a running station."""
        report = self.report
        flying = {
            key: len(job["states"])
            for key, job in report.jobs.items()
            if job.get("state") in IN_FLIGHT and job.get("slot") != report.denied_slot
        }
        self.holder[0] = await _restart_cart(self.holder[0], self.cart_spec)
        running = "running" if self.runner.running else "NOT running"
        report.faults.append(
            f"cart emulators restarted under a {running} station at {done} done, "
            f"{len(flying)} jobs in flight{when}"
        )
        self.live_marks.update(flying)


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
    """Stop the cart's emulators, start them again on the same ports from the same state dir.

    Apple's activation server does not restart with usbmuxd: the stand-in stays up and moves
    to the new cart (which makes one of its own on a fresh port; that one is stopped).
    """
    info = cart.ready_info()
    mux_host, _, mux_port = info["usbmux"].rpartition(":")
    adb_port = int(info["adb"].rpartition(":")[2])
    apple, cart.activation = cart.activation, None
    assert apple is not None
    try:
        return await _start_again(cart, spec, apple, (mux_host, int(mux_port)), adb_port)
    except BaseException:
        await apple.stop()
        raise


async def _start_again(
    cart: VirtualCart,
    spec: CartSpec,
    apple: ActivationServer,
    usbmux: tuple[str, int],
    adb_port: int,
) -> VirtualCart:
    await cart.stop()
    again = CartSpec(
        ipads=spec.ipads,
        androids=spec.androids,
        hubs=spec.hubs,
        time_scale=spec.time_scale,
        state_dir=spec.state_dir,
        usbmux=usbmux,
        adb_port=adb_port,
        seed=spec.seed,
    )
    restarted = VirtualCart(again)
    await restarted.start()
    assert restarted.activation is not None
    await restarted.activation.stop()
    restarted.activation = apple
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


# Station bugs the soak found, by the text of the failed job: failed jobs matching one make the
# short test xfail (naming where the fix belongs) instead of fail. Both found so far are fixed
# (SessionActive after a reconnect is retryable; a device service that is down is waited
# for without using up attempts), so a failed job fails the soak again.
KNOWN_BUGS: dict[str, str] = {}


def known_bug(problem: str) -> str | None:
    """Where the fix belongs if ``problem`` is a failed job of a known station bug."""
    if not problem.startswith("job failed: "):
        return None
    return next((where for text, where in KNOWN_BUGS.items() if text in problem), None)


def check(report: SoakReport) -> list[str]:
    """Every problem the soak found (empty: all correct)."""
    problems: list[str] = []
    if report.timed_out:
        problems.append("the cart did not settle in time")
    problems += [f"unexpected exit: {e}" for e in report.unexpected_exits]
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
    # Every fault of the soak is one a station must ride out: a job that failed needed a
    # person (or the next SIGKILL's resumed run) to finish.
    problems += [f"job failed: {f}" for f in report.failures]
    not_done = [k for k, done in report.live_restart_done.items() if not done]
    if not_done:
        problems.append(f"jobs in flight at the live cart restart never finished: {not_done}")
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
    problems += _check_hub(report, expected)
    return problems


def _check_hub(report: SoakReport, expected: int) -> list[str]:
    """Every result the station recorded is at the hub exactly once; nothing else is."""
    problems: list[str] = []
    if report.drain_timed_out:
        problems.append(f"the relay did not drain the outbox: {dict(report.outbox_states)}")
    not_sent = {k: c for k, c in report.outbox_states.items() if not k.endswith(":sent")}
    if not_sent:
        problems.append(f"outbox rows not delivered (pending or dead letters): {not_sent}")
    if len(report.station_keys) != report.result_records:
        problems.append(
            f"{report.result_records} device results, {len(report.station_keys)} hub rows"
        )
    at_hub = Counter(str(r["idempotency_key"]) for r in report.hub_records)
    doubled = {k: c for k, c in at_hub.items() if c > 1}
    if doubled:
        problems.append(f"records duplicated at the hub: {doubled}")
    lost = set(report.station_keys) - set(at_hub)
    if lost:
        problems.append(f"results lost on the way to the hub: {sorted(lost)}")
    foreign = set(at_hub) - set(report.station_keys)
    if foreign:
        problems.append(f"hub records the station never made: {sorted(foreign)}")
    serials = Counter(
        str(r["serial"])
        for r in report.hub_records
        if r["milestone"] == "provisioned" and r["status"] == "done"
    )
    if len(serials) != expected or any(c > 1 for c in serials.values()):
        problems.append(f"hub: {len(serials)} devices provisioned, expected {expected} once each")
    if report.hub_integrity != "ok":
        problems.append(f"hub integrity_check: {report.hub_integrity}")
    if report.token_leaks:
        problems.append(f"the hub token is in these logs: {report.token_leaks}")
    return problems
