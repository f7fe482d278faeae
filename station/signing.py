"""Signed blueprints: county IT signs a blueprint and every file it uses; stations verify.

A signature is a detached JSON file next to the blueprint (``demo.toml.sig``) naming the
signer's key id, the sha256 of the TOML and of every referenced file (by path relative to the
blueprint's folder), and an Ed25519 signature over exactly that list. A station holds the
county's public keys (``*.pub`` PEM files in its ``trusted-keys`` folder) and, when signing is
required, refuses a blueprint that is unsigned, signed by a stranger, or changed in any file.

The TOML and every listed file are hashed and compared *before* the blueprint is parsed, so a
tampered .ipa/.apk/profile never reaches the artifact readers of a station that requires
signatures.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from station.blueprint import Blueprint, iter_referenced_files, load_blueprint
from station.errors import BlueprintError, InputError, StationError
from station.secrets import SecretStore, default_data_dir

log = logging.getLogger("station.signing")

FORMAT = "enrollment-station-blueprint-signature/1"
SIGNATURE_SUFFIX = ".sig"
TRUSTED_KEYS_DIR = "trusted-keys"
"""Folder (under the station's data dir) holding the trusted county public keys, ``*.pub``."""
REQUIRE_SIGNED_FILE = "require-signed"
"""Present in the trusted-keys folder: this station refuses unsigned blueprints."""
_MAX_SIGNATURE_BYTES = 1024 * 1024
_ASK_IT = "ask county IT for the signed blueprint folder and copy it unchanged"


class BlueprintSignatureError(BlueprintError):
    """A blueprint whose signature is missing, unknown or does not match its files."""


def _refuse(path: Path, problem: str, hint: str = _ASK_IT) -> BlueprintSignatureError:
    return BlueprintSignatureError(str(path), problem, hint=hint)


# --- keys -----------------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short stable name for a public key: the first 16 hex digits of its sha256."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_keypair() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as (private PKCS#8 PEM, public SubjectPublicKeyInfo PEM)."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private_pem, public_pem(private.public_key())


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_private_key(pem: bytes, *, source: str = "signing key") -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{source} is not an unencrypted PEM private key",
            hint="use the .key file `station blueprint keygen` wrote",
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            f"{source} is not an Ed25519 key", hint="make one: station blueprint keygen"
        )
    return key


def load_public_key(pem: bytes, *, source: str = "public key") -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"{source} is not a PEM public key", hint="use the .pub file county IT gave you"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"{source} is not an Ed25519 public key")
    return key


