"""The wiring point's labels, Android QR and sync status over the demo blueprint and a store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from station.app import DriverBackend
from station.commands import demo_blueprint, demo_secrets
from station.errors import InputError
from station.labels.android_qr import (
    ADMIN_COMPONENT_NAME,
    PACKAGE_CHECKSUM,
    PACKAGE_DOWNLOAD_LOCATION,
    WIFI_PASSWORD,
    package_checksum,
    provisioning_json,
    provisioning_qr_png,
)


@pytest.fixture
async def station(tmp_path: Path) -> AsyncIterator[DriverBackend]:
    path = demo_blueprint(tmp_path / "blueprints")
    backend = DriverBackend(
        tmp_path / "station", secrets=demo_secrets(tmp_path / "station"), blueprints=[path]
    )
    try:
        yield backend
    finally:
        await backend.close()


async def test_android_qr_needs_a_blueprint_and_comes_from_its_provisioning_table(
    station: DriverBackend, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="no blueprint is loaded"):
        await station.android_enrollment()
    blueprint = await station.load_blueprint(station.paths[0])
    payload = await station.android_enrollment()
    assert blueprint.android is not None
    assert blueprint.android.provisioning is not None
    assert payload[ADMIN_COMPONENT_NAME] == blueprint.android.device_owner
    assert payload[PACKAGE_DOWNLOAD_LOCATION] == blueprint.android.provisioning.download_url
    assert payload[WIFI_PASSWORD] == station.secrets.get("wlan-schule")
    apk = next(a.path for a in blueprint.android.apps if a.path.name == "mdm-agent.apk")
    assert payload[PACKAGE_CHECKSUM] == package_checksum(apk)
    png = tmp_path / "qr.png"
    png.write_bytes(provisioning_qr_png(payload))
    with Image.open(png) as image:
        found = zxingcpp.read_barcodes(image)
    assert [r.text for r in found] == [provisioning_json(payload)]
    assert json.loads(found[0].text) == payload


async def test_labels_without_records_come_from_the_tiles_in_slot_order(
    station: DriverBackend,
) -> None:
    jobs = [
        {"job": "b", "slot": 3, "serial": "B", "asset_tag": "SEG-3"},
        {"job": "n", "slot": None, "serial": "N", "asset_tag": "SEG-9"},
        {"job": "a", "slot": 1, "serial": "A", "asset_tag": "SEG-1"},
        {"job": "c", "slot": 2, "serial": "C", "asset_tag": ""},
    ]
    labels = await station.label_data(jobs)
    assert [(label.slot, label.asset_tag) for label in labels] == [
        (1, "SEG-1"),
        (3, "SEG-3"),
        (None, "SEG-9"),
    ]


async def test_sync_status_reads_the_store(station: DriverBackend) -> None:
    status = await station.sync_status()
    assert (status.pending, status.dead, status.last_success) == (0, 0, None)
