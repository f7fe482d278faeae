"""Shared USB bandwidth of one hub: concurrent transfers split it fairly.

A USB 2.0 hub gives all its ports together roughly 35 MB/s of payload. Emulated transfers
(AFC uploads, adb sync pushes, streamed installs) call :meth:`HubLink.transfer` for each
chunk so that ten tablets copying at once on one hub each get a tenth of it, as on a real
cart. The model is processor sharing: every active transfer advances at ``rate / n``.
"""

from __future__ import annotations

from station.sim.clock import SimClock

USB2_HUB_BYTES_PER_S = 35_000_000
SLICE_SECONDS = 0.02  # device seconds
SLICE_WALL_SECONDS = 0.02


class HubLink:
    """Bandwidth of one hub, shared by the transfers that are active on it."""

    def __init__(self, clock: SimClock, bytes_per_s: float = USB2_HUB_BYTES_PER_S) -> None:
        if bytes_per_s <= 0:
            raise ValueError("bytes_per_s must be > 0")
        self._clock = clock
        self.bytes_per_s = bytes_per_s
        self._active = 0
        self.bytes_total = 0

    @property
    def active_transfers(self) -> int:
        return self._active

    async def transfer(self, nbytes: int) -> None:
        """Wait as long as ``nbytes`` take on this hub, given who else is transferring.

        Large amounts are cut into slices so that the share follows transfers that start
        or end meanwhile. A slice is credited with the time it really took, so a loop that
        wakes late (a busy host, a small time scale) does not slow the emulated hub down.
        """
        if nbytes <= 0:
            return
        self._active += 1
        try:
            scale = self._clock.time_scale
            # About 20 ms of device time per slice, but no shorter than 20 ms of wall time:
            # at a small time scale thousands of tiny sleeps would cost more than they model.
            slice_s = max(SLICE_SECONDS, SLICE_WALL_SECONDS / scale if scale > 0 else 0.0)
            remaining = float(nbytes)
            while remaining > 0:
                share = self.bytes_per_s / self._active
                wanted = min(remaining / share, slice_s)
                start = self._clock.wall()
                await self._clock.sleep(wanted)
                took = (self._clock.wall() - start) / scale if scale > 0 else wanted
                remaining -= max(wanted, took) * share
            self.bytes_total += nbytes
        finally:
            self._active -= 1
