"""Named secrets (supervision identity, Wi-Fi passwords, tokens): OS keyring or a 0600 file."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import keyring
import keyring.errors
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.backends import null as null_backend

from station import messages as msg
from station import paths
from station.errors import SecretError

if sys.platform != "win32":
    import fcntl

log = logging.getLogger("station.secrets")

SERVICE = "enrollment-station"
"""The keyring service name every station secret is stored under."""

FILE_NAME = "secrets.json"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# The keyring has no "list" operation, so the names live in one extra entry beside the values.
_INDEX_ENTRY = "__station_secret_names__"


def default_data_dir() -> Path:
    """The station's per-user data directory (database, secrets file fallback)."""
    return paths.data_dir()


def check_name(name: str) -> str:
    """Return ``name`` if it is a usable secret name, else raise SecretError."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise SecretError(msg.SECRET_BAD_NAME.fill(name=name), hint=msg.SECRET_NAME_HINT)
    return name


def keyring_usable(backend: KeyringBackend) -> bool:
    """False for keyring's stand-ins that fail or silently drop secrets (headless machines)."""
    if isinstance(backend, fail.Keyring | null_backend.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return bool(backend.backends)
    return True


class _FileVault:
    """JSON file fallback: one object of name → value, mode 0600 in a 0700 directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _ensure_dir(self) -> None:
        directory = self.path.parent
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask and ignored for an existing directory.
        os.chmod(directory, 0o700)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write between two station processes."""
        self._ensure_dir()
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if sys.platform != "win32":
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def read(self) -> dict[str, str]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretError(
                msg.CANNOT_READ_FILE.fill(file=self.path, reason=exc.strerror)
            ) from exc
        mode = os.stat(self.path).st_mode & 0o777
        if mode & 0o077:
            log.warning("secrets file %s had mode %o; restricting it to 600", self.path, mode)
            os.chmod(self.path, 0o600)
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SecretError(
                msg.SECRETS_FILE_INVALID.fill(file=self.path), hint=msg.SECRETS_FILE_HINT
            ) from exc
        secrets = data.get("secrets") if isinstance(data, dict) else None
        if not isinstance(secrets, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in secrets.items()
        ):
            raise SecretError(
                msg.SECRETS_FILE_INVALID.fill(file=self.path), hint=msg.SECRETS_FILE_HINT
            )
        return dict(secrets)

    def write(self, secrets: dict[str, str]) -> None:
        body = json.dumps({"version": 1, "secrets": secrets}, indent=1, sort_keys=True)
        # A new 0600 file renamed over the old one: a crash leaves the old or the new, never half.
        # mkstemp creates the file 0600 (owner only) before anything is written to it.
        fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(body)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def get(self, name: str) -> str | None:
        with self._locked():
            return self.read().get(name)

    def set(self, name: str, value: str) -> None:
        with self._locked():
            secrets = self.read()
            secrets[name] = value
            self.write(secrets)

    def delete(self, name: str) -> bool:
        with self._locked():
            secrets = self.read()
            if secrets.pop(name, None) is None:
                return False
            self.write(secrets)
            return True

    def names(self) -> list[str]:
        with self._locked():
            return sorted(self.read())


class SecretStore:
    """Secrets by name: the OS keyring when it has a real backend, else a 0600 JSON file.

    Values never appear in ``repr``, log lines or exception messages.
    """

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        backend: KeyringBackend | None = None,
        force_file: bool = False,
    ) -> None:
        """Pick the storage.

        Args:
            data_dir: where the file fallback lives (default: the station's user data dir).
            backend: the keyring backend to use (default: ``keyring.get_keyring()``).
            force_file: use the file even when a keyring is available (headless stations).
        """
        self._file: _FileVault | None = None
        self._keyring: KeyringBackend | None = None
        if not force_file:
            candidate = backend if backend is not None else keyring.get_keyring()
            if keyring_usable(candidate):
                self._keyring = candidate
        if self._keyring is None:
            self._file = _FileVault((data_dir or default_data_dir()) / FILE_NAME)

    @property
    def location(self) -> str:
        """Where secrets go, for people: the keyring backend's name or the file's path."""
        if self._keyring is not None:
            return msg.SECRETS_IN_KEYRING.fill(backend=self._keyring.name, service=SERVICE)
        assert self._file is not None
        return msg.SECRETS_IN_FILE.fill(path=self._file.path)

    @property
    def uses_file(self) -> bool:
        return self._file is not None

    def __repr__(self) -> str:
        return f"<SecretStore {self.location}>"

    @contextlib.contextmanager
    def _keyring_errors(self, message: msg.Template, name: str = "") -> Iterator[None]:
        """Map the keyring's errors (locked collection, D-Bus gone) into SecretError."""
        try:
            yield
        except keyring.errors.KeyringError as exc:
            values = {"name": name} if "name" in message.fields else {}
            raise SecretError(
                message.fill(error=type(exc).__name__, **values), hint=msg.KEYRING_HINT
            ) from exc

    def _keyring_names(self) -> list[str]:
        assert self._keyring is not None
        with self._keyring_errors(msg.KEYRING_LIST_NAMES):
            raw = self._keyring.get_password(SERVICE, _INDEX_ENTRY)
        if not raw:
            return []
        try:
            names = json.loads(raw)
        except json.JSONDecodeError:
            return []
        return sorted(n for n in names if isinstance(n, str)) if isinstance(names, list) else []

    def _keyring_set_names(self, names: list[str]) -> None:
        assert self._keyring is not None
        with self._keyring_errors(msg.KEYRING_STORE_NAMES):
            self._keyring.set_password(SERVICE, _INDEX_ENTRY, json.dumps(sorted(set(names))))

    def get(self, name: str) -> str:
        """The secret's value; SecretError (with how to store it) if it is not stored."""
        value = self.get_optional(name)
        if value is None:
            raise SecretError(
                msg.SECRET_NOT_STORED_AT.fill(name=name, location=self.location),
                hint=msg.STORE_SECRET_HINT.fill(name=name),
            )
        return value

    def get_optional(self, name: str) -> str | None:
        check_name(name)
        if self._keyring is not None:
            with self._keyring_errors(msg.KEYRING_READ, name):
                return self._keyring.get_password(SERVICE, name)
        assert self._file is not None
        return self._file.get(name)

    def has(self, name: str) -> bool:
        return self.get_optional(name) is not None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and _NAME_RE.fullmatch(name) is not None and self.has(name)

    def set(self, name: str, value: str) -> None:
        """Store ``value`` under ``name``, replacing any earlier value."""
        check_name(name)
        if not isinstance(value, str) or not value:
            raise SecretError(msg.SECRET_EMPTY.fill(name=name))
        if self._keyring is not None:
            with self._keyring_errors(msg.KEYRING_STORE, name):
                self._keyring.set_password(SERVICE, name, value)
            self._keyring_set_names([*self._keyring_names(), name])
        else:
            assert self._file is not None
            self._file.set(name, value)
        log.info("stored secret %r in %s", name, self.location)

    def delete(self, name: str) -> bool:
        """Remove the secret; False if there was none."""
        check_name(name)
        if self._keyring is not None:
            existed = self.has(name)
            if existed:
                with self._keyring_errors(msg.KEYRING_DELETE, name):
                    self._keyring.delete_password(SERVICE, name)
            self._keyring_set_names([n for n in self._keyring_names() if n != name])
        else:
            assert self._file is not None
            existed = self._file.delete(name)
        if existed:
            log.info("deleted secret %r from %s", name, self.location)
        return existed

    def names(self) -> list[str]:
        """Names of the stored secrets (never their values), sorted."""
        if self._keyring is not None:
            return self._keyring_names()
        assert self._file is not None
        return self._file.names()

    def get_identity(self, name: str) -> SupervisionIdentity:
        """The supervision identity stored under ``name`` (PEM certificate + private key)."""
        return SupervisionIdentity.from_pem(self.get(name), source=name)

    def set_identity(self, name: str, identity: SupervisionIdentity) -> None:
        self.set(name, identity.to_pem())


