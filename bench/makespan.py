"""Benchmark 1: cart makespan against the lower bound of the virtual cart's timing model.

Run from the repository root::

    .venv/bin/python bench/makespan.py [--quick] [--time-scale 0.1] [--variants 1]

30 tablets (15 iPads on hub 1, 15 Android tablets on hub 2, USB 2.0 hubs of 35 MB/s) each get
one app of 1 GB. The apps on disk are 10 MB and the cart counts every byte as 100
(``CartSpec.byte_scale``): the hub moves 350 KB/s of payload and the tablets unpack at a
hundredth of their model rates, so every bytes/bandwidth ratio is that of 1 GB apps while the
run copies 300 MB instead of 30 GB. All times are reported in device seconds (wall seconds
divided by the time scale).

Variants: the engine's per-hub transfer limit 1, 2 (the default), 3 and unlimited ("every
transfer at once"), and one device at a time (each tablet plugged when the one before is done).
A transfer slot covers a tablet's upload only: the drivers report the last byte sent
(``install_app(..., uploaded=...)``) and the engine gives the hub to the next tablet while
this one unpacks. ``--variants`` picks some by index (0..4, in the order above).

The lower bound comes from the same model: every hub must carry its bytes at its bandwidth and
at least one tablet unpacks after the hub's last byte; every device needs its own upload (alone
on the hub) plus its install. Pairing, supervision and settings cost no device time in the model,
so what the station spends on them shows as distance from the bound. (A bound with a head,
"the shortest pre-transfer work + hub bytes / bandwidth + the shortest tail", is no tighter
here: in the model nothing before the upload costs device time, and the tail term is already
the shortest install.)

The model's makespan without station overhead (``policy_makespan``) is given for three orders
of a hub's line: plug order (FIFO, the engine before the reorder), the longest unpack first
with perfect knowledge, and the engine's own ("learned"): a model's unpack is known once a
tablet of that model finished unpacking in the run, unknown models go first (as if slowest),
ties in plug order. The results table's last column is the engine's order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    act,
    cart_process,
    command_line,
    load_average,
    prepared_blueprint,
    quiet_environment,
    run_station,
)
from station.artifacts.ipa import read_ipa
from station.jobs.engine import EngineSettings
from station.sim.cart import CartSpec, VirtualCart

GB = 10**9
TARGET = 1.05  # within 5 % of the lower bound
UNLIMITED = 10_000
LIMITS = (1, 2, 3, UNLIMITED)
ORDERS = ("plug", "longest", "learned")  # how a hub's line picks (see policy_makespan)
ENGINE_ORDER = "learned"  # the engine's (station/jobs/transfers.py)


class Device(NamedTuple):
    """One tablet of the model: seconds alone on the hub, seconds to unpack, its model."""

    up: float
    tail: float
    model: str


def policy_makespan(
    devices: list[Device], limit: int, order: str = "plug", dt: float = 0.05
) -> float:
    """The model's makespan on one hub with at most ``limit`` tablets holding a transfer slot.

    ``devices`` in plug order, all waiting from the start. A tablet holds its slot for its
    upload only (the engine frees it when the driver reports the last byte sent) and unpacks
    after; the uploads in progress share the hub equally. No station overhead: what the policy
    costs. ``order`` is how the hub's line picks the next tablet when a slot frees:

    - ``plug``: first come first served (the line's order before issue 8's reorder);
    - ``longest``: the longest unpack first, with perfect knowledge of every tablet's unpack;
    - ``learned``: what the engine can know: a model's unpack is known once a tablet of that
      model finished unpacking in this run; tablets of unknown models go first (as if
      slowest), the known ones longest first, ties in plug order.
    """
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}")
    waiting = list(enumerate(devices))
    active: list[list[float]] = []  # [upload seconds left at full rate, unpack seconds, index]
    unpacking: list[tuple[float, str, float]] = []  # (done at, model, unpack seconds)
    known: dict[str, float] = {}
    t = 0.0
    finish = 0.0

    def expected(item: tuple[int, Device]) -> tuple[float, int]:
        index, device = item
        if order == "plug":
            return (0.0, index)
        if order == "longest":
            return (-device.tail, index)
        return (-known.get(device.model, float("inf")), index)

    while waiting or active:
        for finished in [u for u in unpacking if u[0] <= t]:
            known[finished[1]] = finished[2]
            unpacking.remove(finished)
        while waiting and len(active) < limit:
            waiting.sort(key=expected)
            index, device = waiting.pop(0)
            active.append([device.up, device.tail, index])
        share = dt / len(active)
        for a in active:
            a[0] -= share
        t += dt
        for a in [a for a in active if a[0] <= 0]:
            finish = max(finish, t + a[1])
            unpacking.append((t + a[1], devices[int(a[2])].model, a[1]))
            active.remove(a)
    return finish


@dataclass(frozen=True)
class Bound:
    hub: float  # max over hubs of bytes / bandwidth
    hub_tail: float  # ... plus the shortest install that must follow the hub's last byte
    device: float  # max over devices of upload alone + install
    serial: float  # one device at a time: the sum of the critical paths
    policies: dict[str, dict[int, float]]  # the model's makespan per line order and limit

    @property
    def best(self) -> float:
        return max(self.hub_tail, self.device)


def lower_bound(cart: VirtualCart, ipa: Path, apk: Path) -> Bound:
    """Device seconds, from the cart's own timing model (rates already byte-scaled)."""
    ipa_bytes, apk_bytes = ipa.stat().st_size, apk.stat().st_size
    ipa_installed = read_ipa(ipa).installed_size
    hubs: dict[int, list[Device]] = {}
    for number in sorted(cart.slots):  # plug order
        slot = cart.slots[number]
        link = slot.link.hub
        if slot.ipad is not None:
            model = slot.ipad.model.product_type
            sent, unpack = ipa_bytes, ipa_installed / slot.ipad.model.install_bytes_per_s
        else:
            assert slot.android is not None
            model = slot.android.model.model
            sent, unpack = apk_bytes, apk_bytes / slot.android.model.install_bytes_per_s
        hubs.setdefault(slot.port.root_port, []).append(
            Device(sent / link.bytes_per_s, unpack, model)
        )
    hub = max(sum(d.up for d in devices) for devices in hubs.values())
    hub_tail = max(
        sum(d.up for d in devices) + min(d.tail for d in devices) for devices in hubs.values()
    )
    paths = [d.up + d.tail for devices in hubs.values() for d in devices]
    policies = {
        order: {
            limit: max(policy_makespan(devices, limit, order) for devices in hubs.values())
            for limit in LIMITS
        }
        for order in ORDERS
    }
    return Bound(hub, hub_tail, max(paths), sum(paths), policies)


