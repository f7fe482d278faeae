"""The iPad driver against the virtual cart, through pymobiledevice3 and usbmuxd's wire."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import plistlib
import stat
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from PIL import Image
from pymobiledevice3 import exceptions as pmd3
from pymobiledevice3.service_connection import ServiceConnection

from station.drivers.base import (
    DeviceEvent,
    EventKind,
    IosDriver,
    Platform,
    Presence,
    Progress,
    WallpaperWhere,
)
from station.drivers.ios import IosSettings, UsbmuxIosDriver, _keybag, render_wallpaper
from station.errors import (
    DeviceError,
    DeviceGone,
    DeviceProtocolError,
    DeviceRefused,
    UserActionRequired,
)
from station.secrets import generate_supervision_identity
from station.sim.artifacts.ios import make_ipa, make_wifi_profile
from station.sim.cart import VirtualCart
from station.sim.scenario import SlotOverride
from tests.drivers.conftest import StartCart

pytestmark = pytest.mark.timeout(60)

ORG = "Gesamtschule Nord"
SKIP = ("Location", "Siri", "Privacy", "AppleID")


def ios_driver(cart: VirtualCart, folder: Path, **kw: object) -> UsbmuxIosDriver:
    assert cart.activation is not None
    settings = IosSettings(
        pair_records=folder,
        usbmux_address=cart.ready_info()["usbmux"],
        activation_server=cart.activation.url,
        **kw,  # type: ignore[arg-type]
    )
    return UsbmuxIosDriver(settings)


def udid(cart: VirtualCart, slot: int) -> str:
    ipad = cart.slots[slot].ipad
    assert ipad is not None
    return ipad.udid


async def next_event(
    events: AsyncIterator[DeviceEvent], kind: EventKind | None = None
) -> DeviceEvent:
    async with asyncio.timeout(20):
        async for event in events:
            if kind is None or event.kind is kind:
                return event
    raise AssertionError("watch ended")


@pytest.fixture(scope="module")
def identity() -> bytes:
    return generate_supervision_identity(ORG).to_pem().encode()


async def test_watch_reports_ipads_with_location_and_follows_the_cable(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(ipads=2)
    driver = ios_driver(cart, tmp_path / "pair")
    assert isinstance(driver, IosDriver)
    async with contextlib.aclosing(driver.watch()) as events:
        seen = {}
        for _ in range(2):
            event = await next_event(events)
            assert event.kind is EventKind.ATTACHED
            assert event.platform is Platform.IOS
            seen[event.handle] = event
        for slot in (1, 2):
            attachment = cart.slots[slot].attachment
            assert attachment is not None
            assert seen[udid(cart, slot)].location_id == attachment.location_id
            assert seen[udid(cart, slot)].presence is Presence.READY

        await cart.unplug(1)
        gone = await next_event(events)
        assert (gone.kind, gone.handle) == (EventKind.DETACHED, udid(cart, 1))

        await cart.plug(1)
        back = await next_event(events)
        attachment = cart.slots[1].attachment
        assert attachment is not None
        assert (back.kind, back.handle) == (EventKind.ATTACHED, udid(cart, 1))
        # A re-plug is a new bus address, so a new LocationID.
        assert back.location_id == attachment.location_id != seen[udid(cart, 1)].location_id
    assert {e.handle for e in await driver.devices()} == {udid(cart, 1), udid(cart, 2)}
    await driver.close()


async def test_pairing_waits_for_trust_and_then_gives_identity(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(ipads=1)
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    async with contextlib.aclosing(driver.watch()) as events:
        await next_event(events, EventKind.ATTACHED)
        with pytest.raises(UserActionRequired) as not_paired:
            await driver.rename(handle, "x")
        assert "Trust" in not_paired.value.hint

        assert await driver.pair(handle) is Presence.NEEDS_TRUST
        changed = await next_event(events, EventKind.CHANGED)
        assert changed.presence is Presence.NEEDS_TRUST
        assert changed.hint == "Unlock the iPad and tap Trust"
        ipad = cart.slots[1].ipad
        assert ipad is not None
        assert ipad.trust_prompt_open

        await cart.accept_trust(1)
        assert await driver.pair(handle) is Presence.READY
        assert (await next_event(events, EventKind.CHANGED)).presence is Presence.READY
        assert await driver.pair(handle) is Presence.READY  # idempotent, no new prompt

    info = await driver.info(handle)
    attachment = cart.slots[1].attachment
    assert attachment is not None
    assert info.udid == handle
    assert info.serial == ipad.serial
    assert info.model == ipad.model.product_type
    assert info.os_version == ipad.product_version
    assert info.location_id == attachment.location_id
    assert info.activation_state == "Unactivated"
    # The pair record lives in the station's folder, and usbmuxd got a copy.
    assert (tmp_path / "pair" / f"{handle}.plist").is_file()
    assert cart.usbmux is not None


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        (SlotOverride(trust="deny"), Presence.TRUST_DENIED),
        (SlotOverride(passcode_locked=True), Presence.LOCKED),
    ],
)
async def test_pairing_outcomes_needing_a_person_are_states(
    start_cart: StartCart, tmp_path: Path, override: SlotOverride, expected: Presence
) -> None:
    cart = await start_cart(ipads=1, slots={1: override})
    driver = ios_driver(cart, tmp_path / "pair")
    presence = await driver.pair(udid(cart, 1))
    assert presence is expected
    assert presence.needs_person
    assert presence.hint


async def test_supervise_then_supervised_pairing_profiles_apps_wallpaper(
    start_cart: StartCart, tmp_path: Path, identity: bytes
) -> None:
    cart = await start_cart(ipads=1, slots={1: SlotOverride(activated=True)})
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    assert await driver.pair(handle) is Presence.NEEDS_TRUST
    await cart.accept_trust(1)
    assert await driver.pair(handle) is Presence.READY

    assert (await driver.supervision(handle)).supervised is False
    await driver.supervise(handle, organization=ORG, identity=identity, skip_setup=SKIP)
    state = await driver.supervision(handle)
    assert state.supervised
    assert state.organization == ORG
    assert state.skip_setup == SKIP
    cert_sha = hashlib.sha256(_cert_der(identity)).hexdigest()
    assert state.supervisor_cert_sha256 == (cert_sha,)
    await driver.supervise(handle, organization=ORG, identity=identity, skip_setup=SKIP)  # no-op
    with pytest.raises(DeviceRefused) as already:
        await driver.supervise(handle, organization="Other", identity=identity, skip_setup=())
    assert "14002" in already.value.message
    assert "Erase" in already.value.hint

    # The iPad forgets this station (as after "Reset Location & Privacy"); with the
    # supervision identity the station pairs again without anyone tapping Trust.
    ipad = cart.slots[1].ipad
    assert ipad is not None
    ipad.paired_hosts.clear()
    other = ios_driver(cart, tmp_path / "pair")
    with pytest.raises(UserActionRequired):
        await other.rename(handle, "x")
    assert await other.pair(handle, identity=identity) is Presence.READY
    assert not ipad.trust_prompt_open
    assert len(ipad.paired_hosts) == 1

    profile = make_wifi_profile("SchoolNet", "secret", identifier="org.school.wifi")
    await other.install_profile(handle, profile, identity=identity)
    profiles = await other.profiles(handle)
    assert [p.identifier for p in profiles] == ["org.school.wifi"]
    assert profiles[0].display_name == "Wi-Fi SchoolNet"
    assert ipad.profiles["org.school.wifi"].silent

    ipa = make_ipa(tmp_path / "reader.ipa", "org.school.reader", "42", "1.2", "Reader")
    seen: list[Progress] = []
    await other.install_app(handle, ipa, seen.append)
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert fractions[0] == 0.0
    assert fractions[-1] == 1.0
    assert len(fractions) >= 3
    apps = await other.installed_apps(handle)
    assert apps["org.school.reader"].version == "42"
    assert apps["org.school.reader"].display_version == "1.2"

    await other.rename(handle, "NORD-0042")
    assert await other.device_name(handle) == "NORD-0042"
    assert (await driver.info(handle)).name == "NORD-0042"

    image = render_wallpaper("NORD-0042", ORG, size=(300, 400))
    with Image.open(io.BytesIO(image)) as decoded:
        assert (decoded.format, decoded.size) == ("PNG", (300, 400))
        assert decoded.convert("L").getextrema()[1] > 200  # white text on a dark ground
    await other.set_wallpaper(handle, image, identity=identity, where=WallpaperWhere.LOCK_SCREEN)
    assert ipad.wallpapers == {1: hashlib.sha256(image).hexdigest()}

    await other.remove_profile(handle, "org.school.wifi", identity=identity)
    assert await other.profiles(handle) == []


async def test_wallpaper_and_silent_install_need_the_identity(
    start_cart: StartCart, tmp_path: Path, identity: bytes
) -> None:
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept", activated=True)})
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    assert await driver.pair(handle) is Presence.READY
    stranger = generate_supervision_identity("Someone else").to_pem().encode()
    image = render_wallpaper("X-1", ORG, size=(120, 160))
    # Not supervised: escalation is refused with the device's own words.
    with pytest.raises(DeviceRefused) as refused:
        await driver.set_wallpaper(handle, image, identity=identity)
    assert "CertificateRejected" in refused.value.message
    await driver.supervise(handle, organization=ORG, identity=identity, skip_setup=())
    with pytest.raises(DeviceRefused):
        await driver.install_profile(
            handle, make_wifi_profile("n", identifier="org.x"), identity=stranger
        )
    assert await driver.profiles(handle) == []


async def test_erase_returns_factory_fresh_and_activates_against_the_stand_in(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept", setup_done=True)})
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    async with contextlib.aclosing(driver.watch()) as events:
        await next_event(events, EventKind.ATTACHED)
        assert await driver.pair(handle) is Presence.READY
        await driver.rename(handle, "old name")
        assert await driver.activation_state(handle) == "Activated"
        await driver.activate(handle)  # already activated: nothing to do
        assert cart.activation is not None
        assert cart.activation.requests == []

        await driver.erase(handle)
        gone = await next_event(events, EventKind.DETACHED)
        assert gone.handle == handle
        back = await next_event(events, EventKind.ATTACHED)
        assert back.handle == handle

    assert await driver.activation_state(handle) == "Unactivated"
    assert await driver.device_name(handle) == "iPad"
    # The old pairing went with the erase: the station pairs again.
    with pytest.raises(UserActionRequired):
        await driver.activate(handle)
    assert await driver.pair(handle) is Presence.READY
    await driver.activate(handle)
    assert await driver.activation_state(handle) == "Activated"
    assert cart.activation.requests == [handle]


async def test_activation_lock_is_a_persons_problem(start_cart: StartCart, tmp_path: Path) -> None:
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept")})
    handle = udid(cart, 1)
    assert cart.activation is not None
    cart.activation.locked = {handle}
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    with pytest.raises(UserActionRequired) as locked:
        await driver.activate(handle)
    assert "Activation Lock" in locked.value.message
    assert await driver.activation_state(handle) == "Unactivated"


async def test_broken_app_is_refused_with_the_devices_text(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept")})
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    bad = tmp_path / "broken.ipa"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DeviceRefused) as refused:
        await driver.install_app(handle, bad)
    assert "PackageExtractionFailed" in refused.value.message  # installd's own words
    assert refused.value.device == handle
    assert await driver.installed_apps(handle) == {}


async def test_unplugged_ipad_is_gone(start_cart: StartCart, tmp_path: Path) -> None:
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept")})
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    await cart.unplug(1)
    with pytest.raises(DeviceGone) as gone:
        await driver.info(handle)
    assert gone.value.device == handle
    assert gone.value.hint


async def test_usbmuxd_garbage_is_a_protocol_error(tmp_path: Path) -> None:
    async def babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(
            b"\x20\x00\x00\x00\x01\x00\x00\x00\x08\x00\x00\x00\x01\x00\x00\x00" + b"x" * 16
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(babble, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        driver = UsbmuxIosDriver(
            IosSettings(pair_records=tmp_path / "p", usbmux_address=f"127.0.0.1:{port}")
        )
        with pytest.raises(DeviceProtocolError):
            await driver.devices()
        with pytest.raises(DeviceProtocolError):
            async with contextlib.aclosing(driver.watch()) as events:
                await next_event(events)
    finally:
        server.close()
        await server.wait_closed()


async def test_missing_usbmuxd_says_so(tmp_path: Path) -> None:
    driver = UsbmuxIosDriver(
        IosSettings(pair_records=tmp_path / "p", usbmux_address=str(tmp_path / "no-socket"))
    )
    with pytest.raises(DeviceError) as missing:
        await driver.devices()
    assert "usbmuxd" in missing.value.hint


def test_keybag_file_is_private_and_removed(identity: bytes) -> None:
    with _keybag(identity) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert path.read_bytes() == identity
    assert not path.exists()


def _cert_der(identity: bytes) -> bytes:
    return x509.load_pem_x509_certificate(identity).public_bytes(Encoding.DER)


@pytest.mark.device
async def test_real_usbmuxd_lists_ipads(tmp_path: Path) -> None:
    """On a station with usbmuxd and an iPad: discovery and identity from a real device."""
    driver = UsbmuxIosDriver(IosSettings(pair_records=tmp_path / "pair"))
    devices = await driver.devices()
    if not devices:
        pytest.skip("no iPad attached")
    info = await driver.info(devices[0].handle)
    assert info.model.startswith(("iPad", "iPhone"))
    assert info.os_version


async def test_unplug_mid_install_is_device_gone(start_cart: StartCart, tmp_path: Path) -> None:
    cart = await start_cart(
        ipads=1, time_scale=1.0, slots={1: SlotOverride(trust="accept", slow=20)}
    )
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    ipa = make_ipa(tmp_path / "big.ipa", "org.school.big", "1", "1", "Big", 2_000_000)
    install = asyncio.ensure_future(driver.install_app(handle, ipa))
    await cart.wait_milestone(1, "transfer")
    await cart.unplug(1)
    with pytest.raises(DeviceGone) as gone:
        await install
    assert gone.value.device == handle
    ipad = cart.slots[1].ipad
    assert ipad is not None
    assert "org.school.big" not in ipad.apps


async def test_watch_ends_with_an_error_when_usbmuxd_dies(
    start_cart: StartCart, tmp_path: Path
) -> None:
    cart = await start_cart(ipads=1)
    driver = ios_driver(cart, tmp_path / "pair")
    assert cart.usbmux is not None
    async with contextlib.aclosing(driver.watch()) as events:
        await next_event(events, EventKind.ATTACHED)
        await cart.usbmux.stop()
        with pytest.raises(DeviceError) as ended:
            await next_event(events)
    assert "usbmuxd" in ended.value.hint


async def test_bad_records_on_the_listen_stream_are_protocol_errors(tmp_path: Path) -> None:
    def frame(message: dict[str, object], tag: int) -> bytes:
        body = plistlib.dumps(message)
        return struct.pack("<IIII", 16 + len(body), 1, 8, tag) + body

    async def fake_usbmuxd(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(4096)
        writer.write(frame({"MessageType": "Result", "Number": 0}, 1))
        writer.write(frame({"MessageType": "Attached", "Properties": {"ConnectionType": "USB"}}, 0))
        await writer.drain()
        await reader.read(1)
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(fake_usbmuxd, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        driver = UsbmuxIosDriver(
            IosSettings(pair_records=tmp_path / "p", usbmux_address=f"127.0.0.1:{port}")
        )
        with pytest.raises(DeviceProtocolError, match="Attached record"):
            async with contextlib.aclosing(driver.watch()) as events:
                await next_event(events)
    finally:
        server.close()
        await server.wait_closed()


async def test_usbmuxd_address_comes_from_the_environment(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await start_cart(ipads=1)
    monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", cart.ready_info()["usbmux"])
    driver = UsbmuxIosDriver(IosSettings(pair_records=tmp_path / "p"))
    assert [e.handle for e in await driver.devices()] == [udid(cart, 1)]


async def test_install_with_progress_prints_nothing(
    start_cart: StartCart, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """No library progress bar on stdout/stderr: it would tear through the CLI's live table."""
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept")})
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    await driver.pair(handle)
    ipa = make_ipa(tmp_path / "reader.ipa", "org.school.reader", "7", "7.0", "Reader", 9_000_000)
    capfd.readouterr()
    seen: list[Progress] = []
    await driver.install_app(handle, ipa, seen.append)
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions)
    assert any(
        0.0 < f <= 0.5 and "Uploading" in p.detail for f, p in zip(fractions, seen, strict=True)
    )
    assert fractions[-1] == 1.0
    assert "org.school.reader" in await driver.installed_apps(handle)


