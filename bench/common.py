"""Shared pieces of the benchmarks: a blueprint with apps of a given size, the station over a cart.

Not a benchmark itself. Scripts import it after putting the repository root on ``sys.path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from station.commands import demo_secrets  # noqa: E402
from station.drivers.android import AdbAndroidDriver, AndroidSettings  # noqa: E402
from station.drivers.base import SlotCalibration  # noqa: E402
from station.drivers.ios import IosSettings, UsbmuxIosDriver  # noqa: E402
from station.drivers.usb import PyusbScanner  # noqa: E402
from station.jobs.engine import EngineSettings  # noqa: E402
from station.jobs.events import EventBus, EventType, JobState  # noqa: E402
from station.jobs.runner import Prepared, RunResult, prepare, provision  # noqa: E402
from station.secrets import SecretStore  # noqa: E402
from station.sim import control  # noqa: E402
from station.sim.artifacts.android import make_apk  # noqa: E402
from station.sim.artifacts.ios import make_ipa  # noqa: E402
from station.sim.usb.backend import get_backend  # noqa: E402
from station.store import DB_NAME, Store  # noqa: E402

IDENTITY = "supervision-2026"
IPA_BUNDLE = "de.example.bench.big"
APK_PACKAGE = "de.example.bench.big"

BLUEPRINT = """
name = "Benchmark cart"
school = {{ id = "BENCH1", name = "Benchmark school", operator = "Bench" }}
asset_tag = {{ prefix = "BEN-", digits = 5 }}
device_name = "Tablet {{asset_tag}}"

[ios]
erase = "when-not-fresh"
supervise = {{ organization = "Bench Schul-IT", identity = "{identity}" }}
skip_setup = "all"
apps = ["apps/big.ipa"]

[android]
apps = ["apps/big.apk"]
settings = {{ "global.auto_time" = "1", "system.screen_off_timeout" = "300000" }}
{finish}

[timeouts]
step = 600
install = 7200

