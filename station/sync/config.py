"""Which upstream targets this station has: URLs in the store's settings, tokens in the keyring."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass

import httpx

from station.errors import SyncConfigError
from station.secrets import SecretStore
from station.store import Store
from station.sync.hub_client import HubTarget
from station.sync.snipeit import SnipeItClient, SnipeItSettings, SnipeItTarget
from station.sync.targets import TARGET_HUB, TARGET_SNIPEIT, Target

SETTING_HUB_URL = "sync.hub_url"
SETTING_HUB_CA = "sync.hub_ca_file"
SETTING_SNIPEIT = "sync.snipeit"
SECRET_HUB_TOKEN = "sync-hub-token"
SECRET_SNIPEIT_TOKEN = "sync-snipeit-token"


@dataclass(frozen=True)
class HubSettings:
    url: str
    ca_file: str = ""


def hub_settings(store: Store) -> HubSettings | None:
    url = store.get_setting(SETTING_HUB_URL)
    if not url:
        return None
    return HubSettings(url=url, ca_file=store.get_setting(SETTING_HUB_CA) or "")


def save_hub(
    store: Store, secrets: SecretStore, url: str, token: str, *, ca_file: str = ""
) -> None:
    """Remember the hub; the token goes to the keyring, never into the database."""
    if not url.startswith(("https://", "http://")):
        raise SyncConfigError(f"hub URL {url!r} is not http(s)", hint="e.g. https://hub.example/")
    if not token.strip():
        raise SyncConfigError(
            "empty hub token", hint="use the token station hub add-station printed"
        )
    secrets.set(SECRET_HUB_TOKEN, token.strip())
    store.set_setting(SETTING_HUB_URL, url)
    store.set_setting(SETTING_HUB_CA, ca_file)


def snipeit_settings(store: Store) -> SnipeItSettings | None:
    text = store.get_setting(SETTING_SNIPEIT)
    if not text:
        return None
    try:
        return SnipeItSettings.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise SyncConfigError(f"the stored Snipe-IT settings do not parse: {exc}") from exc


def save_snipeit(store: Store, secrets: SecretStore, settings: SnipeItSettings, token: str) -> None:
    if not token.strip():
        raise SyncConfigError("empty Snipe-IT token")
    secrets.set(SECRET_SNIPEIT_TOKEN, token.strip())
    store.set_setting(SETTING_SNIPEIT, json.dumps(settings.to_dict(), sort_keys=True))


def configured_targets(
    store: Store,
    secrets: SecretStore,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Target]:
    """The targets set up on this station (TLS verification always on)."""
    targets: dict[str, Target] = {}
    hub = hub_settings(store)
    if hub is not None:
        targets[TARGET_HUB] = HubTarget(
            hub.url,
            secrets.get(SECRET_HUB_TOKEN),
            verify=ssl.create_default_context(cafile=hub.ca_file) if hub.ca_file else True,
            transport=transport,
        )
    snipe = snipeit_settings(store)
    if snipe is not None:
        client = SnipeItClient(snipe, secrets.get(SECRET_SNIPEIT_TOKEN), transport=transport)
        targets[TARGET_SNIPEIT] = SnipeItTarget(client)
    return targets
