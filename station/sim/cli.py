"""``station sim serve|act`` and the cart show (``run_demo``): run a cart, act on it, show it."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from station.errors import InputError
from station.sim import control
from station.sim.cart import CartSpec, VirtualCart
from station.sim.inspect import inspect_cart, render
from station.sim.scenario import ACTIONS, Scenario, load_scenario

log = logging.getLogger("station.sim.cli")

PERSON_ACTIONS = [a.replace("_", "-") for a in ACTIONS]


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _positive_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def _cart_arguments(parser: argparse.ArgumentParser, *, time_scale: float | None) -> None:
    parser.add_argument("--ipads", type=int, default=None, metavar="N", help="iPads (default 4)")
    parser.add_argument(
        "--androids", type=int, default=None, metavar="M", help="Android tablets (default 4)"
    )
    parser.add_argument("--hubs", type=int, default=None, metavar="H", help="USB hubs (default 2)")
    parser.add_argument(
        "--time-scale",
        type=_positive_float,
        default=time_scale,
        metavar="F",
        help="wall seconds per device second (0.01: a 60 s boot takes 0.6 s)",
    )
    parser.add_argument("--scenario", type=Path, metavar="FILE", help="scenario TOML file")
    parser.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="keep the cart's devices here (default: a temporary folder, removed at exit)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for models and serials")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")


def add_parser(subparsers: Any) -> None:
    """Add ``station sim`` with ``serve``, ``act`` and ``show``."""
    sim = subparsers.add_parser("sim", help="the virtual cart (emulated tablets)")
    sim_sub = sim.add_subparsers(dest="sim_command", metavar="SUBCOMMAND", required=True)

    serve = sim_sub.add_parser(
        "serve", help="run a virtual cart; prints one JSON line when ready, stops on SIGINT/TERM"
    )
    _cart_arguments(serve, time_scale=None)
    serve.add_argument(
        "--usbmux",
        type=_host_port,
        default=("127.0.0.1", 0),
        metavar="HOST:PORT",
        help="where usbmuxd listens (default 127.0.0.1, a free port)",
    )
    serve.add_argument(
        "--adb-port", type=int, default=0, metavar="PORT", help="adb server port (default: free)"
    )
    serve.set_defaults(func=run_serve)

    act = sim_sub.add_parser("act", help="do what a person does at a running cart")
    act.add_argument("--state-dir", type=Path, required=True, metavar="DIR")
    act.add_argument("action", choices=PERSON_ACTIONS)
    act.add_argument("slot", type=int)
    act.set_defaults(func=run_act)

    show = sim_sub.add_parser(
        "show", help="start a virtual cart and show it as the real client tools see it"
    )
    add_demo_arguments(show)
    show.set_defaults(func=run_demo)


def add_demo_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the cart show (``station sim show``)."""
    _cart_arguments(parser, time_scale=0.01)


def _setup_logging(verbose: bool) -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("asyncio", "pymobiledevice3", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def spec_from_args(args: argparse.Namespace, state_dir: Path) -> CartSpec:
    """CartSpec from options; a scenario's ``[cart]`` fills what the options leave out."""
    scenario: Scenario | None = load_scenario(args.scenario) if args.scenario else None
    defaults: dict[str, Any] = {"ipads": 4, "androids": 4, "hubs": 2, "time_scale": 1.0, "seed": 0}
    if scenario is not None:
        defaults.update(scenario.cart)

    def pick(name: str) -> Any:
        value = getattr(args, name, None)
        return defaults[name] if value is None else value

    return CartSpec(
        ipads=int(pick("ipads")),
        androids=int(pick("androids")),
        hubs=int(pick("hubs")),
        ports_per_hub=int(defaults.get("ports_per_hub", 16)),
        time_scale=float(pick("time_scale")),
        usbmux=getattr(args, "usbmux", ("127.0.0.1", 0)),
        adb_port=getattr(args, "adb_port", 0),
        state_dir=state_dir,
        scenario=scenario,
        seed=int(pick("seed")),
    )


@contextlib.contextmanager
def _state_dir(requested: Path | None) -> Any:
    if requested is not None:
        yield requested
        return
    folder = Path(tempfile.mkdtemp(prefix="station-cart-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_serve(args: argparse.Namespace) -> int:
    """Serve a cart until SIGINT/SIGTERM; stdout gets exactly one JSON line (ready_info)."""
    _setup_logging(args.verbose)
    try:
        with _state_dir(args.state_dir) as state_dir:
            spec = spec_from_args(args, state_dir)
            asyncio.run(_serve(spec))
    except (InputError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    except OSError as exc:  # e.g. the usbmuxd or adb port is taken
        log.error("cannot start the cart: %s", exc)
        return 1
    return 0


async def _serve(spec: CartSpec) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with VirtualCart(spec) as cart:
            sys.stdout.write(json.dumps(cart.ready_info()) + "\n")
            sys.stdout.flush()
            await stop.wait()
            log.info("stopping the cart (state is in %s)", spec.state_dir)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def run_act(args: argparse.Namespace) -> int:
    """Send one person's action to the cart running with ``--state-dir``."""
    _setup_logging(False)
    action = args.action.replace("-", "_")
    try:
        result = control.request(args.state_dir, {"action": action, "slot": args.slot})
    except control.ControlError as exc:
        log.error("%s %d: %s", args.action, args.slot, exc)
        return 1
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Start a cart, show its devices as the real client tools see them, stop, exit 0."""
    _setup_logging(args.verbose)
    try:
        with _state_dir(args.state_dir) as state_dir:
            spec = spec_from_args(args, state_dir)
            report = asyncio.run(_demo(spec))
    except (InputError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    except OSError as exc:
        log.error("cannot start the cart: %s", exc)
        return 1
    sys.stdout.write(report)
    sys.stdout.flush()
    return 0


async def _demo(spec: CartSpec) -> str:
    async with VirtualCart(spec) as cart:
        info = cart.ready_info()
        # The real tools find the cart through these, exactly as printed by `sim serve`.
        os.environ.update(info["env"])
        log.info("cart ready; asking pymobiledevice3, adbutils, adb and pyusb what they see")

        async def tap_trust(udid: str) -> None:
            # The person at the cart taps Trust as soon as the prompt shows.
            for slot in cart.slots.values():
                if slot.ipad is not None and slot.ipad.udid == udid and slot.ipad.trust_prompt_open:
                    await cart.accept_trust(slot.number)

        view = await inspect_cart(info, spec.state_dir / "host-pair-records", trust=tap_trust)
        info = cart.ready_info()
    return render(view, info)
