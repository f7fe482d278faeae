"""Control channel of a running cart: a person's actions (tap Trust, pull a cable) from outside.

A small JSON-lines server on 127.0.0.1. Each request line is ``{"action": ..., "slot": N}``
(or ``{"action": "info"}``), each reply line ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}``. The server's address is written to ``control.json`` in
the cart's state directory, so ``station sim act --state-dir DIR ...`` finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from station.sim.serving import Connections

log = logging.getLogger("station.sim.control")

CONTROL_FILE = "control.json"
MAX_LINE = 64 * 1024

ActionHandler = Callable[[str, int], Awaitable[Any]]
InfoHandler = Callable[[], dict[str, Any]]


class ControlError(Exception):
    """The control channel could not be reached or refused the request."""


class ControlServer:
    """Serves a cart's actions to other processes until :meth:`stop`."""

    def __init__(
        self,
        act: ActionHandler,
        info: InfoHandler,
        *,
        state_dir: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._act = act
        self._info = info
        self._state_dir = state_dir
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections = Connections(self._serve, name="cart control")

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("control server is not started")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        self._server = await self._connections.start_server(self._host, self._port, limit=MAX_LINE)
        if self._state_dir is not None:
            host, port = self.address
            path = self._state_dir / CONTROL_FILE
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps({"host": host, "port": port, "pid": os.getpid()}))
            os.replace(tmp, path)

    async def stop(self) -> None:
        if self._state_dir is not None:
            with contextlib.suppress(FileNotFoundError):
                (self._state_dir / CONTROL_FILE).unlink()
        if self._server is not None:
            await self._connections.close(self._server, abort=False)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    await self._reply(writer, {"ok": False, "error": "request line too long"})
                    break
                except ConnectionError:
                    break
                if not line:
                    break
                await self._reply(writer, await self._handle(line))
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    @staticmethod
    async def _reply(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
        writer.write(json.dumps(message).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async def _handle(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except ValueError:
            return {"ok": False, "error": "request is not JSON"}
        if not isinstance(request, dict) or not isinstance(request.get("action"), str):
            return {"ok": False, "error": 'request must be an object with an "action"'}
        action = request["action"].replace("-", "_")
        if action == "info":
            return {"ok": True, "result": self._info()}
        slot = request.get("slot")
        if isinstance(slot, bool) or not isinstance(slot, int):
            return {"ok": False, "error": '"slot" must be a slot number'}
        try:
            result = await self._act(action, slot)
        except (ValueError, KeyError, LookupError) as exc:
            return {"ok": False, "error": str(exc.args[0]) if exc.args else repr(exc)}
        except Exception as exc:  # boundary: a failed action is reported, never fatal to the cart
            log.exception("control action %s on slot %s failed", action, slot)
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        return {"ok": True, "result": result}


def read_address(state_dir: Path) -> tuple[str, int]:
    """Where a running cart's control server listens, from its state directory."""
    try:
        data = json.loads((Path(state_dir) / CONTROL_FILE).read_text(encoding="utf-8"))
        return str(data["host"]), int(data["port"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ControlError(f"no running cart found in {state_dir} ({exc})") from exc


def request(state_dir: Path, message: dict[str, Any], *, timeout: float = 30.0) -> Any:
    """Send one request to a running cart and return its ``result`` (blocking; for the CLI)."""
    host, port = read_address(state_dir)
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(json.dumps(message).encode() + b"\n")
            with sock.makefile("rb") as stream:
                line = stream.readline(MAX_LINE)
    except OSError as exc:
        raise ControlError(f"cart at {host}:{port} did not answer: {exc}") from exc
    return _result(line)


async def request_async(address: tuple[str, int], message: dict[str, Any]) -> Any:
    """Send one request to a control server and return its ``result``."""
    reader, writer = await asyncio.open_connection(*address)
    try:
        writer.write(json.dumps(message).encode() + b"\n")
        await writer.drain()
        line = await reader.readline()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return _result(line)


def _result(line: bytes) -> Any:
    if not line:
        raise ControlError("cart closed the control connection without answering")
    try:
        reply = json.loads(line)
    except ValueError as exc:
        raise ControlError("cart sent a reply that is not JSON") from exc
    if not isinstance(reply, dict) or not reply.get("ok"):
        error = reply.get("error") if isinstance(reply, dict) else reply
        raise ControlError(str(error))
    return reply.get("result")
