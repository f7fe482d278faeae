"""Secrets: the keyring path, the 0600 file fallback, and values never shown."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.errors
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.backends import null as null_backend

from station.errors import SecretError
from station.secrets import (
    SERVICE,
    SecretStore,
    generate_supervision_identity,
    keyring_usable,
)

VALUE = "Wlan-Passw0rt-sehr-geheim"


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring backend, so tests never touch the machine's real keyring."""

    # Below keyring's fail backend: defining this class registers it with keyring, and it must
    # never be picked as the session's default by keyring's own backend discovery.
    priority = -10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise keyring.errors.PasswordDeleteError(username)
        del self.entries[(service, username)]


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("collection is locked")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Install the memory backend as keyring's global one for the test, then put back the old."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)


def test_default_keyring_path_stores_under_the_service(
    memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    store = SecretStore(data_dir=tmp_path)
    assert not store.uses_file
    store.set("wlan-schule", VALUE)
    store.set("mdm-token", "t0ken")
    assert memory_keyring.entries[(SERVICE, "wlan-schule")] == VALUE
    assert keyring.get_password(SERVICE, "wlan-schule") == VALUE  # readable by any keyring client
    assert store.get("wlan-schule") == VALUE
    assert store.names() == ["mdm-token", "wlan-schule"]
    assert "wlan-schule" in store
    assert store.delete("wlan-schule")
    assert not store.delete("wlan-schule")
    assert store.names() == ["mdm-token"]
    assert not (tmp_path / "secrets.json").exists()


def test_missing_secret_says_how_to_store_it(tmp_path: Path) -> None:
    store = SecretStore(data_dir=tmp_path, force_file=True)
    with pytest.raises(SecretError) as info:
        store.get("supervision-2026")
    assert "supervision-2026" in str(info.value)
    assert "station secrets set supervision-2026" in info.value.hint


@pytest.mark.parametrize(
    "backend",
    [fail.Keyring(), null_backend.Keyring()],
    ids=["fail", "null"],
)
def test_unusable_keyrings_fall_back_to_the_file(backend: KeyringBackend, tmp_path: Path) -> None:
    store = SecretStore(data_dir=tmp_path / "data", backend=backend)
    assert store.uses_file
    store.set("wlan-schule", VALUE)
    assert SecretStore(data_dir=tmp_path / "data", force_file=True).get("wlan-schule") == VALUE


def test_chainer_without_backends_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    assert not keyring_usable(chainer.ChainerBackend())
    assert keyring_usable(MemoryKeyring())


def test_file_fallback_permissions_and_format(tmp_path: Path) -> None:
    data_dir = tmp_path / "station-data"
    store = SecretStore(data_dir=data_dir, force_file=True)
    store.set("wlan-schule", VALUE)
    store.set("mdm-token", "abc")
    path = data_dir / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["secrets"] == {"mdm-token": "abc", "wlan-schule": VALUE}
    assert store.names() == ["mdm-token", "wlan-schule"]
    # A file someone made world-readable is tightened on the next read.
    path.chmod(0o644)
    assert store.get("mdm-token") == "abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in data_dir.iterdir() if p.name.startswith(".secrets-")] == []


def test_corrupt_file_is_a_secret_error(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text("{not json")
    store = SecretStore(data_dir=tmp_path, force_file=True)
    with pytest.raises(SecretError, match="not a valid secrets file"):
        store.get("x")


def test_values_never_in_repr_or_logs(
    memory_keyring: MemoryKeyring, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for store in (SecretStore(data_dir=tmp_path), SecretStore(data_dir=tmp_path, force_file=True)):
        store.set("wlan-schule", VALUE)
        store.get("wlan-schule")
        store.delete("wlan-schule")
        assert VALUE not in repr(store)
    identity = generate_supervision_identity("Kreis Segeberg Schul-IT")
    assert "PRIVATE KEY" not in repr(identity)
    assert "wlan-schule" in caplog.text  # names are logged ...
    assert VALUE not in caplog.text  # ... values never


def test_invalid_names_and_values_are_refused(tmp_path: Path) -> None:
    store = SecretStore(data_dir=tmp_path, force_file=True)
    for bad in ["", "../etc", "a b", "x" * 65, "__station_secret_names__"]:
        with pytest.raises(SecretError):
            store.set(bad, "v")
    with pytest.raises(SecretError):
        store.set("ok", "")


def test_locked_keyring_is_a_secret_error(tmp_path: Path) -> None:
    store = SecretStore(data_dir=tmp_path, backend=LockedKeyring())
    with pytest.raises(SecretError, match="keyring could not read") as info:
        store.get("wlan-schule")
    assert "unlock" in info.value.hint


def test_supervision_identity_round_trip_and_pymobiledevice3_keybag(tmp_path: Path) -> None:
    store = SecretStore(data_dir=tmp_path, force_file=True)
    identity = generate_supervision_identity("Kreis Segeberg Schul-IT")
    store.set_identity("supervision-2026", identity)
    loaded = store.get_identity("supervision-2026")
    assert loaded == identity
    assert loaded.subject == "CN=Kreis Segeberg Schul-IT"
    assert x509.load_der_x509_certificate(loaded.cert_der()).subject.rfc4514_string() == (
        "CN=Kreis Segeberg Schul-IT"
    )
    # pymobiledevice3's escalate/supervise read a "keybag": one PEM file with key and cert.
    with loaded.keybag_file() as keybag:
        assert stat.S_IMODE(keybag.stat().st_mode) == 0o600
        data = keybag.read_bytes()
        assert serialization.load_pem_private_key(data, password=None).key_size == 2048  # type: ignore[union-attr]
        assert (
            x509.load_pem_x509_certificate(data).subject
            == x509.load_pem_x509_certificate(identity.cert_pem.encode()).subject
        )
    assert not keybag.exists()


def test_identity_with_mismatched_key_is_refused(tmp_path: Path) -> None:
    a = generate_supervision_identity("A")
    b = generate_supervision_identity("B")
    store = SecretStore(data_dir=tmp_path, force_file=True)
    store.set("mixed", a.cert_pem + b.key_pem)
    with pytest.raises(SecretError, match="does not belong"):
        store.get_identity("mixed")
    store.set("text", "not a pem")
    with pytest.raises(SecretError, match="not a supervision identity"):
        store.get_identity("text")