[retries]
attempts = 3
backoff = 5
"""


def write_blueprint(
    folder: Path, *, app_bytes: int, finish: str = "", wifi_secret: bool = False
) -> Path:
    """A blueprint whose iPads and Android tablets each get one app of about ``app_bytes``."""
    apps = folder / "apps"
    apps.mkdir(parents=True, exist_ok=True)
    ipa, apk = apps / "big.ipa", apps / "big.apk"
    if not ipa.exists():
        make_ipa(ipa, IPA_BUNDLE, "1", "1.0", "Bench", payload_size=app_bytes)
    if not apk.exists():
        make_apk(apk, APK_PACKAGE, 1, "1.0", "Bench", padding_bytes=app_bytes)
    path = folder / "bench.toml"
    path.write_text(BLUEPRINT.format(identity=IDENTITY, finish=finish), encoding="utf-8")
    return path


def prepared_blueprint(tmp: Path, *, app_bytes: int, finish: str = "") -> tuple[Prepared, Path]:
    """(the checked blueprint, the station data dir with its secrets)."""
    station = tmp / "station"
    demo_secrets(station)
    path = write_blueprint(tmp / "blueprint", app_bytes=app_bytes, finish=finish)
    return prepare(path, SecretStore(data_dir=station, force_file=True)), station


@dataclass
class Timeline:
    """When each job reached a final state (wall seconds since the run started)."""

    start: float = field(default_factory=time.monotonic)
    done: dict[str, float] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)
    progress_events: int = 0
    first_seen: dict[int, float] = field(default_factory=dict)  # slot -> monotonic time

    def first(self) -> float:
        return min(self.done.values()) if self.done else float("nan")

    def last(self) -> float:
        return max(self.done.values()) if self.done else float("nan")


async def follow(bus: EventBus, timeline: Timeline, on_done: Callable[[str], Any] | None) -> None:
    sub = bus.subscribe(maxsize=100_000)
    try:
        async for event in sub:
            if event.type is EventType.PROGRESS:
                timeline.progress_events += 1
            if event.type is not EventType.JOB or not event.job:
                continue
            if event.slot is not None and event.slot not in timeline.first_seen:
                timeline.first_seen[event.slot] = time.monotonic()
            timeline.states[event.job] = event.state
            if event.state == JobState.DONE.value and event.job not in timeline.done:
                timeline.done[event.job] = time.monotonic() - timeline.start
                if on_done is not None:
                    result = on_done(event.job)
                    if asyncio.iscoroutine(result):
                        await result
    finally:
        sub.close()


@contextlib.asynccontextmanager
async def station_drivers(
    info: dict[str, Any], station: Path
) -> AsyncIterator[tuple[UsbmuxIosDriver, AdbAndroidDriver]]:
    ios = UsbmuxIosDriver(
        IosSettings(
            pair_records=station / "pair_records",
            usbmux_address=info["usbmux"],
            activation_server=info["activation_url"],
        )
    )
    host, _, port = info["adb"].rpartition(":")
    android = AdbAndroidDriver(AndroidSettings(host=host, port=int(port)))
    try:
        yield ios, android
    finally:
        await ios.close()
        await android.close()


async def run_station(
    info: dict[str, Any],
    station: Path,
    prepared: Prepared,
    *,
    expect: int,
    settings: EngineSettings,
    within: float,
    on_done: Callable[[str], Any] | None = None,
    db_name: str = DB_NAME,
) -> tuple[RunResult, Timeline]:
    """The station's engine with the real drivers against a running cart (``ready_info``)."""
    calibration = SlotCalibration({s["port"]: s["slot"] for s in info["slots"]})
    bus = EventBus(maxsize=100_000)
    timeline = Timeline()
    follower = asyncio.ensure_future(follow(bus, timeline, on_done))
    try:
        async with station_drivers(info, station) as (ios, android):
            with Store(station / db_name) as store:
                timeline.start = time.monotonic()
                result = await provision(
                    prepared,
                    store=store,
                    ios=ios,
                    android=android,
                    usb=PyusbScanner(get_backend(Path(info["usb_snapshot"]))),
                    calibration=calibration,
                    expect=expect,
                    within=within,
                    settings=settings,
                    bus=bus,
                )
    finally:
        await asyncio.sleep(0.05)
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
    return result, timeline


def quiet_environment() -> None:
    """Loopback without proxies; adbutils must not start a real adb server of its own."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        os.environ.pop(name, None)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    os.environ.setdefault("ADBUTILS_ADB_PATH", "/bin/false")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def command_line() -> str:
    return " ".join([".venv/bin/python", *[a for a in sys.argv]])


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


@contextlib.asynccontextmanager
async def cart_process(
    state_dir: Path,
    *,
    ipads: int,
    androids: int,
    hubs: int = 2,
    time_scale: float,
    byte_scale: float = 1.0,
    unplugged: bool = False,
) -> AsyncIterator[tuple[dict[str, Any], asyncio.subprocess.Process]]:
    """``bench/cart_process.py`` running; yields its ready_info and the process."""
    argv = [
        sys.executable,
        str(ROOT / "bench" / "cart_process.py"),
        f"--ipads={ipads}",
        f"--androids={androids}",
        f"--hubs={hubs}",
        f"--time-scale={time_scale}",
        f"--byte-scale={byte_scale}",
        f"--state-dir={state_dir}",
        *(["--unplugged"] if unplugged else []),
    ]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 120)
        if not line:
            raise RuntimeError("the cart process ended before it was ready")
        yield json.loads(line), proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def act(info: dict[str, Any], action: str, slot: int) -> Any:
    """A person's action on a cart process (its control channel)."""
    host, _, port = info["control"].rpartition(":")
    return await control.request_async((host, int(port)), {"action": action, "slot": slot})


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