@dataclass(frozen=True)
class Outcome:
    name: str
    makespan: float  # device seconds
    first: float
    done: int
    devices: int
    wall: float
    plug_ms: list[float] = field(default_factory=list)  # one at a time: plug -> first event


async def model_bound(tmp: Path, args: argparse.Namespace) -> Bound:
    spec = CartSpec(
        ipads=args.ipads,
        androids=args.androids,
        hubs=2,
        time_scale=args.time_scale,
        state_dir=tmp / "model-cart",
        byte_scale=args.byte_scale,
    )
    apps = tmp / "blueprint" / "apps"
    async with VirtualCart(spec) as cart:
        return lower_bound(cart, apps / "big.ipa", apps / "big.apk")


async def one_variant(
    name: str,
    tmp: Path,
    args: argparse.Namespace,
    *,
    limit: int,
    serial: bool,
) -> tuple[Outcome, Bound]:
    prepared, _ = prepared_blueprint(tmp, app_bytes=args.app_bytes)
    station = tmp / f"station-{name}"
    station.mkdir()
    n = args.ipads + args.androids
    settings = EngineSettings(
        transfers_per_hub=limit, person_poll=0.2, backoff_scale=0.02, settle=0.2, usb_poll=0.5
    )
    async with cart_process(
        tmp / f"cart-{name}",
        ipads=args.ipads,
        androids=args.androids,
        time_scale=args.time_scale,
        byte_scale=args.byte_scale,
        unplugged=serial,
    ) as (info, _proc):
        # The model, read from a cart built the same way (same seed: same models per slot).
        bound = await model_bound(tmp, args)
        queue = [s["slot"] for s in info["slots"]]
        plugged: dict[int, float] = {}

        async def plug_next(_job: str = "") -> None:
            if queue:
                slot = queue.pop(0)
                plugged[slot] = time.monotonic()
                await act(info, "plug", slot)

        starter = asyncio.ensure_future(plug_next()) if serial else None
        t0 = time.monotonic()
        try:
            result, timeline = await run_station(
                info,
                station,
                prepared,
                expect=n,
                settings=settings,
                within=args.within,
                on_done=plug_next if serial else None,
            )
        finally:
            if starter is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await starter
        wall = time.monotonic() - t0
    done = sum(1 for j in result.jobs if j["state"] == "done")
    scale = args.time_scale
    latencies = [timeline.first_seen[s] - t for s, t in plugged.items() if s in timeline.first_seen]
    outcome = Outcome(name, timeline.last() / scale, timeline.first() / scale, done, n, wall)
    return replace(outcome, plug_ms=sorted(1000 * x for x in latencies)), bound


