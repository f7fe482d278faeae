"""Benchmark 3: the station's CPU seconds and peak memory per provisioned device.

Run from the repository root::

    .venv/bin/python bench/station_cost.py [--quick] [--ipads 60 --androids 60 --hubs 8]

120 tablets (60 iPads + 60 Android on 8 hubs) in flight at once, the demo blueprint (small apps,
two profiles, supervision, device owner, settings, a file), time scale 0.01. The cart runs in
its own process (``bench/cart_process.py``) so its CPU is not counted; the station (engine,
drivers, store) runs in this process and is measured with ``time.process_time`` and
``ru_maxrss``. The cart's CPU is shown beside it for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    cart_process,
    command_line,
    load_average,
    peak_rss_mb,
    process_cpu,
    quiet_environment,
    run_station,
)
from station.commands import demo_blueprint, demo_secrets
from station.jobs.engine import EngineSettings
from station.jobs.runner import prepare
from station.secrets import SecretStore

KEEP_ADB = ("finish = { disable_usb_debugging = true }", "")


async def main(args: argparse.Namespace) -> int:
    quiet_environment()
    n = args.ipads + args.androids
    with tempfile.TemporaryDirectory(prefix="station-cost-") as tmp_name:
        tmp = Path(tmp_name)
        station = tmp / "station"
        demo_secrets(station)
        path = demo_blueprint(tmp / "blueprints")
        path.write_text(path.read_text(encoding="utf-8").replace(*KEEP_ADB), encoding="utf-8")
        prepared = prepare(path, SecretStore(data_dir=station, force_file=True))
        gc.collect()
        rss_before = peak_rss_mb()
        async with cart_process(
            tmp / "cart",
            ipads=args.ipads,
            androids=args.androids,
            hubs=args.hubs,
            time_scale=args.time_scale,
        ) as (info, proc):
            cart_cpu0 = process_cpu(proc.pid)
            cpu0, wall0 = time.process_time(), time.monotonic()
            result, timeline = await run_station(
                info,
                station,
                prepared,
                expect=n,
                settings=EngineSettings(person_poll=0.5, backoff_scale=0.02, usb_poll=2.0),
                within=args.within,
            )
            cpu = time.process_time() - cpu0
            wall = time.monotonic() - wall0
            cart_cpu = process_cpu(proc.pid) - cart_cpu0
    done = sum(1 for j in result.jobs if j["state"] == "done")
    peak = peak_rss_mb()
    print(f"command: {command_line()}")
    print(f"{load_average()} (after the run)")
    print(
        f"cart: {args.ipads} iPads + {args.androids} Android on {args.hubs} hubs, demo blueprint, "
        f"time scale {args.time_scale:g}; {done}/{n} done in {wall:.1f} s wall"
    )
    print(f"{'':<34} {'total':>10} {'per device':>11}")
    print(f"{'station CPU (user+sys)':<34} {cpu:>9.1f}s {cpu / n:>10.2f}s")
    print(f"{'station peak RSS':<34} {peak:>8.0f}MB {'':>11}")
    print(
        f"{'  above the idle interpreter':<34} {peak - rss_before:>8.0f}MB "
        f"{(peak - rss_before) / n:>9.2f}MB"
    )
    print(f"{'cart CPU (not counted, for scale)':<34} {cart_cpu:>9.1f}s {cart_cpu / n:>10.2f}s")
    print(f"station CPU / wall: {cpu / wall:.2f} cores of 2; progress events: "
          f"{timeline.progress_events}")  # fmt: skip
    return 0 if done == n else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 + 12 tablets on 2 hubs")
    parser.add_argument("--ipads", type=int, default=None)
    parser.add_argument("--androids", type=int, default=None)
    parser.add_argument("--hubs", type=int, default=None)
    parser.add_argument("--time-scale", type=float, default=0.01)
    parser.add_argument("--within", type=float, default=900.0)
    parsed = parser.parse_args()
    default = (12, 12, 2) if parsed.quick else (60, 60, 8)
    parsed.ipads = parsed.ipads if parsed.ipads is not None else default[0]
    parsed.androids = parsed.androids if parsed.androids is not None else default[1]
    parsed.hubs = parsed.hubs if parsed.hubs is not None else default[2]
    raise SystemExit(asyncio.run(main(parsed)))
