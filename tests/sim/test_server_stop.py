"""The cart's servers stop with every connection closed, even one accepted as they stop.

A station keeps connecting while the cart's emulators restart under it. On Python 3.11 a
socket accepted just before ``Server.close()`` left a half-made transport that was never
closed (the client hung; garbage collection reported "unclosed transport"), and a handler task
that had not run yet when stop() looked went on serving a stopped server. Each test sweeps the
number of loop turns between a client's connect and stop(), so every point of the accept path
is hit; filterwarnings=error plus the suite's gc.collect() turn any leaked transport into a
failure.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pymobiledevice3 import usbmux
from pymobiledevice3.exceptions import MuxException

from station.sim.android.adb_server import AdbServer
from station.sim.clock import SimClock
from station.sim.control import ControlServer
from station.sim.ios.usbmux import UsbmuxServer
from tests.sim.ios_fixtures import make_ipad, running_cart

pytestmark = pytest.mark.timeout(60)

# Loop turns from a client's connect to stop(): accept, transport, connection_made, the
# handler's first step, and a few more.
TURNS = range(10)


class _Running:
    """One started server of the cart, its address and its stop()."""

    def __init__(self, address: tuple[str, int], stop: Callable[[], Awaitable[None]]) -> None:
        self.address = address
        self.stop = stop


async def _usbmuxd() -> _Running:
    server = UsbmuxServer(clock=SimClock(0.001), services={})
    await server.start()
    return _Running(server.address, server.stop)


async def _adb_server() -> _Running:
    server = AdbServer(clock=SimClock(0.001))
    await server.start()
    return _Running(("127.0.0.1", server.port), server.stop)


async def _no_action(action: str, slot: int) -> None:
    raise ValueError(f"no {action} on slot {slot} here")


async def _control() -> _Running:
    server = ControlServer(_no_action, dict)
    await server.start()
    return _Running(server.address, server.stop)


SERVERS = {"usbmuxd": _usbmuxd, "adb server": _adb_server, "control": _control}


async def _closed_by_peer(sock: socket.socket) -> bool:
    """True once the server closed the connection (EOF or reset); False if it sent data."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(10):  # against a hang only: the server is stopped
            return await loop.sock_recv(sock, 1) == b""
    except ConnectionResetError:
        return True


def _other_tasks() -> set[asyncio.Task[Any]]:
    """Tasks besides the test's own: a handler left running serves a stopped server."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current}


@pytest.mark.parametrize("kind", SERVERS)
async def test_a_client_connecting_as_the_server_stops_is_closed(kind: str) -> None:
    for turns in TURNS:
        running = await SERVERS[kind]()
        # A blocking loopback connect completes in the kernel, before the loop accepts it.
        with socket.create_connection(running.address) as sock:
            sock.setblocking(False)
            for _ in range(turns):
                await asyncio.sleep(0)
            await running.stop()
            assert not _other_tasks(), (turns, _other_tasks())
            assert await _closed_by_peer(sock), turns


async def test_pymobiledevice3_listening_as_usbmuxd_stops_sees_it_gone(tmp_path: Path) -> None:
    """A host's Listen connection made while usbmuxd stops ends; no ghost of usbmuxd serves it."""

    async def listen(address: str, got: list[str]) -> None:
        mux = await usbmux.create_mux(usbmux_address=address)
        try:
            await mux.listen()
            while True:
                await mux.receive_device_state_update()
                got.append("attached")
        finally:
            await mux.close()

    reached: list[str] = []
    for turns in range(16):
        async with running_cart(tmp_path / str(turns), [make_ipad()]) as cart:
            got: list[str] = []
            host = asyncio.ensure_future(listen(cart.address, got))
            for _ in range(turns):
                await asyncio.sleep(0)
            await cart.server.stop()
            async with asyncio.timeout(10):  # against a hang only
                with pytest.raises((MuxException, ConnectionError)) as gone:
                    await host
            reached.append(f"{type(gone.value).__name__}{'+attached' if got else ''}")
    # The sweep met usbmuxd before it accepted the host and after it served its Listen.
    assert "ConnectionFailedToUsbmuxdError" in reached, reached
    assert "MuxException+attached" in reached, reached