def load_trusted_keys(paths: Iterable[Path]) -> dict[str, Ed25519PublicKey]:
    """Public keys by key id, from ``.pub`` files and folders of them."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in paths:
        files = sorted(path.glob("*.pub")) if path.is_dir() else [path]
        for file in files:
            try:
                pem = file.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read trusted key {file}: {exc.strerror}") from exc
            key = load_public_key(pem, source=str(file))
            keys[key_id(key)] = key
    return keys


@dataclass(frozen=True)
class SigningPolicy:
    """What this station trusts and whether it insists on signatures."""

    trusted_keys: Mapping[str, Ed25519PublicKey]
    require_signed: bool


def station_policy(data_dir: Path) -> SigningPolicy:
    """The policy in ``<data_dir>/trusted-keys/``: its ``*.pub`` keys and ``require-signed``."""
    folder = data_dir / TRUSTED_KEYS_DIR
    if not folder.is_dir():
        return SigningPolicy({}, require_signed=False)
    return SigningPolicy(
        load_trusted_keys([folder]), require_signed=(folder / REQUIRE_SIGNED_FILE).exists()
    )


# --- what is signed -------------------------------------------------------------------------


def signature_path(blueprint: Path) -> Path:
    return blueprint.with_name(blueprint.name + SIGNATURE_SUFFIX)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _relative(folder: Path, path: Path) -> str:
    """The name a file is signed under: its path relative to the blueprint, with '/'."""
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def _payload(blueprint_name: str, files: Mapping[str, str], signer: str, key: str) -> bytes:
    """The exact bytes that are signed (canonical JSON, so any change breaks the signature)."""
    body = {
        "format": FORMAT,
        "blueprint": blueprint_name,
        "key_id": key,
        "signer": signer,
        "files": dict(sorted(files.items())),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def bundle_files(blueprint: Blueprint) -> dict[str, str]:
    """sha256 of the TOML and of every file the blueprint references, by relative path."""
    folder = blueprint.path.parent
    files = {blueprint.path.name: _sha256_file(blueprint.path)}
    for path in iter_referenced_files(blueprint):
        files[_relative(folder, path)] = _sha256_file(path)
    return files


def sign_blueprint(path: Path, private_key_pem: bytes, *, signer: str = "") -> Path:
    """Check the blueprint, then write ``<path>.sig`` over it and every file it references.

    Secrets are not checked (the signing machine need not hold them); everything else is.
    """
    key = load_private_key(private_key_pem)
    blueprint = load_blueprint(path)
    files = bundle_files(blueprint)
    kid = key_id(key.public_key())
    payload = _payload(path.name, files, signer, kid)
    document = {
        "format": FORMAT,
        "blueprint": path.name,
        "key_id": kid,
        "signer": signer,
        "files": dict(sorted(files.items())),
        "signature": base64.b64encode(key.sign(payload)).decode("ascii"),
    }
    target = signature_path(path)
    target.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    log.info("signed %s (%d files) with key %s", path, len(files), kid)
    return target


# --- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    key_id: str
    name: str
    files: Mapping[str, str]


def _read_signature(path: Path) -> dict[str, Any]:
    sig = signature_path(path)
    try:
        with sig.open("rb") as handle:
            raw = handle.read(_MAX_SIGNATURE_BYTES + 1)
    except FileNotFoundError:
        raise _refuse(
            path,
            f"the blueprint is not signed ({sig.name} is missing) and this station requires "
            "signed blueprints",
        ) from None
    except OSError as exc:
        raise _refuse(path, f"cannot read {sig.name}: {exc.strerror}") from exc
    damaged = f"{sig.name} is not a valid blueprint signature"
    if len(raw) > _MAX_SIGNATURE_BYTES:
        raise _refuse(path, damaged)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _refuse(path, damaged) from exc
    if (
        not isinstance(doc, dict)
        or doc.get("format") != FORMAT
        or not all(isinstance(doc.get(k), str) for k in ("blueprint", "key_id", "signature"))
        or not isinstance(doc.get("signer", ""), str)
        or not isinstance(doc.get("files"), dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in doc["files"].items())
    ):
        raise _refuse(path, damaged)
    return doc


def verify_blueprint(path: Path, trusted_keys: Mapping[str, Ed25519PublicKey]) -> Signer:
    """Check ``<path>.sig`` against the trusted keys and every file on disk; who signed it.

    Raises:
        BlueprintSignatureError: unsigned, unknown signer, damaged signature, or a file that
            was changed, replaced, removed or added after signing.
    """
    doc = _read_signature(path)
    kid, signer = doc["key_id"], doc.get("signer", "")
    files: dict[str, str] = doc["files"]
    key = trusted_keys.get(kid)
    if key is None:
        who = f" ({signer})" if signer else ""
        raise _refuse(
            path,
            f"signed by key {kid}{who}, which this station does not trust",
            hint="install county IT's public key in the station's trusted-keys folder, "
            "or ask county IT to sign the blueprint with the county key",
        )
    try:
        signature = base64.b64decode(doc["signature"], validate=True)
        key.verify(signature, _payload(doc["blueprint"], files, signer, kid))
    except (InvalidSignature, binascii.Error, ValueError) as exc:
        raise _refuse(path, "the signature does not match (the .sig file was altered)") from exc
    if doc["blueprint"] != path.name or path.name not in files:
        raise _refuse(path, f"the signature is for {doc['blueprint']!r}, not {path.name!r}")
    folder = path.parent
    for name, expected in sorted(files.items()):
        file = folder / name
        what = "the blueprint" if name == path.name else name
        try:
            actual = _sha256_file(file)
        except FileNotFoundError:
            raise _refuse(path, f"{what} is signed but missing") from None
        except OSError as exc:
            raise _refuse(path, f"cannot read {what}: {exc.strerror}") from exc
        if actual != expected:
            raise _refuse(path, f"{what} was changed after signing")
    return Signer(kid, signer, files)


def _check_references(path: Path, blueprint: Blueprint, signer: Signer) -> None:
    referenced = {_relative(path.parent, p) for p in iter_referenced_files(blueprint)}
    signed = set(signer.files) - {path.name}
    if extra := sorted(referenced - signed):
        raise _refuse(
            path, f"the blueprint uses {', '.join(extra)}, which the signature does not cover"
        )
    if unused := sorted(signed - referenced):
        raise _refuse(
            path, f"the signature lists {', '.join(unused)}, which the blueprint does not use"
        )
    # Read once more after parsing: a file swapped while the blueprint loaded is caught too.
    for name in sorted(referenced):
        try:
            actual = _sha256_file(path.parent / name)
        except OSError as exc:
            raise _refuse(path, f"cannot read {name}: {exc.strerror}") from exc
        if actual != signer.files[name]:
            raise _refuse(path, f"{name} was changed after signing")


def load_verified_blueprint(
    path: Path,
    *,
    secrets: SecretStore | None,
    trusted_keys: Mapping[str, Ed25519PublicKey],
    require_signed: bool,
) -> Blueprint:
    """:func:`~station.blueprint.load_blueprint` behind the station's signing policy.

    With ``require_signed`` the signature is checked before anything is parsed. Without it, a
    present signature is still checked when the station trusts any key (an altered signed
    blueprint is never used); an unsigned one is loaded with a log line.
    """
    has_signature = signature_path(path).exists()
    if not require_signed and not (has_signature and trusted_keys):
        if not has_signature:
            log.info("%s is not signed; this station does not require signatures", path)
        else:
            log.info("%s is signed, but this station trusts no key: not checked", path)
        return load_blueprint(path, secrets=secrets)
    signer = verify_blueprint(path, trusted_keys)
    blueprint = load_blueprint(path, secrets=secrets)
    _check_references(path, blueprint, signer)
    log.info("%s: signature by %s (%s) verified", path, signer.key_id, signer.name or "unnamed")
    return blueprint


# --- command line ---------------------------------------------------------------------------


def _write_private(path: Path, data: bytes) -> None:
    """A new owner-only file (never replaces an existing key)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def cmd_keygen(args: argparse.Namespace) -> int:
    base = Path(args.out)
    private_path, public_path = base.with_suffix(".key"), base.with_suffix(".pub")
    private_pem, pub = generate_keypair()
    try:
        _write_private(private_path, private_pem)
    except FileExistsError:
        sys.stderr.write(f"station: error: {private_path} exists; not overwriting a key\n")
        return 2
    public_path.write_bytes(pub)
    kid = key_id(load_public_key(pub))
    sys.stdout.write(
        f"key {kid}\n  private (keep it safe, owner-only): {private_path}\n"
        f"  public (install on stations):         {public_path}\n"
    )
    return 0


