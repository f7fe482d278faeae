"""Signed blueprints: a station that requires signatures refuses unsigned or altered ones."""

from __future__ import annotations

import argparse
import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from station.blueprint import load_blueprint
from station.errors import BlueprintError
from station.secrets import SecretStore
from station.signing import (
    BlueprintSignatureError,
    _payload,
    add_parser,
    generate_keypair,
    key_id,
    load_private_key,
    load_public_key,
    load_trusted_keys,
    load_verified_blueprint,
    public_pem,
    sign_blueprint,
    signature_path,
    station_policy,
    verify_blueprint,
)

APP = "demo/apps/lernapp.ipa"
PROFILE = "demo/profiles/mdm-enrollment.mobileconfig"


@pytest.fixture(scope="module")
def county_key() -> tuple[bytes, Ed25519PublicKey]:
    private, public = generate_keypair()
    return private, load_public_key(public)


@pytest.fixture
def trusted(county_key: tuple[bytes, Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    return {key_id(county_key[1]): county_key[1]}


@pytest.fixture
def signed(blueprint_copy: Path, county_key: tuple[bytes, Ed25519PublicKey]) -> Path:
    sign_blueprint(blueprint_copy, county_key[0], signer="Kreis Segeberg Schul-IT")
    return blueprint_copy


def _load(path: Path, trusted: dict[str, Ed25519PublicKey], *, required: bool = True) -> object:
    return load_verified_blueprint(
        path, secrets=None, trusted_keys=trusted, require_signed=required
    )


def test_signed_blueprint_verifies_and_loads(
    signed: Path, trusted: dict[str, Ed25519PublicKey]
) -> None:
    signer = verify_blueprint(signed, trusted)
    assert signer.name == "Kreis Segeberg Schul-IT"
    assert set(signer.files) >= {"demo.toml", APP, PROFILE, "demo/files/willkommen.txt"}
    sig = json.loads(signature_path(signed).read_text())
    assert sig["key_id"] == signer.key_id
    blueprint = _load(signed, trusted)
    assert blueprint == load_blueprint(signed)


def test_unsigned_blueprint_refused_when_required(
    blueprint_copy: Path, trusted: dict[str, Ed25519PublicKey]
) -> None:
    with pytest.raises(BlueprintSignatureError, match=r"not signed \(demo.toml.sig is missing\)"):
        _load(blueprint_copy, trusted)
    # Not required: an unsigned blueprint loads as before.
    assert _load(blueprint_copy, trusted, required=False) == load_blueprint(blueprint_copy)


def test_unknown_signer_refused(blueprint_copy: Path, trusted: dict[str, Ed25519PublicKey]) -> None:
    stranger, _ = generate_keypair()
    sign_blueprint(blueprint_copy, stranger, signer="Somebody")
    with pytest.raises(BlueprintSignatureError, match="which this station does not trust") as info:
        _load(blueprint_copy, trusted)
    assert "trusted-keys" in info.value.hint
    assert isinstance(info.value, BlueprintError)


def test_altered_toml_refused(signed: Path, trusted: dict[str, Ed25519PublicKey]) -> None:
    text = signed.read_text(encoding="utf-8")
    signed.write_text(text.replace('erase = "when-not-fresh"', 'erase = "never"'), encoding="utf-8")
    with pytest.raises(BlueprintSignatureError, match="the blueprint was changed after signing"):
        _load(signed, trusted)
    # A station that does not require signatures still never uses an altered signed blueprint.
    with pytest.raises(BlueprintSignatureError, match="changed after signing"):
        _load(signed, trusted, required=False)


@pytest.mark.parametrize("name", [APP, PROFILE])
def test_altered_or_replaced_file_refused(
    signed: Path, trusted: dict[str, Ed25519PublicKey], name: str
) -> None:
    target = signed.parent / name
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(BlueprintSignatureError, match=f"{name} was changed after signing"):
        _load(signed, trusted)


def test_replaced_app_refused_before_it_is_parsed(
    signed: Path, trusted: dict[str, Ed25519PublicKey]
) -> None:
    (signed.parent / APP).write_bytes(b"PK\x03\x04 not what county IT signed")
    with pytest.raises(BlueprintSignatureError, match="changed after signing"):
        _load(signed, trusted)


def test_missing_file_refused(signed: Path, trusted: dict[str, Ed25519PublicKey]) -> None:
    (signed.parent / PROFILE).unlink()
    with pytest.raises(BlueprintSignatureError, match=f"{PROFILE} is signed but missing"):
        _load(signed, trusted)


def _resign(path: Path, private_pem: bytes, files: dict[str, str]) -> None:
    """A signature made by the trusted key over a different file list (an older bundle)."""
    key = load_private_key(private_pem)
    kid = key_id(key.public_key())
    signature = key.sign(_payload(path.name, files, "", kid))
    doc = {
        "format": json.loads(signature_path(path).read_text())["format"],
        "blueprint": path.name,
        "key_id": kid,
        "signer": "",
        "files": files,
        "signature": base64.b64encode(signature).decode(),
    }
    signature_path(path).write_text(json.dumps(doc))


def test_file_not_covered_by_signature_refused(
    signed: Path, trusted: dict[str, Ed25519PublicKey], county_key: tuple[bytes, Ed25519PublicKey]
) -> None:
    files = json.loads(signature_path(signed).read_text())["files"]
    del files[APP]
    _resign(signed, county_key[0], files)
    with pytest.raises(BlueprintSignatureError, match=f"uses {APP}, which the signature does not"):
        _load(signed, trusted)


def test_extra_signed_file_refused(
    signed: Path, trusted: dict[str, Ed25519PublicKey], county_key: tuple[bytes, Ed25519PublicKey]
) -> None:
    (signed.parent / "extra.txt").write_text("x")
    files = json.loads(signature_path(signed).read_text())["files"]
    files["extra.txt"] = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    _resign(signed, county_key[0], files)
    with pytest.raises(BlueprintSignatureError, match=r"lists extra\.txt, which the"):
        _load(signed, trusted)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(signature=base64.b64encode(b"\0" * 64).decode()),
        lambda d: d.update(signature="not base64!"),
        lambda d: d["files"].update({"demo.toml": "0" * 64}),
        lambda d: d.update(signer="Evil"),
        lambda d: d.update(files=[]),
        lambda d: d.update(format="v0"),
    ],
    ids=["zero-signature", "bad-base64", "edited-hash", "edited-signer", "bad-shape", "format"],
)
def test_altered_signature_file_refused(
    signed: Path, trusted: dict[str, Ed25519PublicKey], mutate: object
) -> None:
    doc = json.loads(signature_path(signed).read_text())
    mutate(doc)  # type: ignore[operator]
    signature_path(signed).write_text(json.dumps(doc))
    with pytest.raises(BlueprintSignatureError, match="signature"):
        _load(signed, trusted)


