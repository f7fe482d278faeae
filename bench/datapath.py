"""Benchmark 2: the station's app-install throughput against the reference clients, same run.

Run from the repository root::

    .venv/bin/python bench/datapath.py [--quick] [--mb 64] [--rounds 3]

One virtual cart (its own process) with one iPad and one Android tablet, time scale 0: every
emulated delay (the hub's 35 MB/s, the tablets' unpack rates) is zero, so what is measured is
the data path itself (client library, protocol, the emulator's receiving side), not the model.
Taking the hub out this way is equivalent to a hub bandwidth that is never the bottleneck.

Android: the station's driver ``install_app`` (the APK streamed into ``cmd package install
-S``, as ``adb install`` does) against Google's ``adb -P <port> push`` + ``adb shell pm install``
and ``adb install`` (streamed), on the same emulated tablet. iOS: the station's driver
``install_app`` (pymobiledevice3 AFC upload + installation_proxy) against libimobiledevice's
``ideviceinstaller -i``. Every round runs each client once, the order rotated by one client
every two rounds and reversed every other round, so no client always follows the same one
(ideviceinstaller used to run right after the station's iOS install every time). Each iOS
client leaves the iPad as it found it, within its timing: the station removes its staged .ipa
itself, the script removes the one ideviceinstaller leaves in PublicStaging. Throughput = app
bytes / seconds for the whole install; the ratio is given from the medians and as the median
of each round's own ratio (the steadier number on a shared machine). The cart's CPU seconds
per install (its own process) show whether the emulator works harder for one client than for
another; the client's CPU seconds are the benchmark process's (station) or the tool's (adb,
ideviceinstaller).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    cart_process,
    command_line,
    load_average,
    process_cpu,
    quiet_environment,
    station_drivers,
)
from station.sim.artifacts.android import make_apk
from station.sim.artifacts.ios import make_ipa

TARGET = 0.9
OURS_ANDROID = "android: station (streamed cmd package install)"
OURS_IOS = "ios: station (pymobiledevice3 AFC + instproxy)"


@dataclass
class Sample:
    seconds: float
    cart_cpu: float
    client_cpu: float


def client_cpu() -> float:
    """CPU seconds of this process and of the tools it waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    tools = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + tools.ru_utime + tools.ru_stime


async def timed(run: Callable[[], Awaitable[Any]]) -> float:
    start = time.monotonic()
    await run()
    return time.monotonic() - start


async def tool(*argv: str, env: dict[str, str] | None = None) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    if proc.returncode != 0 or "Failure" in text:
        raise RuntimeError(f"{' '.join(argv[:4])}...: exit {proc.returncode}: {text[-500:]}")


def remove_staged(cart_dir: Path) -> None:
    """The .ipa files ideviceinstaller left in the emulated iPads' PublicStaging folders."""
    for staged in cart_dir.glob("slot-*/data/Media/PublicStaging/*"):
        if staged.is_file():
            staged.unlink()


def rate(nbytes: int, seconds: list[float]) -> tuple[float, float]:
    """(median MB/s, best MB/s)."""
    return nbytes / statistics.median(seconds) / 1e6, nbytes / min(seconds) / 1e6


