"""Scenario files: what parses, and errors that name the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.errors import InputError
from station.sim.scenario import ScenarioError, Trigger, load_scenario, parse_scenario

GOOD = """
[cart]
ipads = 2
androids = 3
time_scale = 0.01

[slot.1]
passcode_locked = true
trust = "deny"

[slot.2]
setup_done = true
slow = 3.0

[slot.3]
serial = "0123456789ABCDEF"
accounts = ["com.google:lehrer@example.org"]

[slot.4]
serial = "0123456789ABCDEF"
usb_debugging = false

[slot.5]
adb_state = "unauthorized"
free_bytes = 100000000

[[event]]
at = 5.0
action = "accept_trust"
slot = 1

[[event]]
action = "unplug"
slot = 4
after = { step = "transfer", delay = 0.5 }

[[event]]
action = "plug"
slot = 4
after = { step = "unplug", delay = 2 }

[[event]]
action = "allow-usb-debugging"
slot = 5
after = { step = "service:com.apple.afc", slot = 1 }
"""


def test_a_full_scenario_parses() -> None:
    scenario = parse_scenario(GOOD, "good.toml")
    assert scenario.cart == {"ipads": 2, "androids": 3, "time_scale": 0.01}
    assert scenario.slots[1].passcode_locked is True
    assert scenario.slots[1].trust == "deny"
    assert scenario.slots[2].slow == 3.0
    assert scenario.slots[3].serial == scenario.slots[4].serial == "0123456789ABCDEF"
    assert scenario.slots[3].accounts == ("com.google:lehrer@example.org",)
    assert scenario.slots[4].usb_debugging is False
    assert scenario.slots[5].adb_state == "unauthorized"
    assert scenario.slots[5].free_bytes == 100_000_000
    first, unplug, plug, allow = scenario.events
    assert (first.action, first.slot, first.at, first.after) == ("accept_trust", 1, 5.0, None)
    assert unplug.after == Trigger("transfer", 0.5, None)
    assert plug.after == Trigger("unplug", 2.0, None)
    assert allow.action == "allow_usb_debugging"
    assert allow.after == Trigger("service:com.apple.afc", 0.0, 1)
    scenario.check_against(ipads=2, androids=3)


def test_load_scenario_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert len(load_scenario(path).events) == 4


@pytest.mark.parametrize(
    ("text", "location", "problem"),
    [
        ("[cart\n", "s.toml", "not valid TOML"),
        ("[carts]\n", "s.toml: carts", "unknown table"),
        ("[cart]\nipads = 'x'\n", "s.toml: cart.ipads", "whole number"),
        ("[cart]\nhubs = 0\n", "s.toml: cart.hubs", ">= 1"),
        ("[cart]\ncolour = 1\n", "s.toml: cart.colour", "unknown key"),
        ("[slot.0]\nslow = 2.0\n", "s.toml: slot.0", "numbers from 1"),
        ("[slot.x]\nslow = 2.0\n", "s.toml: slot.x", "slot numbers"),
        ("[slot.1]\ncolour = 'red'\n", "s.toml: slot.1.colour", "unknown key"),
        ("[slot.1]\ntrust = 'maybe'\n", "s.toml: slot.1.trust", '"accept"'),
        ("[slot.1]\npasscode_locked = 1\n", "s.toml: slot.1.passcode_locked", "true or false"),
        ("[slot.1]\nslow = true\n", "s.toml: slot.1.slow", "not a boolean"),
        ("[slot.1]\nslow = 0\n", "s.toml: slot.1.slow", ">= 0.01"),
        ("[slot.1]\naccounts = [1]\n", "s.toml: slot.1.accounts[0]", "a string"),
        ("[slot.1]\nserial = 'a b'\n", "s.toml: slot.1.serial", "without spaces"),
        ("[slot.1]\ntrust = 'accept'\naccounts = []\n", "s.toml: slot.1", "mixes"),
        ("[slot.1]\nadb_state = 'bootloader'\n", "s.toml: slot.1.adb_state", '"device"'),
        ("[[event]]\nslot = 1\nat = 1\n", "s.toml: event[0].action", "missing"),
        ("[[event]]\naction = 'dance'\nslot = 1\nat = 1\n", "s.toml: event[0].action", "unknown"),
        ("[[event]]\naction = 'plug'\nat = 1\n", "s.toml: event[0].slot", "missing"),
        ("[[event]]\naction = 'plug'\nslot = 1\n", "s.toml: event[0]", "exactly one"),
        ("[[event]]\naction = 'plug'\nslot = 1\nat = -1\n", "s.toml: event[0].at", ">= 0"),
        (
            "[[event]]\naction = 'plug'\nslot = 1\nafter = {delay = 1}\n",
            "s.toml: event[0].after.step",
            "missing",
        ),
        (
            "[[event]]\naction = 'plug'\nslot = 1\nafter = {step = 'x', when = 1}\n",
            "s.toml: event[0].after.when",
            "unknown key",
        ),
        ("[[event]]\naction = 'plug'\nslot = 1\nat = 1\nextra = 2\n", "s.toml: event[0].extra", ""),
        ("event = 3\n", "s.toml: event", "array of tables"),
    ],
)
def test_errors_name_the_key(text: str, location: str, problem: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.toml")
    assert info.value.location == location
    assert problem in info.value.problem
    assert isinstance(info.value, InputError)  # the station shows it as a person's mistake
    assert location in str(info.value)


@pytest.mark.parametrize(
    ("text", "location", "problem"),
    [
        ("[slot.9]\nslow = 2.0\n", "x: slot.9", "slots 1..4"),
        ("[slot.1]\naccounts = ['a']\n", "x: slot.1", "holds an ipad"),
        ("[slot.3]\npasscode_locked = true\n", "x: slot.3", "holds an android"),
        ("[slot.1]\nmodel = 'SM-X200'\n", "x: slot.1.model", "unknown ipad model"),
        ("[slot.3]\nmodel = 'SM-X200'\n", "", ""),
        ("[[event]]\naction = 'plug'\nslot = 5\nat = 1\n", "x: event[0].slot", "slots 1..4"),
        (
            "[[event]]\naction = 'plug'\nslot = 1\nafter = {step = 'unplug', slot = 7}\n",
            "x: event[0].after.slot",
            "slots 1..4",
        ),
    ],
)
def test_checked_against_the_cart(text: str, location: str, problem: str) -> None:
    scenario = parse_scenario(text, "x")
    if not location:
        scenario.check_against(ipads=2, androids=2)
        return
    with pytest.raises(ScenarioError) as info:
        scenario.check_against(ipads=2, androids=2)
    assert info.value.location == location
    assert problem in info.value.problem


def test_unreadable_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ScenarioError, match="UTF-8"):
        load_scenario(binary)


def test_the_shipped_example_scenario_loads() -> None:
    """resources/scenarios/faults.toml is what docs/virtual-cart.md points people at."""
    path = Path(__file__).parents[2] / "resources" / "scenarios" / "faults.toml"
    scenario = load_scenario(path)
    assert scenario.slots[5].accounts == ("com.google:lehrer@example.org",)
    assert scenario.slots[6].serial == scenario.slots[7].serial
    assert {e.action for e in scenario.events} == {"accept_trust", "unplug", "plug"}
