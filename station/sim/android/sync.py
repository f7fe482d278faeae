"""The tablet's file system (real files under its data dir) and adbd's sync v1 service."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import posixpath
import stat
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from station.sim.android.device import VirtualAndroid
from station.sim.bandwidth import HubLink

log = logging.getLogger("station.sim.android")

SYNC_DATA_MAX = 64 * 1024
MAX_PATH = 1024  # adbd refuses longer sync paths
# Where the shell user may write; everything else is read-only or not permitted.
WRITABLE = ("/data/local/tmp", "/sdcard", "/storage/emulated/0")
BASE_DIRS = (
    "/data/local/tmp",
    "/sdcard/Download",
    "/sdcard/Android",
    "/storage/emulated/0",
    "/system/bin",
    "/system/app",
    "/vendor",
    "/data/app",
)


class FsError(Exception):
    """A file operation failed; ``reason`` is the strerror text adbd and toybox print."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


ENOENT = "No such file or directory"
EACCES = "Permission denied"
EROFS = "Read-only file system"
ENOSPC = "No space left on device"
EISDIR = "Is a directory"
ENOTDIR = "Not a directory"


@dataclass(frozen=True)
class Stat:
    mode: int
    size: int
    mtime: int


class DeviceFiles:
    """The tablet's files as real files under ``root``; keeps ``tablet.files``/``used_bytes``.

    Device paths are normalised before they touch the host file system, so ``..`` can never
    leave ``root``.
    """

    def __init__(self, tablet: VirtualAndroid, root: Path) -> None:
        self.tablet = tablet
        self.root = root
        for d in BASE_DIRS:
            (root / d.lstrip("/")).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def normalize(path: str) -> str:
        if "\0" in path:
            raise FsError(ENOENT)
        return posixpath.normpath(posixpath.join("/", path)).replace("//", "/")

    def host_path(self, path: str) -> Path:
        norm = self.normalize(path)
        return self.root / norm.lstrip("/") if norm != "/" else self.root

    @staticmethod
    def writable(path: str) -> bool:
        norm = DeviceFiles.normalize(path)
        return any(norm == w or norm.startswith(w + "/") for w in WRITABLE)

    def stat(self, path: str) -> Stat | None:
        try:
            st = self.host_path(path).lstat()
        except (FsError, FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISDIR(st.st_mode):
            return Stat(stat.S_IFDIR | 0o771, 4096, int(st.st_mtime))
        return Stat(stat.S_IFREG | 0o644, st.st_size, int(st.st_mtime))

    def listdir(self, path: str) -> list[tuple[str, Stat]]:
        host = self.host_path(path)
        if not host.exists():
            raise FsError(ENOENT)
        if not host.is_dir():
            raise FsError(ENOTDIR)
        result = []
        for name in sorted(os.listdir(host)):
            if name.startswith(".station-"):
                continue
            st = self.stat(posixpath.join(self.normalize(path), name))
            if st is not None:
                result.append((name, st))
        return result

    def read(self, path: str, limit: int = 1 << 20) -> bytes:
        host = self.host_path(path)
        if host.is_dir():
            raise FsError(EISDIR)
        try:
            with host.open("rb") as f:
                return f.read(limit)
        except (FileNotFoundError, NotADirectoryError):
            raise FsError(ENOENT) from None

    def check_can_create(self, path: str, *, make_parents: bool = False) -> None:
        norm = self.normalize(path)
        if not self.writable(norm):
            raise FsError(EROFS if norm.startswith(("/system", "/vendor", "/product")) else EACCES)
        parent = self.host_path(posixpath.dirname(norm))
        if make_parents and not parent.exists():
            try:
                parent.mkdir(parents=True)
            except (FileExistsError, NotADirectoryError):
                raise FsError(ENOTDIR) from None
        if not parent.is_dir():
            raise FsError(ENOENT)
        if self.host_path(norm).is_dir():
            raise FsError(EISDIR)

    def mkdir(self, path: str, *, parents: bool) -> None:
        norm = self.normalize(path)
        if not self.writable(norm):
            raise FsError(EACCES)
        host = self.host_path(norm)
        if host.exists() and not parents:
            raise FsError("File exists")
        try:
            host.mkdir(parents=parents, exist_ok=parents)
        except FileNotFoundError:
            raise FsError(ENOENT) from None
        except NotADirectoryError:
            raise FsError(ENOTDIR) from None

    def remove(self, path: str, *, recursive: bool) -> None:
        norm = self.normalize(path)
        host = self.host_path(norm)
        if not host.exists():
            raise FsError(ENOENT)
        if not self.writable(norm) or norm in WRITABLE:
            raise FsError(EACCES)
        if host.is_dir():
            if not recursive:
                raise FsError(EISDIR)
            for sub in sorted(host.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                rel = "/" + sub.relative_to(self.root).as_posix()
                if sub.is_dir():
                    sub.rmdir()
                else:
                    self._forget(rel, sub.stat().st_size)
                    sub.unlink()
            host.rmdir()
        else:
            self._forget(norm, host.stat().st_size)
            host.unlink()

    def _forget(self, norm: str, size: int) -> None:
        self.tablet.files.pop(norm, None)
        self.tablet.used_bytes = max(0, self.tablet.used_bytes - size)

    def open_writer(self, path: str, *, make_parents: bool = False) -> FileWriter:
        """Start writing ``path`` (checked first); the data lands there only on commit.

        ``make_parents`` creates missing directories, as adbd does for a sync SEND.
        """
        self.check_can_create(path, make_parents=make_parents)
        return FileWriter(self, self.normalize(path))


class FileWriter:
    """One file being written; counts its bytes against the tablet's free storage."""

    def __init__(self, files: DeviceFiles, norm: str) -> None:
        self.files = files
        self.norm = norm
        self.final = files.host_path(norm)
        self.tmp = self.final.with_name(f".station-{self.final.name}.{os.getpid()}.{id(self)}")
        self._f = self.tmp.open("wb")
        self._digest = hashlib.sha256()
        self.size = 0
        old = files.stat(norm)
        self._old_size = old.size if old is not None and stat.S_ISREG(old.mode) else 0

    def write(self, data: bytes) -> None:
        tablet = self.files.tablet
        if tablet.used_bytes + self.size + len(data) - self._old_size > tablet.model.storage_bytes:
            raise FsError(ENOSPC)
        self._f.write(data)
        self._digest.update(data)
        self.size += len(data)

    def flush(self) -> None:
        self._f.flush()

    def commit(self, mtime: int | None = None) -> None:
        self._f.close()
        os.replace(self.tmp, self.final)
        if mtime:
            os.utime(self.final, (mtime, mtime))
        tablet = self.files.tablet
        tablet.used_bytes += self.size - self._old_size
        tablet.files[self.norm] = self._digest.hexdigest()

    def abort(self) -> None:
        self._f.close()
        with contextlib.suppress(FileNotFoundError):
            self.tmp.unlink()


def _fail(message: str) -> bytes:
    data = message.encode()
    return b"FAIL" + struct.pack("<I", len(data)) + data


async def serve_sync(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    files: DeviceFiles,
    link: HubLink,
    save: Callable[[], None],
) -> None:
    """Answer sync v1 requests until QUIT, EOF, or a request adbd would hang up on."""
    while True:
        try:
            header = await reader.readexactly(8)
        except asyncio.IncompleteReadError:
            return
        ident, length = header[:4], struct.unpack("<I", header[4:])[0]
        if ident == b"QUIT":
            return
        if length > MAX_PATH:
            writer.write(_fail("path too long"))
            await writer.drain()
            return
        try:
            path = (await reader.readexactly(length)).decode("utf-8", errors="replace")
        except asyncio.IncompleteReadError:
            return
        if ident not in (b"STAT", b"LIST", b"SEND", b"RECV"):
            # adbd answers FAIL and hangs up (the v2 requests are not served here).
            log.info("sync: unknown request id %r, closing", ident)
            writer.write(_fail(f"unknown command {struct.unpack('<I', ident)[0]:08x}"))
            await writer.drain()
            return
        if ident == b"STAT":
            st = files.stat(path)
            # One write of all 16 bytes: some clients read the 12 after the id in one recv().
            if st is None:
                writer.write(b"STAT" + bytes(12))
            else:
                writer.write(b"STAT" + struct.pack("<III", st.mode, st.size, st.mtime))
        elif ident == b"LIST":
            try:
                entries = files.listdir(path)
            except FsError:
                entries = []  # adbd answers an unreadable directory with just DONE
            for name, st in entries:
                raw = name.encode()
                writer.write(b"DENT" + struct.pack("<IIII", st.mode, st.size, st.mtime, len(raw)))
                writer.write(raw)
            writer.write(b"DONE" + bytes(16))
        elif ident == b"RECV":
            # After a failed RECV adbd hangs up.
            try:
                host = files.host_path(path)
                if host.is_dir():
                    writer.write(_fail(f"read failed: {EISDIR}"))
                    return
                with host.open("rb") as f:
                    while chunk := f.read(SYNC_DATA_MAX):
                        writer.write(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
                        await writer.drain()
                writer.write(b"DONE" + bytes(4))
            except (FileNotFoundError, NotADirectoryError):
                writer.write(_fail(f"open failed: {ENOENT}"))
                return
            except FsError as exc:
                writer.write(_fail(f"open failed: {exc.reason}"))
                return
        else:
            if not await _receive_file(reader, writer, files, link, path):
                await writer.drain()
                return
            save()
        await writer.drain()


async def _receive_file(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    files: DeviceFiles,
    link: HubLink,
    spec: str,
) -> bool:
    """SEND: "path,mode" then DATA... DONE. False when the connection must close."""
    path, comma, _ = spec.rpartition(",")
    if not comma:
        writer.write(_fail("missing , in ID_SEND_V1"))
        return False
    out: FileWriter | None = None
    error: str | None = None
    parent = files.stat(posixpath.dirname(files.normalize(path)))
    try:
        out = files.open_writer(path, make_parents=True)
    except FsError as exc:
        # adbd creates missing parents first (secure_mkdirs), then the file.
        step = "secure_mkdirs failed" if parent is None else "couldn't create file"
        error = f"{step}: {exc.reason}"
    if error is not None:
        writer.write(_fail(error))
    try:
        while True:
            head = await reader.readexactly(8)
            ident, length = head[:4], struct.unpack("<I", head[4:])[0]
            if ident == b"DONE":
                if out is None:
                    return False
                out.commit(length or int(time.time()))
                out = None
                writer.write(b"OKAY" + bytes(4))
                return True
            if ident != b"DATA" or length > SYNC_DATA_MAX:
                if error is None:
                    problem = (
                        "invalid data message" if ident != b"DATA" else "oversize data message"
                    )
                    writer.write(_fail(problem))
                return False
            data = await reader.readexactly(length)
            if out is None:
                continue  # after a failure adbd drains DATA until DONE, then hangs up
            await link.transfer(length)
            try:
                out.write(data)
            except FsError as exc:
                error = f"write failed: {exc.reason}"
                writer.write(_fail(error))
                out.abort()
                out = None
    except (asyncio.IncompleteReadError, ConnectionError):
        return False
    finally:
        if out is not None:
            out.abort()
