"""The emulated iPad's com.apple.afc: file access to the media partition, stored for real on disk.

Packets are a 40-byte little-endian header (magic ``CFA6LPAA``, entire length, header
length, packet number, operation) and a payload; replies echo the packet number. Files live
under ``ctx.data_dir / "Media"`` (the device's /var/mobile/Media); a path may never leave
it. Every byte read or written also crosses the hub's shared USB link.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import shutil
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from station.sim.ios.services import ServiceContext

SERVICE_NAME = "com.apple.afc"

log = logging.getLogger("station.sim.ios.afc")

MAGIC = b"CFA6LPAA"
HEADER = struct.Struct("<8sQQQQ")
MAX_PACKET = 64 * 1024 * 1024 + HEADER.size
MAX_READ = 16 * 1024 * 1024
BLOCK = 4096
# A WRITE with more payload than this is read into the connection's reused buffer rather than
# a new bytes object: afcd reads packets into a buffer of its own.
BUFFERED_WRITE = 64 * 1024


class Op(enum.IntEnum):
    STATUS = 0x01
    DATA = 0x02
    READ_DIR = 0x03
    REMOVE_PATH = 0x08
    MAKE_DIR = 0x09
    GET_FILE_INFO = 0x0A
    GET_DEVINFO = 0x0B
    FILE_OPEN = 0x0D
    FILE_OPEN_RES = 0x0E
    READ = 0x0F
    WRITE = 0x10
    FILE_SEEK = 0x11
    FILE_TELL = 0x12
    FILE_TELL_RES = 0x13
    FILE_CLOSE = 0x14
    FILE_SET_SIZE = 0x15
    RENAME_PATH = 0x18
    FILE_LOCK = 0x1B
    SET_FILE_TIME = 0x1E
    REMOVE_PATH_AND_CONTENTS = 0x22


class AfcStatus(enum.IntEnum):
    SUCCESS = 0
    UNKNOWN_ERROR = 1
    OP_HEADER_INVALID = 2
    READ_ERROR = 4
    WRITE_ERROR = 5
    UNKNOWN_PACKET_TYPE = 6
    INVALID_ARG = 7
    OBJECT_NOT_FOUND = 8
    OBJECT_IS_DIR = 9
    PERM_DENIED = 10
    OP_NOT_SUPPORTED = 15
    OBJECT_EXISTS = 16
    NO_SPACE_LEFT = 18
    IO_ERROR = 20
    DIR_NOT_EMPTY = 33


class AfcFailure(Exception):
    """An operation that ends in a STATUS reply with this code."""

    def __init__(self, status: AfcStatus) -> None:
        super().__init__(status.name)
        self.status = status


class FopenMode(enum.IntEnum):
    RDONLY = 1  # r
    RW = 2  # r+ (create)
    WRONLY = 3  # w (create, truncate)
    WR = 4  # w+ (create, truncate)
    APPEND = 5  # a
    RDAPPEND = 6  # a+


_PYTHON_MODES = {
    FopenMode.RDONLY: "rb",
    FopenMode.RW: "r+b",
    FopenMode.WRONLY: "wb",
    FopenMode.WR: "w+b",
    FopenMode.APPEND: "ab",
    FopenMode.RDAPPEND: "a+b",
}


def media_root(ctx: ServiceContext) -> Path:
    return ctx.data_dir / "Media"


def resolve_media_path(root: Path, afc_path: str) -> Path:
    """Map an AFC path (absolute or relative, both from the media root) to a file under root.

    ``..`` is resolved lexically and may not climb above the root; anything else that would
    land outside it (a symlink planted on disk) is refused too.
    """
    if "\0" in afc_path:
        raise AfcFailure(AfcStatus.INVALID_ARG)
    parts: list[str] = []
    for part in afc_path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise AfcFailure(AfcStatus.PERM_DENIED)
            parts.pop()
            continue
        parts.append(part)
    target = root.joinpath(*parts)
    real_root = root.resolve()
    if not target.resolve().is_relative_to(real_root):
        raise AfcFailure(AfcStatus.PERM_DENIED)
    return target


@dataclass
class _Handle:
    file: IO[Any]
    mode: FopenMode
    path: Path


@dataclass
class _Connection:
    ctx: ServiceContext
    root: Path
    handles: dict[int, _Handle] = field(default_factory=dict)
    next_handle: int = 1
    packet_buffer: bytearray = field(default_factory=bytearray)

    def path(self, payload: bytes, offset: int = 0) -> Path:
        return resolve_media_path(self.root, _cstring(payload, offset)[0])

    async def read_payload(self, size: int) -> memoryview:
        """The next ``size`` bytes, read into the connection's buffer (valid until the next call).

        ``readexactly`` copies a payload that arrived behind the next packet's first bytes
        once more than one it read alone, into fresh memory each time: a client that keeps
        a write in flight cost the emulator more than one that waits for each answer.
        """
        if len(self.packet_buffer) < size:
            self.packet_buffer = bytearray(size)
        view = memoryview(self.packet_buffer)[:size]
        got = 0
        while got < size:
            piece = await self.ctx.reader.read(size - got)
            if not piece:
                raise asyncio.IncompleteReadError(bytes(view[:got]), size)
            view[got : got + len(piece)] = piece
            got += len(piece)
        return view


def _cstring(payload: bytes, offset: int = 0) -> tuple[str, int]:
    end = payload.find(b"\0", offset)
    if end < 0:
        end = len(payload)
    try:
        return payload[offset:end].decode("utf-8"), end + 1
    except UnicodeDecodeError as exc:
        raise AfcFailure(AfcStatus.INVALID_ARG) from exc


def _u64(payload: bytes | memoryview, offset: int = 0) -> int:
    if len(payload) < offset + 8:
        raise AfcFailure(AfcStatus.INVALID_ARG)
    value: int = struct.unpack_from("<Q", payload, offset)[0]
    return value


def _kv(pairs: list[tuple[str, str]]) -> bytes:
    return b"".join(f"{k}\0{v}\0".encode() for k, v in pairs)


def _packet(packet_num: int, op: Op, payload: bytes) -> bytes:
    length = HEADER.size + len(payload)
    return HEADER.pack(MAGIC, length, length, packet_num, op) + payload


def _status(packet_num: int, status: AfcStatus) -> bytes:
    return _packet(packet_num, Op.STATUS, struct.pack("<Q", status))


def _stat(path: Path) -> bytes:
    try:
        info = path.lstat()
    except FileNotFoundError as exc:
        raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND) from exc
    except NotADirectoryError as exc:
        raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND) from exc
    is_dir = path.is_dir()
    return _kv(
        [
            ("st_size", str(info.st_size if not is_dir else 64)),
            ("st_blocks", str((info.st_size + 511) // 512)),
            ("st_nlink", str(info.st_nlink)),
            ("st_ifmt", "S_IFDIR" if is_dir else "S_IFREG"),
            ("st_mtime", str(info.st_mtime_ns)),
            ("st_birthtime", str(info.st_mtime_ns)),
        ]
    )


async def _op(conn: _Connection, op: int, payload: bytes) -> tuple[Op, bytes]:
    """Run one operation; returns the reply opcode and payload (AfcFailure for a STATUS error)."""
    ctx = conn.ctx
    ok = (Op.STATUS, struct.pack("<Q", AfcStatus.SUCCESS))
    if op == Op.GET_DEVINFO:
        total = ctx.ipad.model.storage_bytes
        return Op.DATA, _kv(
            [
                ("Model", ctx.ipad.model.product_type),
                ("FSTotalBytes", str(total)),
                ("FSFreeBytes", str(ctx.ipad.free_bytes)),
                ("FSBlockSize", str(BLOCK)),
            ]
        )
    if op == Op.READ_DIR:
        path = conn.path(payload)
        if not path.exists():
            raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND)
        if not path.is_dir():
            raise AfcFailure(AfcStatus.READ_ERROR)
        names = [".", "..", *sorted(p.name for p in path.iterdir())]
        return Op.DATA, b"".join(n.encode() + b"\0" for n in names)
    if op == Op.GET_FILE_INFO:
        return Op.DATA, _stat(conn.path(payload))
    if op == Op.MAKE_DIR:
        path = conn.path(payload)
        if path.exists() and not path.is_dir():
            raise AfcFailure(AfcStatus.OBJECT_EXISTS)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise AfcFailure(AfcStatus.OBJECT_EXISTS) from exc
        return ok
    if op in (Op.REMOVE_PATH, Op.REMOVE_PATH_AND_CONTENTS):
        path = conn.path(payload)
        if path == conn.root:
            raise AfcFailure(AfcStatus.PERM_DENIED)
        if not path.exists():
            raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND)
        if path.is_dir():
            if op == Op.REMOVE_PATH_AND_CONTENTS:
                await asyncio.to_thread(shutil.rmtree, path)
            elif any(path.iterdir()):
                raise AfcFailure(AfcStatus.DIR_NOT_EMPTY)
            else:
                path.rmdir()
        else:
            path.unlink()
        return ok
    if op == Op.RENAME_PATH:
        source_name, offset = _cstring(payload)
        target_name, _ = _cstring(payload, offset)
        source = resolve_media_path(conn.root, source_name)
        target = resolve_media_path(conn.root, target_name)
        if not source.exists():
            raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND)
        if source == conn.root or target == conn.root:
            raise AfcFailure(AfcStatus.PERM_DENIED)
        if not target.parent.is_dir():
            raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND)
        if target.is_dir() and any(target.iterdir()):
            raise AfcFailure(AfcStatus.DIR_NOT_EMPTY)
        try:
            os.replace(source, target)
        except OSError as exc:
            raise AfcFailure(AfcStatus.PERM_DENIED) from exc
        return ok
    if op == Op.FILE_OPEN:
        try:
            mode = FopenMode(_u64(payload))
        except ValueError as exc:
            raise AfcFailure(AfcStatus.INVALID_ARG) from exc
        path = conn.path(payload, 8)
        if path.is_dir():
            raise AfcFailure(AfcStatus.OBJECT_IS_DIR)
        if not path.parent.is_dir():
            raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND)
        if mode == FopenMode.RDONLY and not path.exists():
            raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND)
        if mode == FopenMode.RW and not path.exists():
            path.touch()
        try:
            handle_file = path.open(_PYTHON_MODES[mode])
        except OSError as exc:
            raise AfcFailure(AfcStatus.PERM_DENIED) from exc
        number = conn.next_handle
        conn.next_handle += 1
        conn.handles[number] = _Handle(handle_file, mode, path)
        return Op.FILE_OPEN_RES, struct.pack("<Q", number)
    if op == Op.WRITE:
        return await _write(conn, payload)
    if op in (Op.READ, Op.FILE_SEEK, Op.FILE_TELL, Op.FILE_CLOSE, Op.FILE_SET_SIZE):
        return await _file_op(conn, Op(op), payload)
    if op == Op.FILE_LOCK:
        if _u64(payload) not in conn.handles:
            raise AfcFailure(AfcStatus.INVALID_ARG)
        return ok
    if op == Op.SET_FILE_TIME:
        path = conn.path(payload, 8)
        if not path.exists():
            raise AfcFailure(AfcStatus.OBJECT_NOT_FOUND)
        nanos = _u64(payload)
        os.utime(path, ns=(nanos, nanos))
        return ok
    if op in Op.__members__.values():
        raise AfcFailure(AfcStatus.OP_NOT_SUPPORTED)
    raise AfcFailure(AfcStatus.UNKNOWN_PACKET_TYPE)


async def _write(conn: _Connection, payload: bytes | memoryview) -> tuple[Op, bytes]:
    """A WRITE: the handle, then the bytes to store at its position."""
    handle = conn.handles.get(_u64(payload))
    if handle is None:
        raise AfcFailure(AfcStatus.INVALID_ARG)
    if handle.mode == FopenMode.RDONLY:
        raise AfcFailure(AfcStatus.PERM_DENIED)
    data = payload[8:]
    if len(data) > conn.ctx.ipad.free_bytes:
        raise AfcFailure(AfcStatus.NO_SPACE_LEFT)
    await conn.ctx.link.transfer(len(data))
    await asyncio.to_thread(handle.file.write, data)
    return Op.STATUS, struct.pack("<Q", AfcStatus.SUCCESS)


async def _file_op(conn: _Connection, op: Op, payload: bytes) -> tuple[Op, bytes]:
    ok = (Op.STATUS, struct.pack("<Q", AfcStatus.SUCCESS))
    handle = conn.handles.get(_u64(payload))
    if handle is None:
        raise AfcFailure(AfcStatus.INVALID_ARG)
    if op == Op.FILE_CLOSE:
        del conn.handles[_u64(payload)]
        handle.file.close()
        return ok
    if op == Op.READ:
        if handle.mode in (FopenMode.WRONLY, FopenMode.APPEND):
            raise AfcFailure(AfcStatus.PERM_DENIED)
        size = min(_u64(payload, 8), MAX_READ)
        data = await asyncio.to_thread(handle.file.read, size)
        await conn.ctx.link.transfer(len(data))
        return Op.DATA, data
    if op == Op.FILE_SEEK:
        whence = _u64(payload, 8)
        offset = struct.unpack_from("<q", payload, 16)[0] if len(payload) >= 24 else None
        if whence not in (0, 1, 2) or offset is None:
            raise AfcFailure(AfcStatus.INVALID_ARG)
        try:
            handle.file.seek(offset, whence)
        except (OSError, ValueError) as exc:
            raise AfcFailure(AfcStatus.INVALID_ARG) from exc
        return ok
    if op == Op.FILE_TELL:
        return Op.FILE_TELL_RES, struct.pack("<Q", handle.file.tell())
    # FILE_SET_SIZE
    if handle.mode == FopenMode.RDONLY:
        raise AfcFailure(AfcStatus.PERM_DENIED)
    handle.file.truncate(_u64(payload, 8))
    return ok


async def handle_afc(ctx: ServiceContext) -> None:
    """Serve AFC until the client closes; a malformed packet closes this connection only."""
    root = media_root(ctx)
    root.mkdir(parents=True, exist_ok=True)
    conn = _Connection(ctx, root)
    try:
        while True:
            try:
                raw = await ctx.reader.readexactly(HEADER.size)
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    log.warning("%s: AFC closing on a short header", ctx.ipad.udid)
                return
            magic, entire, this, packet_num, op = HEADER.unpack(raw)
            if magic != MAGIC or not HEADER.size <= this <= entire or entire > MAX_PACKET:
                log.warning("%s: AFC closing on a bad header %r", ctx.ipad.udid, raw[:16])
                return
            size = entire - HEADER.size
            payload: bytes | memoryview
            try:
                if op == Op.WRITE and size > BUFFERED_WRITE:
                    payload = await conn.read_payload(size)
                else:
                    payload = await ctx.reader.readexactly(size)
            except asyncio.IncompleteReadError:
                log.warning("%s: AFC client vanished inside a packet", ctx.ipad.udid)
                return
            try:
                if isinstance(payload, memoryview):
                    reply_op, reply = await _write(conn, payload)
                else:
                    reply_op, reply = await _op(conn, op, payload)
                out = _packet(packet_num, reply_op, reply)
            except AfcFailure as failure:
                out = _status(packet_num, failure.status)
            except (ValueError, OverflowError, struct.error) as exc:
                log.info("%s: AFC op %#x with bad arguments: %s", ctx.ipad.udid, op, exc)
                out = _status(packet_num, AfcStatus.INVALID_ARG)
            except OSError as exc:
                log.warning("%s: AFC op %#x failed: %s", ctx.ipad.udid, op, exc)
                out = _status(packet_num, AfcStatus.IO_ERROR)
            ctx.writer.write(out)
            await ctx.writer.drain()
    except (ConnectionError, OSError) as exc:
        log.info("%s: AFC client went away: %s", ctx.ipad.udid, exc)
    finally:
        for handle in conn.handles.values():
            handle.file.close()
        ctx.writer.close()