def cmd_sign(args: argparse.Namespace) -> int:
    try:
        target = sign_blueprint(
            Path(args.blueprint), Path(args.key).read_bytes(), signer=args.signer
        )
    except OSError as exc:
        sys.stderr.write(f"station: error: cannot read {args.key}: {exc.strerror}\n")
        return 2
    except StationError as exc:
        sys.stderr.write(f"station: error: {exc}\n")
        return 2
    sys.stdout.write(f"wrote {target}\n")
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    sources = [Path(p) for p in args.trusted] or [
        (Path(args.data_dir) if args.data_dir else default_data_dir()) / TRUSTED_KEYS_DIR
    ]
    try:
        keys = load_trusted_keys(p for p in sources if p.exists())
        path = Path(args.blueprint)
        signer = verify_blueprint(path, keys)
        blueprint = load_blueprint(path)
        _check_references(path, blueprint, signer)
    except StationError as exc:
        sys.stderr.write(f"station: error: {exc}\n")
        return 1
    sys.stdout.write(
        f"{args.blueprint}: signed by key {signer.key_id} ({signer.name or 'unnamed'}), "
        f"{len(signer.files)} files unchanged\n"
    )
    return 0


def add_parser(subparsers: Any) -> None:
    """``station blueprint keygen|sign|verify``."""
    parser = subparsers.add_parser("blueprint", help="sign and verify blueprints (county IT)")
    sub = parser.add_subparsers(dest="blueprint_command", metavar="ACTION", required=True)
    keygen = sub.add_parser("keygen", help="make a county signing key pair (.key and .pub)")
    keygen.add_argument("out", help="file name without suffix, e.g. county-it")
    keygen.set_defaults(func=cmd_keygen)
    sign = sub.add_parser("sign", help="sign a blueprint and every file it uses")
    sign.add_argument("blueprint", help="the blueprint TOML file")
    sign.add_argument("--key", required=True, help="the private .key file")
    sign.add_argument("--signer", default="", help="who signs, e.g. 'Kreis Segeberg Schul-IT'")
    sign.set_defaults(func=cmd_sign)
    verify = sub.add_parser("verify", help="check a blueprint's signature and files")
    verify.add_argument("blueprint", help="the blueprint TOML file")
    verify.add_argument(
        "--trusted",
        action="append",
        default=[],
        help="a trusted .pub file or folder of them (repeatable); "
        "default: the station's trusted-keys folder",
    )
    verify.add_argument("--data-dir", default=None, help="the station's data dir")
    verify.set_defaults(func=cmd_verify)