@pytest.mark.parametrize("garbage", [b"", b"\xff\xfe", b"[]", b"{" * 100000, b"null"])
def test_garbage_signature_file_refused(
    signed: Path, trusted: dict[str, Ed25519PublicKey], garbage: bytes
) -> None:
    signature_path(signed).write_bytes(garbage)
    with pytest.raises(BlueprintSignatureError, match="not a valid blueprint signature"):
        _load(signed, trusted)


def test_station_policy_and_secrets(
    signed: Path, county_key: tuple[bytes, Ed25519PublicKey], tmp_path: Path
) -> None:
    data_dir = tmp_path / "station"
    assert station_policy(data_dir).require_signed is False
    folder = data_dir / "trusted-keys"
    folder.mkdir(parents=True)
    (folder / "county.pub").write_bytes(public_pem(county_key[1]))
    (folder / "require-signed").touch()
    policy = station_policy(data_dir)
    assert policy.require_signed
    assert list(policy.trusted_keys) == [key_id(county_key[1])]
    assert load_trusted_keys([folder / "county.pub"]).keys() == policy.trusted_keys.keys()
    secrets = SecretStore(data_dir=data_dir, force_file=True)
    with pytest.raises(BlueprintError, match="supervision-2026"):
        # Verified, then validated as usual: the secrets it names must be stored.
        load_verified_blueprint(
            signed, secrets=secrets, trusted_keys=policy.trusted_keys, require_signed=True
        )


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="station")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


def test_cli_keygen_sign_verify(
    blueprint_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "county-it"
    assert _cli(["blueprint", "keygen", str(base)]) == 0
    key = tmp_path / "county-it.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert _cli(["blueprint", "keygen", str(base)]) == 2  # never overwrites a key
    assert _cli(["blueprint", "sign", str(blueprint_copy), "--key", str(key)]) == 0
    pub = str(tmp_path / "county-it.pub")
    assert _cli(["blueprint", "verify", str(blueprint_copy), "--trusted", pub]) == 0
    assert "files unchanged" in capsys.readouterr().out
    (blueprint_copy.parent / APP).write_bytes(b"tampered")
    assert _cli(["blueprint", "verify", str(blueprint_copy), "--trusted", pub]) == 1
    assert "lernapp.ipa was changed after signing" in capsys.readouterr().err
