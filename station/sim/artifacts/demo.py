"""The demo blueprint's apps, profiles and files, generated on demand (they are not committed)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from station.sim.artifacts.android import SigningIdentity, make_apk
from station.sim.artifacts.ios import make_ipa, make_mdm_enrollment_profile, make_wifi_profile

log = logging.getLogger("station.sim.artifacts")

DEMO_BLUEPRINT = "demo.toml"
MDM_PACKAGE = "de.kreissegeberg.schulit.mdm"

_WELCOME = """Willkommen an der Sventana-Schule Bornhöved!

Dieses Tablet gehört der Schule. Bitte behandle es sorgfältig und lade es nach dem
Unterricht im Tablet-Wagen auf.
"""


def _writers() -> dict[str, Callable[[Path], None]]:
    signer = SigningIdentity.new("Kreis Segeberg Schul-IT")

    def wifi(path: Path) -> None:
        # The password is a placeholder; the station fills in the secret "wlan-schule".
        path.write_bytes(
            make_wifi_profile(
                "Schule-SEG042",
                "__SECRET__",
                identifier="de.kreissegeberg.schulit.wlan",
                display_name="WLAN Sventana-Schule",
            )
        )

    def mdm(path: Path) -> None:
        path.write_bytes(
            make_mdm_enrollment_profile(
                "https://mdm.schulit.invalid/mdm",
                "com.apple.mgmt.External.0d5e3f1c-demo",
                "de.kreissegeberg.schulit.mdm-enrollment",
                check_in_url="https://mdm.schulit.invalid/checkin",
                display_name="Schul-IT Geräteverwaltung",
            )
        )

    def welcome(path: Path) -> None:
        path.write_text(_WELCOME, encoding="utf-8")

    def lernapp_ipa(path: Path) -> None:
        make_ipa(path, "de.kreissegeberg.lernapp", "412", "4.1.2", "Lernapp")

    def mdm_apk(path: Path) -> None:
        make_apk(
            path, MDM_PACKAGE, 27, "2.7.0", "Schul-IT MDM", receiver=".AdminReceiver", signer=signer
        )

    def lernapp_apk(path: Path) -> None:
        make_apk(path, "de.kreissegeberg.lernapp", 412, "4.1.2", "Lernapp", signer=signer)

    return {
        "demo/profiles/wlan-schule.mobileconfig": wifi,
        "demo/profiles/mdm-enrollment.mobileconfig": mdm,
        "demo/apps/lernapp.ipa": lernapp_ipa,
        "demo/apps/mdm-agent.apk": mdm_apk,
        "demo/apps/lernapp.apk": lernapp_apk,
        "demo/files/willkommen.txt": welcome,
    }


def ensure_demo_files(root: Path) -> list[Path]:
    """Write the demo blueprint's referenced files under ``root`` if missing; returns new ones.

    ``root`` is the folder holding ``demo.toml`` (``resources/blueprints`` in the repository).
    """
    created: list[Path] = []
    writers = _writers()
    for relative, write in writers.items():
        path = root / relative
        if path.is_file() and path.stat().st_size > 0:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        write(tmp)
        tmp.replace(path)
        created.append(path)
    if created:
        log.info("generated %d demo file(s) under %s", len(created), root)
    return created
