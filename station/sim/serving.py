"""Stream servers that stop with every connection they accepted closed, even the last one.

Python 3.11's ``asyncio.Server.close()`` leaves accepted connections open, and
``wait_closed()`` returns at once. Two races follow when a server stops while clients connect
(a running station against a cart whose emulators restart):

- A socket the loop accepted becomes a transport one loop turn later. ``close()`` in between
  makes that transport's ``Server._attach()`` fail an assertion: the half-made transport is
  never closed, its client waits on a dead connection, and garbage collection reports
  "unclosed transport" (WORKAROUND for https://github.com/python/cpython/issues/109564).
- A coroutine ``client_connected_cb`` is only a scheduled task when the connection is made. A
  stop() that runs before that task's first step cannot see it; the handler then serves a
  stopped server, or is cancelled before its ``finally`` and never closes its writer.

:class:`Connections` closes both: its callback is a plain function, which asyncio calls inside
``connection_made``, so every connection is registered (or refused, once stopping) the moment
its transport exists; :meth:`Connections.close` stops accepting first and lets the sockets
already accepted reach that callback before ``Server.close()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("station.sim.serving")

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]

# An accepted socket becomes a transport on the loop turn after the accept, and that transport
# calls connection_made on the turn after that; on the third, asyncio's accept task ends.
_ACCEPT_TURNS = 3


class Connections:
    """The connections of one stream server, each with the task that serves it."""

    def __init__(self, handler: Handler, *, name: str) -> None:
        self._handler = handler
        self._name = name
        self._tasks: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._closing = False

    async def start_server(self, host: str, port: int, **kwargs: Any) -> asyncio.Server:
        """``asyncio.start_server`` with :meth:`accept` as the connection callback."""
        self._closing = False
        return await asyncio.start_server(self.accept, host, port, **kwargs)

    def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Register a new connection and start its handler (runs inside connection_made)."""
        if self._closing:
            # Accepted as the server stopped: a server that is gone closes it.
            writer.transport.abort()
            return
        task = asyncio.get_running_loop().create_task(self._handler(reader, writer))
        self._tasks[task] = writer
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s connection handler failed", self._name, exc_info=task.exception())

    async def close(self, server: asyncio.Server | None, *, abort: bool) -> None:
        """Stop accepting, then end every connection and wait for its handler.

        ``abort`` drops what the connections have not sent yet, as a server process that exits
        does; otherwise each cancelled handler closes its own connection. A connection whose
        handler never ran is aborted either way. The calling task is not waited for (a
        handler may stop its own server).
        """
        self._closing = True
        if server is not None:
            await _stop_accepting(server)
        current = asyncio.current_task()
        ending = {t: w for t, w in self._tasks.items() if t is not current}
        for task, writer in ending.items():
            if abort:
                writer.transport.abort()
            task.cancel()
        if ending:
            await asyncio.gather(*ending, return_exceptions=True)
        for writer in ending.values():
            # A handler cancelled before its first step never reached its finally.
            if not writer.transport.is_closing():
                writer.transport.abort()
        if server is not None:
            await server.wait_closed()


async def _stop_accepting(server: asyncio.Server) -> None:
    """Close the listening sockets once the connections accepted so far have transports."""
    if not server.is_serving():
        server.close()
        return
    loop = asyncio.get_running_loop()
    for sock in server.sockets:
        # Public loop API; Server.close() removes the same reader before closing the socket.
        loop.remove_reader(sock.fileno())
    for _ in range(_ACCEPT_TURNS):
        await asyncio.sleep(0)
    server.close()
