"""Retry timing: full-jitter exponential backoff and the ``Retry-After`` header."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Full jitter (``random(0, min(cap, base·2ⁿ))``): retries from many stations spread out.

    ``attempt`` counts the failures so far (0 before the first retry).
    """

    base: float = 2.0
    cap: float = 600.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait; a server's ``Retry-After`` is a floor (never retry earlier)."""
        ceiling = min(self.cap, self.base * (2 ** min(max(attempt, 0), 62)))
        jittered = self.rng.uniform(0.0, ceiling)
        if retry_after is not None:
            # The server named a time: wait that long, plus a little spread so that a county's
            # stations do not all come back in the same second.
            return retry_after + self.rng.uniform(0.0, min(self.base, ceiling))
        return jittered


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` value (delta-seconds or an HTTP date); None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    current = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - current).total_seconds())
