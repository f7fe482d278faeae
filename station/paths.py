"""Where the station keeps its files: per-user folders (platformdirs) and the bundled resources."""

from __future__ import annotations

import sys
from pathlib import Path

import platformdirs

APP_NAME = "enrollment-station"
"""The folder name under each platform's usual places (and the keyring service name)."""


def _dirs() -> platformdirs.PlatformDirs:
    # appauthor=False: Windows would otherwise nest the folder under a vendor name we do not have.
    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def data_dir() -> Path:
    """Database, secrets file fallback, pair records: ~/.local/share/…, %LOCALAPPDATA%\\…"""
    return Path(_dirs().user_data_dir)


def config_dir() -> Path:
    """Settings the first-run wizard writes (station name, hub URL, cart layout, calibration)."""
    return Path(_dirs().user_config_dir)


def log_dir() -> Path:
    """Log files kept for support: ~/.local/state/…/log, %LOCALAPPDATA%\\…\\Logs."""
    return Path(_dirs().user_log_dir)


def cache_dir() -> Path:
    """Files that can be rebuilt (downloaded apps, rendered labels)."""
    return Path(_dirs().user_cache_dir)


def is_frozen() -> bool:
    """True inside a PyInstaller bundle (the installed station), False when run from source."""
    return bool(getattr(sys, "frozen", False)) and hasattr(sys, "_MEIPASS")


def resource_dir() -> Path:
    """The read-only ``resources/`` folder: blueprints, scenarios, i18n, label sheets.

    From source it is the repository's ``resources/``; in a bundle installer/station.spec puts it
    in ``sys._MEIPASS`` (PyInstaller's documented data folder; a path built from ``__file__``
    only happens to land there with PyInstaller 6's onedir layout).
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"
