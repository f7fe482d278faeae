"""How long ``station run`` takes to exit on Ctrl-C with a whole cart in flight.

Run from the repository root::

    .venv/bin/python bench/sigint.py [--ipads 60] [--androids 60] [--rounds 3] [--after 20]

A virtual cart (its own process, 8 hubs) and ``python -m station run`` as the technician
starts it; ``--after`` seconds into the run (uploads, pairing and installs in flight) the
station gets SIGINT, and the time to its exit is measured. A station that needs more than a
few seconds here leaves a technician staring at a terminal that does not answer. Each round
uses a fresh cart and station.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    ROOT,
    cart_process,
    command_line,
    demo_secrets,
    load_average,
    quiet_environment,
    write_blueprint,
)
from station.drivers.base import SlotCalibration


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        }
    )
    return env


async def one_round(tmp: Path, args: argparse.Namespace) -> tuple[float, int, int]:
    """(seconds from SIGINT to exit, exit code, jobs in flight at the signal)."""
    n = args.ipads + args.androids
    station = tmp / "station"
    demo_secrets(station)
    blueprint = write_blueprint(tmp / "blueprint", app_bytes=args.app_bytes)
    async with cart_process(
        tmp / "cart", ipads=args.ipads, androids=args.androids, hubs=8, time_scale=args.time_scale
    ) as (info, _proc):
        calibration = station / "calibration.json"
        SlotCalibration({s["port"]: s["slot"] for s in info["slots"]}).save(calibration)
        argv = [
            sys.executable, "-m", "station", "run",
            "--blueprint", str(blueprint), "--expect", str(n), "--json",
            "--data-dir", str(station), "--file-secrets",
            "--usbmux", info["usbmux"], "--adb", info["adb"],
            "--activation-url", info["activation_url"],
            "--usb-snapshot", info["usb_snapshot"], "--calibration", str(calibration),
        ]  # fmt: skip
        log = (tmp / "station.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env=_env(),
            cwd=ROOT,
        )
        states: dict[str, str] = {}

        async def follow() -> None:
            assert proc.stdout is not None
            async for line in proc.stdout:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict) and event.get("type") == "job" and event.get("job"):
                    states[str(event["job"])] = str(event.get("state"))

        reader = asyncio.ensure_future(follow())
        await asyncio.sleep(args.after)
        in_flight = sum(1 for s in states.values() if s in ("running", "waiting", "paused"))
        if proc.returncode is not None:
            log.close()
            tail = (tmp / "station.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"station run ended before the signal ({proc.returncode}):\n{tail}")
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            async with asyncio.timeout(args.give_up):
                code = await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            code = -9
        seconds = time.monotonic() - sent
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        log.close()
        return seconds, code, in_flight


async def main(args: argparse.Namespace) -> int:
    quiet_environment()
    results = []
    for n in range(args.rounds):
        with tempfile.TemporaryDirectory(prefix="bench-sigint-") as tmp:
            seconds, code, in_flight = await one_round(Path(tmp), args)
        results.append(seconds)
        print(
            f"round {n + 1}: exit {code} after {seconds:.2f} s "
            f"({in_flight} tablets in flight at the signal)",
            flush=True,
        )
    print(f"command: {command_line()}")
    print(f"{load_average()} (after the runs)")
    print(
        f"Ctrl-C to exit, {args.ipads} + {args.androids} tablets: median "
        f"{statistics.median(results):.2f} s, max {max(results):.2f} s"
    )
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ipads", type=int, default=60)
    parser.add_argument("--androids", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--after", type=float, default=20.0, help="seconds before SIGINT")
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--app-bytes", type=int, default=20_000_000)
    parser.add_argument("--give-up", type=float, default=120.0, help="kill after this")
    sys.exit(asyncio.run(main(parser.parse_args())))
