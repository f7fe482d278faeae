"""Streaming an app to an iPad over AFC and asking installd to install it.

Kept apart from the driver so the data path (the part the data-path benchmark measures) can be
read and tuned on its own.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import errno
import io
import os
import stat
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pymobiledevice3 import exceptions as pmd3
from pymobiledevice3.services.afc import AFCMAGIC, AfcError, AfcOpcode, AfcService
from pymobiledevice3.services.installation_proxy import InstallationProxyService

# --- quiet AFC uploads ----------------------------------------------------------------------


UPLOAD_CHUNK = 1 << 20  # bytes per AFC write
UPLOAD_DEPTH = 2  # writes in flight: the iPad finds the next chunk waiting when it stored one

# An AFC packet header (magic, entire length, this length, packet number, operation), then for
# a WRITE the file handle; the two are the packet's own part, the file's bytes follow.
_AFC_HEADER = struct.Struct("<8sQQQQQ")
WRITE_HEAD = _AFC_HEADER.size


T = TypeVar("T")


class AppFile:
    """The app file: what the page cache holds is read on the loop, the rest on a thread.

    The thread is the file's own: the loop's shared pool (a handful of threads) may be taken
    for minutes by other tablets' blocking calls (adb streams that wait for ``pm install``),
    and an upload whose next chunk waits for a free thread leaves the hub idle.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._file: io.BufferedReader | None = None
        self._offset = 0
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ipa-read")

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def open(self) -> None:
        """OSError when the file is missing or not a regular file."""
        self._file = await self._call(_open_app, self.path)
        self.size = os.fstat(self._file.fileno()).st_size

    async def readinto(self, buffer: memoryview) -> int:
        """Fills ``buffer`` with the file's next bytes (fewer only at its end); 0 at the end.

        An app goes to every tablet of the cart, so its bytes are mostly in the page cache:
        copying them on the loop costs less than a thread hop per chunk. Only bytes that
        would wait for the disk are read on the thread.
        """
        assert self._file is not None
        fd = self._file.fileno()
        got = _read_cached(fd, buffer, self._offset)
        if got < len(buffer):
            got += await self._call(_read_fully, self._file, buffer[got:], self._offset + got)
        self._offset += got
        return got

    async def close(self) -> None:
        try:
            if self._file is not None:
                await self._call(self._file.close)
        finally:
            self._thread.shutdown(wait=False)


def _read_cached(fd: int, buffer: memoryview, offset: int) -> int:
    """What of ``buffer`` the page cache fills at once (Linux ``RWF_NOWAIT``), without waiting."""
    nowait = getattr(os, "RWF_NOWAIT", None)
    if nowait is None:
        return 0
    try:
        return os.preadv(fd, [buffer], offset, nowait)
    except OSError:
        # EAGAIN: not cached; EOPNOTSUPP on some filesystems. The thread reads it instead,
        # and raises whatever real error there is.
        return 0


def _read_fully(file: io.BufferedReader, buffer: memoryview, offset: int) -> int:
    """``buffer`` filled from ``offset``, short only at the end of the file (blocking).

    Windows has no ``preadv``: there the file object seeks and reads (only this upload's one
    thread reads the file, so the position is never shared).
    """
    got = 0
    while got < len(buffer):
        if hasattr(os, "preadv"):
            n = os.preadv(file.fileno(), [buffer[got:]], offset + got)
        else:
            file.seek(offset + got)
            n = file.readinto(buffer[got:])
        if not n:
            break
        got += n
    return got


async def stream_to_afc(
    afc: QuietAfc, source: AppFile, remote: str, sent: Callable[[int], None]
) -> None:
    """Copy ``source`` to ``remote`` a chunk at a time (never the whole app in memory).

    Up to ``UPLOAD_DEPTH`` writes are in flight (pymobiledevice3 matches each answer to its
    request; afcd handles a connection's packets in order), so a moment's delay on the
    station's busy event loop does not leave the hub idle. Each chunk is read into one of a
    few reused packet buffers and sent from there as it is: a new 1 MiB object per chunk and
    per copy costs the station more CPU than the bytes' trip to the iPad. ``sent`` gets the
    bytes the iPad confirmed so far. The file is closed on the iPad before this returns: then
    every byte has left the station.
    """
    handle = await afc.fopen(remote, "w")
    free = [bytearray(WRITE_HEAD + UPLOAD_CHUNK) for _ in range(UPLOAD_DEPTH)]
    writes: collections.deque[tuple[asyncio.Future[tuple[AfcError, bytes]], bytearray, int]]
    writes = collections.deque()
    closed = False
    try:
        done, end = 0, False
        while writes or not end:
            if not end and free:
                packet = free.pop()
                size = await source.readinto(memoryview(packet)[WRITE_HEAD:])
                end = not size
                if end:
                    free.append(packet)
                    continue
                writes.append((await afc.start_write(handle, packet, size), packet, size))
                await afc.drain()
                continue
            answer, packet, size = writes[0]
            status, _ = await answer
            writes.popleft()
            if status != AfcError.SUCCESS:
                raise pmd3.AfcException("Failed to write to the file.", status)
            free.append(packet)
            done += size
            sent(done)
        await afc.fclose(handle)
        closed = True
    finally:
        # A failed or cancelled upload: let the writes still in flight end (the iPad answers
        # each, or the dropped connection fails them all) before anything else is sent.
        if writes:
            await asyncio.wait([answer for answer, _, _ in writes])
        if not closed:
            # Best effort: the caller removes the file; the original error is the one.
            with contextlib.suppress(pmd3.PyMobileDevice3Exception, OSError):
                await afc.fclose(handle)


