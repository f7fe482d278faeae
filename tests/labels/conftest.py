"""Label fixtures."""

from __future__ import annotations

import pytest

from station.labels.model import LabelData
from tests.labels.helpers import make_labels


@pytest.fixture
def cart_labels() -> list[LabelData]:
    return make_labels()