def print_orders(bound: Bound) -> None:
    """The model's makespan (no station overhead) per order of the hub's line and limit."""
    names = {
        "plug": "plug order (FIFO)",
        "longest": "longest unpack first, known",
        "learned": "learned per model",
    }
    limits = [limit for limit in LIMITS if limit != UNLIMITED]
    print(
        f"model, no overhead, by the hub line's order (engine: {ENGINE_ORDER}):\n"
        f"{'order':<30}" + "".join(f"{f'limit {limit}':>18}" for limit in limits)
    )
    for order in ORDERS:
        model = bound.policies[order]
        cells = "".join(
            f"{model[limit]:>9.1f}s ({model[limit] / bound.best:.3f})" for limit in limits
        )
        print(f"{names[order]:<30}{cells}")


async def main(args: argparse.Namespace) -> int:
    quiet_environment()
    variants: list[tuple[str, int, bool]] = [
        ("limit 1", 1, False),
        ("limit 2 (default)", 2, False),
        ("limit 3", 3, False),
        ("unlimited (all at once)", UNLIMITED, False),
        ("one device at a time", 2, True),
    ]
    if args.quick:
        variants = [variants[1], variants[3]]
    if args.variants:
        variants = [variants[int(i)] for i in args.variants.split(",")]
    outcomes: list[Outcome] = []
    bound: Bound | None = None
    with tempfile.TemporaryDirectory(prefix="station-makespan-") as tmp:
        for name, limit, serial in variants:
            folder = Path(tmp) / f"v{len(outcomes)}"
            folder.mkdir()
            outcome, bound = await one_variant(name, folder, args, limit=limit, serial=serial)
            outcomes.append(outcome)
            print(
                f"  {name}: {outcome.makespan:.0f} s, first {outcome.first:.0f} s "
                f"({outcome.done}/{outcome.devices} done, {outcome.wall:.1f} s wall)",
                flush=True,
            )
    assert bound is not None
    print(f"command: {command_line()}")
    print(f"{load_average()} (after the run)")
    app_gb = args.app_bytes * args.byte_scale / GB
    print(
        f"cart: {args.ipads} iPads (hub 1) + {args.androids} Android (hub 2), one app of "
        f"{app_gb:.2f} GB each ({args.app_bytes / 1e6:.0f} MB on disk x byte scale "
        f"{args.byte_scale:g}), time scale {args.time_scale:g}; times in device seconds"
    )
    print(
        f"lower bound: {bound.best:.1f} s  (hub bytes / bandwidth {bound.hub:.1f} s, + shortest "
        f"install after the last byte {bound.hub_tail:.1f} s; longest device path "
        f"{bound.device:.1f} s); one at a time, model: {bound.serial:.0f} s"
    )
    print(
        f"{'variant':<26} {'makespan':>9} {'x bound':>8} {'first done':>11} {'done':>7} "
        f"{'model, no overhead':>19}"
    )
    for o, (_name, limit, serial) in zip(outcomes, variants, strict=True):
        ratio = o.makespan / bound.best
        model = bound.serial if serial else bound.policies[ENGINE_ORDER][limit]
        print(
            f"{o.name:<26} {o.makespan:>8.1f}s {ratio:>8.3f} {o.first:>10.1f}s "
            f"{o.done:>3}/{o.devices:<3} {model:>9.1f}s ({model / bound.best:.3f})"
        )
    print_orders(bound)
    for o in outcomes:
        if o.plug_ms:
            print(
                f"plug -> the engine's first event for the tablet (wall ms, {len(o.plug_ms)} "
                f"plugs): median {o.plug_ms[len(o.plug_ms) // 2]:.0f}, max {o.plug_ms[-1]:.0f}"
            )
    default = next(o for o in outcomes if "default" in o.name)
    met = default.makespan <= TARGET * bound.best and default.done == default.devices
    print(
        f"target (default limit within 5 % of the bound): "
        f"{'met' if met else 'NOT met'} ({default.makespan / bound.best:.3f})"
    )
    if args.json:
        print(json.dumps({"bound": bound.__dict__, "outcomes": [o.__dict__ for o in outcomes]}))
    return 0 if met else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="8 + 8 tablets, two variants, fast time scale"
    )
    parser.add_argument("--ipads", type=int, default=15)
    parser.add_argument("--androids", type=int, default=15)
    parser.add_argument("--time-scale", type=float, default=None)
    parser.add_argument("--app-bytes", type=int, default=10_000_000, help="bytes on disk")
    parser.add_argument("--byte-scale", type=float, default=100.0)
    parser.add_argument("--within", type=float, default=900.0, help="wall-clock cap per run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--variants",
        default="",
        help="only these variants, by index: 0 limit 1, 1 limit 2, 2 limit 3, 3 unlimited, "
        "4 one at a time (e.g. 1 or 1,2)",
    )
    parsed = parser.parse_args()
    if parsed.quick and parsed.ipads == 15 and parsed.androids == 15:
        parsed.ipads = parsed.androids = 8
    if parsed.time_scale is None:
        parsed.time_scale = 0.02 if parsed.quick else 0.1
    raise SystemExit(asyncio.run(main(parsed)))
