"""Scenarios: a TOML file that gives a virtual cart awkward devices and a person's timed actions.

::

    [cart]                       # optional; command-line options win
    ipads = 4
    androids = 4

    [slot.2]                     # per-slot device overrides (slots are numbered from 1)
    passcode_locked = true

    [slot.6]
    serial = "0123456789ABCDEF"  # two tablets with the same serial: give two slots this
    accounts = ["com.google:lehrer@example.org"]  # a Google account: no device owner

    [[event]]                    # a person taps Trust 5 device-seconds after the start
    at = 5.0
    action = "accept_trust"
    slot = 1

    [[event]]                    # someone pulls the cable while slot 3 copies an app
    action = "unplug"
    slot = 3
    after = { step = "transfer", delay = 0.5 }

Slot keys: ``kind``, ``model``, ``serial``, ``free_bytes`` (storage nearly full), ``slow``
(device timings times this); iPads: ``trust`` (accept/prompt/deny), ``passcode_locked``,
``setup_done``, ``activated``, ``activation_lock``, ``recovery``, ``device_name``; Android:
``accounts``, ``usb_debugging``, ``adb_state`` (device/unauthorized/offline). Overrides
shape a cart when it is created; a cart loaded from its state directory keeps its devices.

Steps an ``after`` can wait for are the cart's milestones for a slot: ``transfer`` (a file
transfer over that slot's USB link began), ``service:<lockdown service name>`` (an iPad
service was started), ``install`` (an app install began: installation_proxy started on an
iPad; on Android any transfer, since the APK always crosses USB first), ``trust_prompt``
(the iPad shows "Trust This Computer?"), ``restart`` / ``booted`` (an iPad restarting by
itself, e.g. after an erase), and the cart's own actions (``unplug``, ``plug``, ``reboot``,
``accept_trust`` ...).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from station.errors import InputError
from station.sim.android.device import ANDROID_MODELS
from station.sim.ios.device import IPAD_MODELS

ACTIONS = (
    "accept_trust",
    "deny_trust",
    "allow_usb_debugging",
    "usb_debugging_off",
    "unplug",
    "plug",
    "reboot",
    "set_recovery",
)

DeviceKind = Literal["ipad", "android"]

_SLOT_KEYS = {
    "kind",
    "model",
    "serial",
    "trust",
    "passcode_locked",
    "setup_done",
    "activated",
    "recovery",
    "free_bytes",
    "slow",
    "accounts",
    "usb_debugging",
    "adb_state",
    "device_name",
    "activation_lock",
}
_IPAD_ONLY = {
    "trust",
    "passcode_locked",
    "setup_done",
    "activated",
    "recovery",
    "device_name",
    "activation_lock",
}
_ANDROID_ONLY = {"accounts", "usb_debugging", "adb_state"}
_CART_KEYS = {"ipads", "androids", "hubs", "ports_per_hub", "time_scale", "seed"}


class ScenarioError(InputError):
    """A scenario file that does not parse or validate; ``location`` names file and key."""

    def __init__(self, location: str, problem: str) -> None:
        super().__init__(f"{location}: {problem}", hint="fix the scenario file and start again")
        self.location = location
        self.problem = problem


@dataclass(frozen=True)
class SlotOverride:
    """How the device in one slot differs from a factory-fresh one (None: keep default)."""

    kind: DeviceKind | None = None
    model: str | None = None
    serial: str | None = None
    trust: Literal["accept", "prompt", "deny"] | None = None
    passcode_locked: bool | None = None
    setup_done: bool | None = None
    activated: bool | None = None
    recovery: bool = False
    free_bytes: int | None = None  # storage nearly full: a small number
    slow: float = 1.0  # device timings multiplied by this
    accounts: tuple[str, ...] | None = None
    usb_debugging: bool | None = None
    adb_state: Literal["device", "unauthorized", "offline"] | None = None
    device_name: str | None = None
    activation_lock: bool = False  # still on someone's Apple account (Find My)

    def applies_to(self) -> DeviceKind | None:
        """The kind of device these keys only make sense for (None: either)."""
        if self.kind is not None:
            return self.kind
        if self.trust or self.passcode_locked is not None or self.setup_done is not None:
            return "ipad"
        if self.activated is not None or self.recovery or self.device_name is not None:
            return "ipad"
        if self.activation_lock:
            return "ipad"
        if self.accounts is not None or self.usb_debugging is not None or self.adb_state:
            return "android"
        return None


@dataclass(frozen=True)
class Trigger:
    """Fire when ``step`` happened on ``slot`` (the event's slot when None), then ``delay``."""

    step: str
    delay: float = 0.0
    slot: int | None = None


@dataclass(frozen=True)
class Event:
    """One action a person (or a fault) performs on a slot, at a time or after a milestone."""

    action: str
    slot: int
    at: float | None = None
    after: Trigger | None = None


@dataclass(frozen=True)
class Scenario:
    """Parsed scenario: optional cart defaults, per-slot overrides and timed events."""

    cart: dict[str, Any] = field(default_factory=dict)
    slots: dict[int, SlotOverride] = field(default_factory=dict)
    events: tuple[Event, ...] = ()
    source: str = "<scenario>"

    def check_against(self, ipads: int, androids: int) -> None:
        """Raise :class:`ScenarioError` if a slot or kind does not exist on this cart."""
        total = ipads + androids
        for slot, override in self.slots.items():
            where = f"{self.source}: slot.{slot}"
            if not 1 <= slot <= total:
                raise ScenarioError(where, f"the cart has slots 1..{total}")
            kind: DeviceKind = "ipad" if slot <= ipads else "android"
            wanted = override.applies_to()
            if wanted is not None and wanted != kind:
                raise ScenarioError(where, f"slot {slot} holds an {kind}, these keys need {wanted}")
            if override.model is not None:
                models = IPAD_MODELS if kind == "ipad" else ANDROID_MODELS
                if override.model not in models:
                    raise ScenarioError(
                        f"{where}.model", f"unknown {kind} model; known: {', '.join(models)}"
                    )
        for i, event in enumerate(self.events):
            where = f"{self.source}: event[{i}]"
            watched = event.after.slot if event.after else None
            for key, number in (("slot", event.slot), ("after.slot", watched)):
                if number is not None and not 1 <= number <= total:
                    raise ScenarioError(f"{where}.{key}", f"the cart has slots 1..{total}")


def _type_name(value: object) -> str:
    return type(value).__name__


def _want(where: str, value: object, kind: type | tuple[type, ...], what: str) -> Any:
    # bool is an int in Python; TOML keeps them apart, so do we.
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ScenarioError(where, f"must be {what}, not a boolean")
    if not isinstance(value, kind):
        raise ScenarioError(where, f"must be {what}, not {_type_name(value)}")
    return value


def _number(where: str, value: object, *, minimum: float = 0.0) -> float:
    number = float(_want(where, value, (int, float), "a number"))
    if number < minimum:
        raise ScenarioError(where, f"must be >= {minimum:g}")
    return number


def _slot_number(where: str, value: object) -> int:
    slot = int(_want(where, value, int, "a slot number"))
    if slot < 1:
        raise ScenarioError(where, "slots are numbered from 1")
    return slot


def _parse_slot(where: str, table: object) -> SlotOverride:
    raw = _want(where, table, dict, "a table")
    unknown = sorted(set(raw) - _SLOT_KEYS)
    if unknown:
        raise ScenarioError(
            f"{where}.{unknown[0]}", f"unknown key; known: {', '.join(sorted(_SLOT_KEYS))}"
        )
    if set(raw) & _IPAD_ONLY and set(raw) & _ANDROID_ONLY:
        raise ScenarioError(where, "mixes iPad-only and Android-only keys")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        at = f"{where}.{key}"
        if key == "kind":
            if value not in ("ipad", "android"):
                raise ScenarioError(at, 'must be "ipad" or "android"')
            values[key] = value
        elif key in ("model", "serial", "device_name"):
            text = str(_want(at, value, str, "a string"))
            if not text or (key == "serial" and any(c.isspace() for c in text)):
                raise ScenarioError(at, "must be a non-empty string without spaces")
            values[key] = text
        elif key == "trust":
            if value not in ("accept", "prompt", "deny"):
                raise ScenarioError(at, 'must be "accept", "prompt" or "deny"')
            values[key] = value
        elif key == "adb_state":
            if value not in ("device", "unauthorized", "offline"):
                raise ScenarioError(at, 'must be "device", "unauthorized" or "offline"')
            values[key] = value
        elif key in (
            "passcode_locked",
            "setup_done",
            "activated",
            "recovery",
            "usb_debugging",
            "activation_lock",
        ):
            values[key] = _want(at, value, bool, "true or false")
        elif key == "free_bytes":
            values[key] = int(_number(at, _want(at, value, int, "a whole number of bytes")))
        elif key == "slow":
            values[key] = _number(at, value, minimum=0.01)
        elif key == "accounts":
            items = _want(at, value, list, "a list of strings")
            for n, item in enumerate(items):
                _want(f"{at}[{n}]", item, str, "a string")
            values[key] = tuple(items)
    return SlotOverride(**values)


def _parse_event(where: str, table: object) -> Event:
    raw = _want(where, table, dict, "a table")
    unknown = sorted(set(raw) - {"action", "slot", "at", "after"})
    if unknown:
        raise ScenarioError(f"{where}.{unknown[0]}", "unknown key; known: action, after, at, slot")
    if "action" not in raw:
        raise ScenarioError(f"{where}.action", "missing")
    action = _want(f"{where}.action", raw["action"], str, "a string").replace("-", "_")
    if action not in ACTIONS:
        raise ScenarioError(f"{where}.action", f"unknown action; known: {', '.join(ACTIONS)}")
    if "slot" not in raw:
        raise ScenarioError(f"{where}.slot", "missing")
    slot = _slot_number(f"{where}.slot", raw["slot"])
    if ("at" in raw) == ("after" in raw):
        raise ScenarioError(where, 'give exactly one of "at" or "after"')
    if "at" in raw:
        return Event(action, slot, at=_number(f"{where}.at", raw["at"]))
    after = _want(f"{where}.after", raw["after"], dict, "a table")
    unknown = sorted(set(after) - {"step", "delay", "slot"})
    if unknown:
        raise ScenarioError(f"{where}.after.{unknown[0]}", "unknown key; known: delay, slot, step")
    if "step" not in after:
        raise ScenarioError(f"{where}.after.step", "missing")
    step = str(_want(f"{where}.after.step", after["step"], str, "a string")).replace("-", "_")
    if not step:
        raise ScenarioError(f"{where}.after.step", "must not be empty")
    delay = _number(f"{where}.after.delay", after.get("delay", 0.0))
    watch = _slot_number(f"{where}.after.slot", after["slot"]) if "slot" in after else None
    return Event(action, slot, after=Trigger(step, delay, watch))


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Parse and validate scenario TOML; every error names the offending key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(source, f"not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"cart", "slot", "event"})
    if unknown:
        raise ScenarioError(f"{source}: {unknown[0]}", "unknown table; known: cart, event, slot")
    cart = _want(f"{source}: cart", data.get("cart", {}), dict, "a table")
    for key, value in cart.items():
        at = f"{source}: cart.{key}"
        if key not in _CART_KEYS:
            raise ScenarioError(at, f"unknown key; known: {', '.join(sorted(_CART_KEYS))}")
        if key == "time_scale":
            _number(at, value)
        else:
            _want(at, value, int, "a whole number")
            _number(at, value, minimum=1 if key in ("hubs", "ports_per_hub") else 0)
    slots: dict[int, SlotOverride] = {}
    raw_slots = _want(f"{source}: slot", data.get("slot", {}), dict, "a table of slots")
    for key, table in raw_slots.items():
        where = f"{source}: slot.{key}"
        if not key.isdigit() or int(key) < 1:
            raise ScenarioError(where, "slot keys are slot numbers from 1, e.g. [slot.3]")
        slots[int(key)] = _parse_slot(where, table)
    raw_events = _want(f"{source}: event", data.get("event", []), list, "an array of tables")
    events = tuple(_parse_event(f"{source}: event[{i}]", e) for i, e in enumerate(raw_events))
    return Scenario(dict(cart), slots, events, source)


def load_scenario(path: Path) -> Scenario:
    """Read and parse a scenario file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(str(path), "not UTF-8 text") from exc
    return parse_scenario(text, str(path))