async def test_unplug_mid_install_leaves_no_unretrieved_errors(
    start_cart: StartCart, tmp_path: Path
) -> None:
    """Every future the install made has its error seen ("never retrieved" logs stay away)."""
    import gc

    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, object]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    try:
        cart = await start_cart(
            ipads=1, time_scale=1.0, slots={1: SlotOverride(trust="accept", slow=20)}
        )
        handle = udid(cart, 1)
        driver = ios_driver(cart, tmp_path / "pair")
        await driver.pair(handle)
        ipa = make_ipa(tmp_path / "big.ipa", "org.school.big", "1", "1", "Big", 2_000_000)
        install = asyncio.ensure_future(driver.install_app(handle, ipa))
        await cart.wait_milestone(1, "transfer")
        await cart.unplug(1)
        with pytest.raises(DeviceGone):
            await install
        del install
        for _ in range(3):
            await asyncio.sleep(0)
            gc.collect()
    finally:
        loop.set_exception_handler(previous)
    assert not [c for c in unhandled if "never retrieved" in str(c.get("message"))], unhandled


async def test_a_link_dropped_during_start_session_is_retryable_not_a_refusal(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the soak: usbmuxd restarting just as StartSession goes out. pymobiledevice3
    reconnects (which starts a session) and resends StartSession, and the iPad answers
    SessionActive. That must be a retryable error, not the iPad refusing the step."""
    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept")})
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    assert await driver.pair(handle) is Presence.READY
    await driver.close()  # no kept session: the rename below starts one
    original = ServiceConnection.send_recv_plist
    dropped: list[bool] = []

    async def drop_once(self: ServiceConnection, data: dict[str, object], *args: object) -> object:
        if data.get("Request") == "StartSession" and not dropped:
            dropped.append(True)
            await self.close()
            raise pmd3.ConnectionTerminatedError
        return await original(self, data, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ServiceConnection, "send_recv_plist", drop_once)
    with pytest.raises(DeviceError) as caught:
        await driver.rename(handle, "Tablet 1")
    assert dropped
    assert not isinstance(caught.value, DeviceRefused)
    assert "SessionActive" in caught.value.message or "session" in caught.value.message.lower()
    monkeypatch.undo()
    await driver.rename(handle, "Tablet 1")  # the retry works
    assert await driver.device_name(handle) == "Tablet 1"
    await driver.close()


async def test_a_service_port_is_never_lockdownds_own(
    start_cart: StartCart, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by reading the soak's once-seen "MissingRequest": the emulated iPad drew service
    ports from 49152-65535, which holds lockdownd's 62078; an MCInstall client sent there
    reached lockdownd. The first draw here is exactly that port."""
    from station.sim.ios import usbmux as sim_usbmux

    cart = await start_cart(ipads=1, slots={1: SlotOverride(trust="accept")})
    handle = udid(cart, 1)
    driver = ios_driver(cart, tmp_path / "pair")
    draws: list[int] = []
    draw = sim_usbmux.secrets.randbelow

    def lockdown_port_first(n: int) -> int:
        draws.append(n)
        return 62078 - 49152 if len(draws) == 1 else draw(n)

    try:
        assert await driver.pair(handle) is Presence.READY
        monkeypatch.setattr(sim_usbmux.secrets, "randbelow", lockdown_port_first)
        assert await driver.profiles(handle) == []  # MCInstall answered, not lockdownd
        assert len(draws) >= 2
    finally:
        await driver.close()
