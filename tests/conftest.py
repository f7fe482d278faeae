"""Suite-wide checks that make leaks fail the test that caused them."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_garbage_after_each_test() -> Iterator[None]:
    """Collect after every test so an unclosed socket or file is reported against the test
    that leaked it (filterwarnings=error turns its ResourceWarning into a failure), not
    against whichever later test happens to trigger a collection."""
    yield
    gc.collect()
