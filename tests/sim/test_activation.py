"""Activation through pymobiledevice3's MobileActivationService against the emulated iPad."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pymobiledevice3.exceptions import MobileActivationException
from pymobiledevice3.lockdown import create_using_usbmux
from pymobiledevice3.services import mobile_activation
from pymobiledevice3.services.mobile_activation import MobileActivationService

from station.sim.ios.activation import SERVICE_NAME, ActivationServer, MobileActivationd
from tests.sim.ios_fixtures import make_ipad, no_proxy, running_cart

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_proxy")]
__all__ = ["no_proxy"]


@pytest.fixture
async def albert(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ActivationServer]:
    server = ActivationServer(locked={"locked"})
    await server.start()
    monkeypatch.setattr(mobile_activation, "ACTIVATION_DEFAULT_URL", server.activation_url)
    monkeypatch.setattr(
        mobile_activation, "ACTIVATION_DRM_HANDSHAKE_DEFAULT_URL", server.drm_handshake_url
    )
    try:
        yield server
    finally:
        await server.stop()


async def _activate(address: str, udid: str, records: Path) -> None:
    async with await create_using_usbmux(
        udid, usbmux_address=address, pairing_records_cache_folder=records
    ) as lockdown:
        service = MobileActivationService(lockdown)
        assert await service.state() == "Unactivated"
        await service.activate(skip_apple_id_query=True)
        assert await service.state() == "Activated"


async def test_activate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, albert: ActivationServer
) -> None:
    ipad = make_ipad(0)
    services = {SERVICE_NAME: MobileActivationd().handle}
    async with running_cart(tmp_path, [ipad], services) as cart:
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", cart.address)
        # activate() posts with blocking requests, so it runs on a loop of its own
        await asyncio.to_thread(asyncio.run, _activate(cart.address, ipad.udid, tmp_path / "r"))
        assert albert.requests == [ipad.udid]
        assert ipad.activation_state == "Activated"
        assert cart.saved_state(ipad)["activation_state"] == "Activated"
        async with await create_using_usbmux(
            ipad.udid, usbmux_address=cart.address, pairing_records_cache_folder=tmp_path / "r"
        ) as lockdown:
            assert await lockdown.get_value(key="ActivationState") == "Activated"
            assert await lockdown.get_value(key="ActivationStateAcknowledged") is True
            await MobileActivationService(lockdown).deactivate()
            assert await lockdown.get_value(key="ActivationState") == "Unactivated"
        # an erase leaves it unactivated
        ipad.activation_state = "Activated"
        await cart.server.reboot(ipad.udid, erase=True)
        assert ipad.activation_state == "Unactivated"


async def test_activation_lock_and_forged_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, albert: ActivationServer
) -> None:
    ipad = make_ipad(1)
    albert.locked = {ipad.udid}
    services = {SERVICE_NAME: MobileActivationd().handle}
    async with running_cart(tmp_path, [ipad], services) as cart:
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", cart.address)
        with pytest.raises(MobileActivationException, match="iCloud locked"):
            await asyncio.to_thread(asyncio.run, _activate(cart.address, ipad.udid, tmp_path / "r"))
        assert ipad.activation_state == "Unactivated"
        async with await create_using_usbmux(
            ipad.udid, usbmux_address=cart.address, pairing_records_cache_folder=tmp_path / "r"
        ) as lockdown:
            service = MobileActivationService(lockdown)
            await service.create_activation_session_info()
            # a handshake answer that is not for this session is refused by the device
            with pytest.raises(MobileActivationException):
                await service.create_activation_info_with_session(b"<plist>nope</plist>")
            reply = await service.send_command("HandleActivationInfoWithSessionRequest", b"junk")
            assert "Error" in reply
            assert (await service.send_command("NoSuchCommand"))["Error"]
        assert ipad.activation_state == "Unactivated"


async def test_the_handshake_survives_a_new_daemon_between_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, albert: ActivationServer
) -> None:
    """pymobiledevice3 opens a new connection for every mobileactivationd command; when the
    host's usbmuxd (the cart's emulators) restarts between the session request and the
    activation info, the iPad still knows its handshake (found by the soak: "session
    mismatch"). Here every connection gets a fresh daemon object; the handshake is the iPad's
    state, saved with it."""
    ipad = make_ipad(0)
    daemons: list[MobileActivationd] = []

    async def fresh_daemon_each_time(ctx: Any) -> None:
        daemons.append(MobileActivationd())
        await daemons[-1].handle(ctx)

    async with running_cart(tmp_path, [ipad], {SERVICE_NAME: fresh_daemon_each_time}) as cart:
        monkeypatch.setenv("USBMUXD_SOCKET_ADDRESS", cart.address)
        await asyncio.to_thread(asyncio.run, _activate(cart.address, ipad.udid, tmp_path / "r"))
        assert ipad.activation_state == "Activated"
        assert len(daemons) >= 3  # session info, activation info, the record: apart
        saved = cart.saved_state(ipad)
        assert saved["activation_state"] == "Activated"
        assert saved["activation_handshake"] == ""  # used up
