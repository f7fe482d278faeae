"""Length-prefixed plist framing used by lockdownd and most lockdown services.

Each message is a 4-byte big-endian length followed by a plist (XML or binary). Replies are
sent as XML, which every known client (pymobiledevice3, libimobiledevice) parses.
"""

from __future__ import annotations

import asyncio
import plistlib
import struct
from collections.abc import Awaitable, Callable
from typing import Any

MAX_PLIST_BYTES = 64 * 1024 * 1024


class FramingError(Exception):
    """The peer sent something that is not a length-prefixed plist."""


async def read_plist(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """Read one framed plist dictionary; ``None`` when the peer closed cleanly."""
    return await read_plist_with(reader.readexactly)


async def read_plist_with(
    readexactly: Callable[[int], Awaitable[bytes]],
) -> dict[str, Any] | None:
    """:func:`read_plist` over any ``readexactly`` (lockdownd reads through its TLS layer)."""
    try:
        header = await readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise FramingError("connection closed inside a length prefix") from exc
        return None
    (length,) = struct.unpack(">I", header)
    if length > MAX_PLIST_BYTES:
        raise FramingError(f"plist of {length} bytes is over the limit")
    try:
        body = await readexactly(length)
    except asyncio.IncompleteReadError as exc:
        raise FramingError("connection closed inside a plist") from exc
    try:
        value = plistlib.loads(body)
    except Exception as exc:  # boundary: plistlib raises several unrelated types on garbage
        raise FramingError(f"not a plist: {exc}") from exc
    if not isinstance(value, dict):
        raise FramingError("plist is not a dictionary")
    return value


def encode_plist(message: dict[str, Any], *, binary: bool = False) -> bytes:
    fmt = plistlib.FMT_BINARY if binary else plistlib.FMT_XML
    body = plistlib.dumps(message, fmt=fmt)
    return struct.pack(">I", len(body)) + body


async def write_plist(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(encode_plist(message))
    await writer.drain()
