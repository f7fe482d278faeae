"""Mutated real files (the demo's .ipa, .apk, profiles and the blueprint over them) give input
errors naming the file, never a crash: the readers and the blueprint loader are the boundary."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.artifacts.apk import read_apk
from station.artifacts.ipa import read_ipa
from station.artifacts.mobileconfig import read_mobileconfig
from station.blueprint import Blueprint, load_blueprint
from station.errors import ArtifactError, BlueprintError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FILES = {
    "ipa": "demo/apps/lernapp.ipa",
    "apk": "demo/apps/mdm-agent.apk",
    "profile": "demo/profiles/mdm-enrollment.mobileconfig",
}


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """Flipped bytes, a cut, an insertion or a repeated piece (a bad copy, or an attacker)."""
    blob = bytearray(original)
    for _ in range(draw(st.integers(0, 6))):
        spot = draw(st.integers(0, len(blob) - 1))
        blob[spot] = draw(st.integers(0, 255))
    kind = draw(st.sampled_from(["none", "cut", "insert", "repeat"]))
    if kind == "cut":
        blob = blob[: draw(st.integers(0, len(blob)))]
    elif kind == "insert":
        spot = draw(st.integers(0, len(blob)))
        blob[spot:spot] = draw(st.binary(min_size=1, max_size=64))
    elif kind == "repeat":
        start = draw(st.integers(0, len(blob) - 1))
        piece = blob[start : start + draw(st.integers(1, 512))]
        blob[start:start] = piece * draw(st.integers(1, 4))
    return bytes(blob)


def _read(kind: str, path: Path) -> object:
    if kind == "ipa":
        return read_ipa(path)
    if kind == "apk":
        return read_apk(path)
    return read_mobileconfig(path.read_bytes(), source=str(path))


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(FILES)))
def test_mutated_app_and_profile_files(
    demo_folder: Path, tmp_path: Path, data: st.DataObject, kind: str
) -> None:
    original = (demo_folder / FILES[kind]).read_bytes()
    path = tmp_path / f"mutated-{kind}"
    path.write_bytes(data.draw(mutated(original)))
    try:
        _read(kind, path)
    except ArtifactError as exc:
        problem = exc
    else:
        return
    assert str(path) in str(problem)


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(FILES)))
def test_blueprint_over_a_mutated_file(
    demo_folder: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, kind: str
) -> None:
    """The loader reports a damaged referenced file as a blueprint problem, with its line."""
    folder = tmp_path_factory.mktemp("bp")
    shutil.copytree(demo_folder, folder, dirs_exist_ok=True)
    target = folder / FILES[kind]
    target.write_bytes(data.draw(mutated(target.read_bytes())))
    try:
        outcome: object = load_blueprint(folder / "demo.toml")
    except BlueprintError as exc:
        outcome = exc
    assert isinstance(outcome, Blueprint | BlueprintError)


@FUZZ
@given(data=st.data())
def test_mutated_blueprint_text(demo_folder: Path, data: st.DataObject) -> None:
    """Byte-level damage to the TOML itself (in place beside its real files)."""
    original = (demo_folder / "demo.toml").read_bytes()
    path = demo_folder / "fuzzed.toml"
    path.write_bytes(data.draw(mutated(original)))
    try:
        outcome: object = load_blueprint(path)
    except BlueprintError as exc:
        outcome = exc
    finally:
        path.unlink()
    assert isinstance(outcome, Blueprint | BlueprintError)