async def main(args: argparse.Namespace) -> int:
    quiet_environment()
    adb = shutil.which("adb")
    idevice = shutil.which("ideviceinstaller")
    size = int(args.mb * 1_000_000)
    results: dict[str, list[Sample]] = {}
    rounds: list[dict[str, float]] = []  # each round's seconds per client
    with tempfile.TemporaryDirectory(prefix="station-datapath-") as tmp_name:
        tmp = Path(tmp_name)
        apk = make_apk(
            tmp / "big.apk", "de.example.bench.path", 1, "1.0", "Path", padding_bytes=size
        )
        ipa = make_ipa(tmp / "big.ipa", "de.example.bench.path", "1", "1.0", "Path", size)
        async with cart_process(tmp / "cart", ipads=1, androids=1, time_scale=0.0) as (
            info,
            cart,
        ):
            ios_slot = next(s for s in info["slots"] if s["kind"] == "ipad")
            android_slot = next(s for s in info["slots"] if s["kind"] == "android")
            adb_port = info["adb"].rpartition(":")[2]
            serial = android_slot["serial"]
            async with station_drivers(info, tmp / "station") as (ios, android):
                handle = next(e.handle for e in await android.devices())
                udid = ios_slot["udid"]
                await ios.pair(udid)
                for round_number in range(args.rounds):
                    runs: dict[str, Callable[[], Awaitable[Any]]] = {
                        OURS_ANDROID: lambda: android.install_app(handle, apk),
                    }
                    if adb:
                        staged = "/data/local/tmp/bench.apk"

                        async def push_install(staged: str = staged) -> None:
                            await tool(adb, "-P", adb_port, "-s", serial, "push", str(apk), staged)
                            await tool(
                                adb, "-P", adb_port, "-s", serial, "shell", "pm", "install",
                                "-r", "-t", staged,
                            )  # fmt: skip

                        runs["android: adb push + adb shell pm install"] = push_install
                        runs["android: adb install (streamed)"] = lambda: tool(
                            adb, "-P", adb_port, "-s", serial, "install", "-r", "-t", str(apk)
                        )
                    runs[OURS_IOS] = lambda: ios.install_app(udid, ipa)
                    if idevice:
                        # libimobiledevice reads the station's pair record from its own
                        # folder; the cart's usbmuxd has the iPad paired with that host id.
                        env = {
                            "USBMUXD_SOCKET_ADDRESS": info["usbmux"],
                        }

                        async def idevice_install(env: dict[str, str] = env) -> None:
                            await tool(idevice, "-u", udid, "-i", str(ipa), env=env)
                            # Each iOS client leaves the iPad as it found it, in its own time:
                            # the station removes its staged .ipa after the install;
                            # ideviceinstaller leaves PublicStaging/<bundle id>, its next run
                            # would write over it in place, and on this machine the emulator
                            # writes a file over its own old pages for a fraction of what a
                            # file in page cache it has to take fresh costs.
                            remove_staged(tmp / "cart")

                        runs["ios: ideviceinstaller -i"] = idevice_install
                    names = list(runs)
                    rounds.append({})
                    # Rotated one client further every two rounds, and every other round
                    # backwards: a client follows its neighbour as often as it precedes it.
                    start = (round_number // 2) % len(names)
                    order = names[start:] + names[:start]
                    if round_number % 2:
                        order.reverse()
                    for name in order:
                        cart_before, client_before = process_cpu(cart.pid), client_cpu()
                        try:
                            seconds = await timed(runs[name])
                        except RuntimeError as exc:
                            print(f"  {name}: failed: {exc}", flush=True)
                            continue
                        rounds[-1][name] = seconds
                        results.setdefault(name, []).append(
                            Sample(
                                seconds,
                                process_cpu(cart.pid) - cart_before,
                                client_cpu() - client_before,
                            )
                        )
        apk_bytes, ipa_bytes = apk.stat().st_size, ipa.stat().st_size
    print(f"command: {command_line()}")
    print(f"{load_average()} (after the run)")
    print(f"app: {apk_bytes / 1e6:.1f} MB APK, {ipa_bytes / 1e6:.1f} MB IPA; time scale 0; "
          f"{args.rounds} rounds, order rotated, every other round reversed; "
          "CPU: median per install")  # fmt: skip
    print(
        f"{'client':<50} {'median MB/s':>12} {'best MB/s':>10} "
        f"{'cart CPU s':>11} {'client CPU s':>13}"
    )
    rates: dict[str, float] = {}
    for name, samples in results.items():
        nbytes = apk_bytes if name.startswith("android") else ipa_bytes
        median, best = rate(nbytes, [s.seconds for s in samples])
        rates[name] = median
        cart_cpu = statistics.median(s.cart_cpu for s in samples)
        own_cpu = statistics.median(s.client_cpu for s in samples)
        print(f"{name:<50} {median:>12.1f} {best:>10.1f} {cart_cpu:>11.2f} {own_cpu:>13.2f}")
    ok = True
    for platform, ours, theirs in (
        ("android", OURS_ANDROID, "android: adb install (streamed)"),
        ("android", OURS_ANDROID, "android: adb push + adb shell pm install"),
        ("ios", OURS_IOS, "ios: ideviceinstaller -i"),
    ):
        if ours in rates and theirs in rates:
            ratio = rates[ours] / rates[theirs]
            # The same ratio within each round (its runs are seconds apart, so a busy
            # machine slows both alike): the median of those is the steadier number.
            paired = [r[theirs] / r[ours] for r in rounds if ours in r and theirs in r]
            round_ratio = statistics.median(paired)
            verdict = "met" if ratio >= TARGET else "NOT met"
            ok = ok and ratio >= TARGET
            print(
                f"{platform}: station / {theirs.split(': ')[1]} = {ratio:.2f} ({verdict}); "
                f"per round: median {round_ratio:.2f}, "
                f"range {min(paired):.2f}-{max(paired):.2f}"
            )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="16 MB, 2 rounds")
    parser.add_argument("--mb", type=float, default=None, help="app size in MB")
    parser.add_argument("--rounds", type=int, default=None)
    parsed = parser.parse_args()
    if parsed.mb is None:
        parsed.mb = 16 if parsed.quick else 64
    if parsed.rounds is None:
        parsed.rounds = 2 if parsed.quick else 7
    raise SystemExit(asyncio.run(main(parsed)))