def _open_app(path: Path) -> io.BufferedReader:
    """The app file, opened for reading; OSError when it is missing or not a regular file."""
    source = path.open("rb")
    if not stat.S_ISREG(os.fstat(source.fileno()).st_mode):
        source.close()
        raise IsADirectoryError(errno.EISDIR, "not a regular file", str(path))
    return source


class _RetrievedFutures(dict[int, "asyncio.Future[Any]"]):
    """AFC's table of waiting requests, whose failures count as seen.

    WORKAROUND: pymobiledevice3 11.45's AFC reader fails every waiting future when the
    connection drops, while the sender that registered it may already be raising its own
    ConnectionTerminatedError: that future's exception is then never retrieved and asyncio
    logs "Future exception was never retrieved" at garbage collection. The error still
    reaches the caller through its own path (mapped to DeviceGone).
    """

    def __setitem__(self, key: int, future: asyncio.Future[Any]) -> None:
        future.add_done_callback(_retrieve)
        super().__setitem__(key, future)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class QuietAfc(AfcService):
    """AFC whose dropped-connection failures never surface as asyncio log noise.

    It also sends WRITE packets built in place in the caller's buffer (``start_write``):
    the library's ``fwrite`` joins handle and chunk, then header and payload, two new
    copies of every chunk.
    """

    def __init__(self, lockdown: Any) -> None:
        super().__init__(lockdown)
        self._afc_pending = _RetrievedFutures()

    async def start_write(
        self, handle: int, packet: bytearray, size: int
    ) -> asyncio.Future[tuple[AfcError, bytes]]:
        """Send a WRITE of ``packet[WRITE_HEAD:WRITE_HEAD + size]`` to ``handle``.

        Fills in the packet's first ``WRITE_HEAD`` bytes and returns once the whole packet is
        in the connection's send buffer, with the future of the iPad's answer: (status, data),
        or the connection's error. The caller may reuse ``packet`` once that answer came.
        Numbered and registered under the library's write lock, like its own requests, so
        the two kinds can share a connection.
        """
        await self.connect()
        if self._afc_reader_task is None or self._afc_reader_task.done():
            self._afc_reader_task = asyncio.create_task(self._afc_reader_loop(), name="afc-reader")
        async with self._afc_write_lock:
            writer = self.service.writer
            if writer.is_closing():
                raise pmd3.ConnectionTerminatedError()
            answer: asyncio.Future[tuple[AfcError, bytes]]
            answer = asyncio.get_running_loop().create_future()
            number = self.packet_num
            entire = WRITE_HEAD + size
            _AFC_HEADER.pack_into(
                packet, 0, AFCMAGIC, entire, WRITE_HEAD, number, AfcOpcode.WRITE, handle
            )
            # No await from here on: registered and sent as one step, never one without the
            # other (a cancellation cannot leave a packet on the wire that nobody waits for).
            self._afc_pending[number] = answer
            self.packet_num += 1
            writer.write(memoryview(packet)[:entire])
        return answer

    async def drain(self) -> None:
        """Wait until the connection's send buffer is low again (the iPad is reading)."""
        try:
            await self.service.writer.drain()
        except OSError as exc:
            raise pmd3.ConnectionTerminatedError() from exc


async def install_staged(proxy: InstallationProxyService, remote: str, on_percent: Any) -> None:
    """``Install`` of a staged package, following installd's answers until Complete.

    The library's ``send_package`` draws a progress bar on stderr whatever handler it gets;
    this is its exchange without the bar (same errors: AppInstallError with installd's text).
    """
    await proxy.service.send_plist(
        {"Command": "Install", "ClientOptions": {}, "PackagePath": remote}
    )
    while True:
        response = await proxy.service.recv_plist()
        if not response:
            raise pmd3.AppInstallError()
        if not isinstance(response, dict):
            raise pmd3.AppInstallError(f"installd answered {response!r}")
        error = response.get("Error")
        if error:
            description = response.get("ErrorDescription")
            raise pmd3.AppInstallError(f"{error!s}: {description!s}")
        percent = response.get("PercentComplete")
        if isinstance(percent, int | float) and percent:
            on_percent(percent)
        if response.get("Status") == "Complete":
            return
