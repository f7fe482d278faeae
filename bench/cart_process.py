"""A virtual cart in its own process for the benchmarks, so its CPU is not the station's.

Like ``station sim serve`` (one JSON line of ``ready_info`` on stdout, stops on SIGTERM), plus
the benchmark knobs: ``--byte-scale``, every iPad's person tapping Trust at once, and
``--unplugged`` (every tablet starts out of its slot, for one-at-a-time runs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.sim.cart import CartSpec, VirtualCart
from station.sim.scenario import Scenario, SlotOverride


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    overrides = {s: SlotOverride(trust="accept") for s in range(1, args.ipads + 1)}
    spec = CartSpec(
        ipads=args.ipads,
        androids=args.androids,
        hubs=args.hubs,
        time_scale=args.time_scale,
        byte_scale=args.byte_scale,
        state_dir=args.state_dir,
        scenario=Scenario(slots=overrides),
    )
    async with VirtualCart(spec) as cart:
        if args.unplugged:
            for number in sorted(cart.slots):
                if cart.slots[number].plugged:
                    await cart.unplug(number)
        sys.stdout.write(json.dumps(cart.ready_info()) + "\n")
        sys.stdout.flush()
        await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ipads", type=int, default=15)
    parser.add_argument("--androids", type=int, default=15)
    parser.add_argument("--hubs", type=int, default=2)
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--byte-scale", type=float, default=1.0)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--unplugged", action="store_true")
    asyncio.run(serve(parser.parse_args()))
