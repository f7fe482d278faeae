"""The iOS driver keeps one lockdown session per iPad between calls, and never a stale one.

Counted at the emulated iPad: how many lockdown sessions a host started on it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from station.drivers import ios as ios_module
from station.drivers.base import Presence
from station.drivers.ios import UsbmuxIosDriver, render_wallpaper
from station.errors import DeviceRefused
from station.sim.artifacts.ios import make_ipa
from station.sim.cart import VirtualCart
from station.sim.ios.usbmux import UsbmuxServer
from station.sim.scenario import SlotOverride
from tests.drivers.conftest import StartCart
from tests.drivers.test_ios_driver import ios_driver, udid

pytestmark = pytest.mark.timeout(60)


@dataclass
class Paired:
    """One trusting iPad on a cart, paired with the driver under test."""

    cart: VirtualCart
    usbmux: UsbmuxServer
    handle: str
    driver: UsbmuxIosDriver


@pytest.fixture
async def paired(start_cart: StartCart, tmp_path: Path) -> AsyncIterator[Paired]:
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept")})
    assert cart.usbmux is not None
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    try:
        assert await driver.pair(handle) is Presence.READY
        yield Paired(cart, cart.usbmux, handle, driver)
    finally:
        await driver.close()


async def test_one_session_serves_a_tablets_calls(paired: Paired) -> None:
    driver, handle = paired.driver, paired.handle
    await driver.rename(handle, "Tablet 0042")  # the session kept from here on
    started = paired.usbmux.sessions_started(handle)
    assert await driver.device_name(handle) == "Tablet 0042"
    assert await driver.installed_apps(handle) == {}
    assert not (await driver.supervision(handle)).supervised
    await driver.profiles(handle)
    info = await driver.info(handle)
    # The values are asked again, not those read when the session began.
    assert info.name == "Tablet 0042"
    assert paired.usbmux.sessions_started(handle) == started


async def test_a_session_the_ipad_dropped_is_replaced(paired: Paired) -> None:
    driver, handle = paired.driver, paired.handle
    await driver.rename(handle, "Vorher")
    started = paired.usbmux.sessions_started(handle)
    paired.usbmux.drop_connections(handle)  # lockdownd restarts on the iPad
    await driver.rename(handle, "Nachher")  # not an error: a new session
    assert await driver.device_name(handle) == "Nachher"
    assert paired.usbmux.sessions_started(handle) == started + 1


async def test_a_replugged_ipad_gets_a_new_session(paired: Paired) -> None:
    driver, handle = paired.driver, paired.handle
    await driver.rename(handle, "Erst")
    await paired.cart.unplug(1)
    await paired.cart.plug(1)
    assert await driver.device_name(handle) == "Erst"
    assert paired.usbmux.sessions_started(handle) == 1  # counted per attachment


async def test_calls_at_the_same_time_do_not_share_a_session(paired: Paired) -> None:
    driver, handle = paired.driver, paired.handle
    await driver.rename(handle, "Parallel")
    started = paired.usbmux.sessions_started(handle)
    results = await asyncio.gather(
        driver.device_name(handle),
        driver.installed_apps(handle),
        driver.profiles(handle),
        driver.activation_state(handle),
    )
    assert results[0] == "Parallel"
    assert results[1] == {}
    # One call had the kept session; each of the others opened its own.
    assert paired.usbmux.sessions_started(handle) == started + 3
    # Still one kept session afterwards, and it works.
    assert await driver.device_name(handle) == "Parallel"
    assert paired.usbmux.sessions_started(handle) == started + 3


async def test_an_error_drops_the_session(paired: Paired, tmp_path: Path) -> None:
    driver, handle = paired.driver, paired.handle
    broken = tmp_path / "broken.ipa"
    broken.write_bytes(b"PK\x03\x04 this is not an app")
    assert await driver.device_name(handle)
    started = paired.usbmux.sessions_started(handle)
    with pytest.raises(DeviceRefused):
        await driver.install_app(handle, broken)
    assert await driver.device_name(handle)
    assert paired.usbmux.sessions_started(handle) == started + 1


async def test_an_idle_session_is_closed(
    paired: Paired, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ios_module, "SESSION_IDLE", 0.0)
    driver, handle = paired.driver, paired.handle
    ipa = make_ipa(tmp_path / "a.ipa", "org.school.a", "1", "1.0", "A", 1000)
    assert await driver.device_name(handle)
    started = paired.usbmux.sessions_started(handle)
    await asyncio.sleep(0.01)
    await driver.install_app(handle, ipa)
    await asyncio.sleep(0.01)
    assert "org.school.a" in await driver.installed_apps(handle)
    assert paired.usbmux.sessions_started(handle) == started + 2  # none was reused


async def test_pairing_runs_off_the_loop_and_the_identity_is_parsed_once(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key generation and the identity's key load are CPU work: never on the loop's thread,
    and the identity is parsed once per driver, not at every silent install."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from station.secrets import generate_supervision_identity
    from station.sim.artifacts.ios import make_wifi_profile

    identity = generate_supervision_identity("Schule").to_pem().encode()
    threads: dict[str, list[str]] = {"generate": [], "load": []}
    generate, load = rsa.generate_private_key, serialization.load_pem_private_key

    def counted_generate(*args: object, **kwargs: object) -> object:
        threads["generate"].append(threading.current_thread().name)
        return generate(*args, **kwargs)  # type: ignore[arg-type]

    def counted_load(*args: object, **kwargs: object) -> object:
        threads["load"].append(threading.current_thread().name)
        return load(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rsa, "generate_private_key", counted_generate)
    monkeypatch.setattr(serialization, "load_pem_private_key", counted_load)
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept", activated=True)})
    handle = udid(cart, 1)
    first = ios_driver(cart, tmp_path / "pair")
    try:
        assert await first.pair(handle) is Presence.READY
        await first.supervise(handle, organization="Schule", identity=identity, skip_setup=())
    finally:
        await first.close()
    ipad = cart.slots[1].ipad
    assert ipad is not None
    ipad.paired_hosts.clear()  # the iPad forgets the station: supervised pairing from here
    threads["load"].clear()
    driver = ios_driver(cart, tmp_path / "pair")
    try:
        assert await driver.pair(handle, identity=identity) is Presence.READY
        assert not ipad.trust_prompt_open
        for n in range(3):
            payload = make_wifi_profile(f"WLAN {n}", "secret-pw", identifier=f"org.school.wlan{n}")
            await driver.install_profile(handle, payload, identity=identity)
        await driver.set_wallpaper(handle, render_wallpaper("0042", "Schule"), identity=identity)
        names = {p.identifier for p in await driver.profiles(handle)}
        assert {f"org.school.wlan{n}" for n in range(3)} <= names
    finally:
        await driver.close()
    loop_thread = threading.current_thread().name
    assert threads["generate"], "pairing made its keys"
    assert loop_thread not in threads["generate"]
    # One parse on the loop's thread for 3 silent installs and a wallpaper (the pairing
    # thread parses its own copy for pymobiledevice3's supervised pairing).
    assert threads["load"].count(loop_thread) == 1
