"""Shared pieces of the hostile-input tests: garbage strategies and a loop that outlives examples.

Hypothesis runs each example as a plain call, so the virtual cart lives in one event loop kept
by :class:`LoopRunner` for the whole test and every example runs its coroutine in it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import plistlib
import struct
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from hypothesis import strategies as st

from station.errors import StationError

T = TypeVar("T")

# XML plists cannot carry control characters (nor can surrogates be encoded).
_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)

# Any value a plist can hold (binary plists carry 64-bit integers, naive datetimes).
plist_scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    _text,
    st.binary(max_size=40),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
)
plist_values = st.recursive(
    plist_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(_text, children, max_size=5),
    ),
    max_leaves=20,
)


def keyed(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Dictionaries using the keys a client looks for, with values of any type."""
    return st.dictionaries(st.sampled_from(keys), plist_values, max_size=len(keys))


def framed(value: object, *, binary: bool) -> bytes:
    body = plistlib.dumps(value, fmt=plistlib.FMT_BINARY if binary else plistlib.FMT_XML)
    return struct.pack(">I", len(body)) + body


# Bytes on a length-prefixed plist connection: plists of any shape, broken frames, junk.
def frames(shapes: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    good = st.builds(framed, shapes, binary=st.booleans())
    return st.one_of(
        good,
        good.map(lambda b: b[: max(0, len(b) // 2)]),  # cut short
        st.binary(min_size=4, max_size=64).map(lambda b: struct.pack(">I", len(b)) + b),
        st.integers(min_value=1 << 20, max_value=(1 << 32) - 1).map(lambda n: struct.pack(">I", n)),
        st.binary(max_size=64),
    )


def only_station_errors(outcome: object) -> None:
    """An operation on a hostile device either worked or raised a station error, nothing else."""
    if isinstance(outcome, BaseException) and not isinstance(outcome, StationError):
        raise AssertionError(f"a hostile device made the driver raise {outcome!r}") from outcome


class LoopRunner:
    """One event loop for a whole hypothesis test (the cart lives in it)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float = 30.0) -> T:
        async def bounded() -> T:
            async with asyncio.timeout(timeout):
                return await coro

        return self.loop.run_until_complete(bounded())

    async def settle(self, awaitable: Awaitable[T]) -> T | BaseException:
        try:
            return await awaitable
        except Exception as exc:  # the test inspects what came out
            return exc

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
        finally:
            self.loop.close()