@dataclass(frozen=True)
class SupervisionIdentity:
    """The organisation's supervision certificate and its key; ``repr`` shows no key material."""

    cert_pem: str
    key_pem: str = field(repr=False)
    subject: str = ""
    sha256: str = ""

    @classmethod
    def from_pem(cls, text: str, *, source: str = "identity") -> SupervisionIdentity:
        """Parse one PEM text holding a certificate and its matching unencrypted private key."""
        cert_blocks = re.findall(
            r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.DOTALL
        )
        key_blocks = re.findall(
            r"-----BEGIN (?:RSA |EC )?PRIVATE KEY-----.+?-----END (?:RSA |EC )?PRIVATE KEY-----",
            text,
            re.DOTALL,
        )
        hint = msg.IDENTITY_HINT
        if len(cert_blocks) != 1 or len(key_blocks) != 1:
            raise SecretError(
                msg.IDENTITY_BLOCKS.fill(
                    name=source, certificates=len(cert_blocks), keys=len(key_blocks)
                ),
                hint=hint,
            )
        try:
            cert = x509.load_pem_x509_certificate(cert_blocks[0].encode())
            key = serialization.load_pem_private_key(key_blocks[0].encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise SecretError(msg.IDENTITY_UNPARSABLE.fill(name=source), hint=hint) from exc
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        der = serialization.Encoding.DER
        if cert.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
            raise SecretError(msg.IDENTITY_KEY_MISMATCH.fill(name=source), hint=hint)
        return cls(
            cert_pem=cert_blocks[0] + "\n",
            key_pem=key_blocks[0] + "\n",
            subject=cert.subject.rfc4514_string(),
            sha256=cert.fingerprint(hashes.SHA256()).hex(),
        )

    def to_pem(self) -> str:
        return self.cert_pem + self.key_pem

    @contextlib.contextmanager
    def keybag_file(self) -> Iterator[Path]:
        """A 0600 temporary PEM file (key + certificate) for pymobiledevice3's keybag arguments."""
        fd, name = tempfile.mkstemp(prefix="station-keybag-", suffix=".pem")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(self.key_pem + self.cert_pem)
            yield Path(name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    def cert_der(self) -> bytes:
        """The certificate as DER, as SetCloudConfiguration's SupervisorHostCertificates wants."""
        return x509.load_pem_x509_certificate(self.cert_pem.encode()).public_bytes(
            serialization.Encoding.DER
        )


def generate_supervision_identity(
    organization: str, *, valid_days: int = 3650
) -> SupervisionIdentity:
    """A new self-signed RSA-2048 supervision identity (as Apple Configurator makes one)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, organization)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode() + key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode("ascii")
    return SupervisionIdentity.from_pem(pem, source=organization)
