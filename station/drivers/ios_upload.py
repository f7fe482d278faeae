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
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from pymobiledevice3 import exceptions as pmd3
from pymobiledevice3.services.afc import AfcService
from pymobiledevice3.services.installation_proxy import InstallationProxyService

# --- quiet AFC uploads ----------------------------------------------------------------------


UPLOAD_CHUNK = 1 << 20  # bytes per AFC write
UPLOAD_DEPTH = 2  # writes in flight: the iPad finds the next chunk waiting when it stored one


T = TypeVar("T")


class AppFile:
    """The app file, read on a thread of its own.

    The loop's shared thread pool (a handful of threads) may be taken for minutes by other
    tablets' blocking calls (adb streams that wait for ``pm install``): an upload whose next
    chunk waits for a free thread leaves the hub idle.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = 0
        self._file: BinaryIO | None = None
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ipa-read")

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    async def open(self) -> None:
        """OSError when the file is missing or not a regular file."""
        self._file = await self._call(_open_app, self.path)
        self.size = os.fstat(self._file.fileno()).st_size

    async def read(self, size: int) -> bytes:
        assert self._file is not None
        return await self._call(self._file.read, size)

    async def close(self) -> None:
        try:
            if self._file is not None:
                await self._call(self._file.close)
        finally:
            self._thread.shutdown(wait=False)


async def stream_to_afc(
    afc: AfcService, source: AppFile, remote: str, sent: Callable[[int], None]
) -> None:
    """Copy ``source`` to ``remote`` a chunk at a time (never the whole app in memory).

    Up to ``UPLOAD_DEPTH`` writes are in flight (pymobiledevice3 matches each answer to its
    request; afcd handles a connection's packets in order), so a moment's delay on the
    station's busy event loop does not leave the hub idle. ``sent`` gets the bytes the iPad
    confirmed so far. The file is closed on the iPad before this returns: then every byte
    has left the station.
    """
    handle = await afc.fopen(remote, "w")
    writes: collections.deque[tuple[asyncio.Future[None], int]] = collections.deque()
    closed = False
    try:
        done, end = 0, False
        while writes or not end:
            if not end and len(writes) < UPLOAD_DEPTH:
                chunk = await source.read(UPLOAD_CHUNK)
                if chunk:
                    # Started in order, they queue in order on the service's (FIFO) write lock.
                    writes.append((asyncio.ensure_future(afc.fwrite(handle, chunk)), len(chunk)))
                end = not chunk
                del chunk
                continue
            write, size = writes.popleft()
            await write
            done += size
            sent(done)
        await afc.fclose(handle)
        closed = True
    finally:
        # A failed or cancelled upload: let the writes still in flight end (the iPad answers
        # each, or the dropped connection fails them all) before anything else is sent.
        await asyncio.gather(*(w for w, _ in writes), return_exceptions=True)
        if not closed:
            # Best effort: the caller removes the file; the original error is the one.
            with contextlib.suppress(pmd3.PyMobileDevice3Exception, OSError):
                await afc.fclose(handle)


def _open_app(path: Path) -> BinaryIO:
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
    """AFC whose dropped-connection failures never surface as asyncio log noise."""

    def __init__(self, lockdown: Any) -> None:
        super().__init__(lockdown)
        self._afc_pending = _RetrievedFutures()


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
