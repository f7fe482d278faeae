"""Scaled time for the virtual cart, so a 90 s erase can take 0.9 s in a test."""

from __future__ import annotations

import asyncio
import time


class SimClock:
    """Device-side time, scaled by ``time_scale`` (0.01 makes everything 100x faster).

    Every emulated delay (erase, reboot, install rate, a person's reaction) is given in
    real-device seconds and goes through :meth:`sleep`, so one knob speeds up a whole cart.
    """

    def __init__(self, time_scale: float = 1.0) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must be >= 0")
        self.time_scale = time_scale

    def scaled(self, device_seconds: float) -> float:
        """Wall-clock seconds that ``device_seconds`` of device time take."""
        return max(0.0, device_seconds * self.time_scale)

    async def sleep(self, device_seconds: float) -> None:
        await asyncio.sleep(self.scaled(device_seconds))

    @staticmethod
    def wall() -> float:
        """Monotonic wall-clock time, for measuring."""
        return time.monotonic()
