"""Blueprints: the demo loads; every malformed blueprint names file, line, key and expectation."""

from __future__ import annotations

import itertools
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station.blueprint import (
    IOS_SKIP_KEYS,
    AssetTagScheme,
    Blueprint,
    InvalidBlueprint,
    School,
    load_blueprint,
    render_device_name,
    template_problems,
)
from station.errors import BlueprintError
from station.secrets import SecretStore, generate_supervision_identity
from station.sim.artifacts.demo import ensure_demo_files
from station.sim.artifacts.ios import make_supervision_identity, sign_profile
from station.store import Store

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "resources" / "blueprints" / "demo.toml"

GOOD = """\
name = "Testschule 2026/27"
school = { id = "SEG042", name = "Testschule", operator = "Amt Bornhöved" }
asset_tag = { prefix = "SEG042-", digits = 5 }
device_name = "{school.id}-{asset_tag}"

[ios]
supervise = { organization = "Kreis Segeberg Schul-IT", identity = "supervision-2026" }
skip_setup = "all"
profiles = ["demo/profiles/mdm-enrollment.mobileconfig"]
apps = ["demo/apps/lernapp.ipa"]

[android]
apps = ["demo/apps/mdm-agent.apk", "demo/apps/lernapp.apk"]
device_owner = "de.kreissegeberg.schulit.mdm/.AdminReceiver"
settings = { "global.auto_time" = "1" }
finish = { disable_usb_debugging = true }
"""

_counter = itertools.count()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the demo blueprint and its generated files (made once per module)."""
    folder = tmp_path_factory.mktemp("blueprints")
    shutil.copy(DEMO, folder / "demo.toml")
    created = ensure_demo_files(folder)
    assert len(created) == 6
    assert ensure_demo_files(folder) == []  # idempotent: existing files are kept
    return folder


def _write(root: Path, text: str) -> Path:
    path = root / f"case{next(_counter)}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _problems(root: Path, text: str, secrets: SecretStore | None = None) -> list[str]:
    path = _write(root, text)
    with pytest.raises(InvalidBlueprint) as info:
        load_blueprint(path, secrets=secrets)
    err = info.value
    assert isinstance(err, BlueprintError)
    assert str(path) in str(err)
    assert len(err.issues) >= 1
    lines = [str(issue) for issue in err.issues]
    for line in lines:
        assert line.startswith(str(path))
    return [line.removeprefix(str(path)) for line in lines]


@pytest.fixture
def secrets(tmp_path: Path) -> SecretStore:
    store = SecretStore(data_dir=tmp_path, force_file=True)
    store.set_identity("supervision-2026", generate_supervision_identity("Schul-IT"))
    store.set("wlan-schule", "geheim")
    return store


def test_demo_blueprint_loads_with_its_secrets(root: Path, secrets: SecretStore) -> None:
    bp = load_blueprint(root / "demo.toml", secrets=secrets)
    assert bp.school == School("SEG042", "Sventana-Grund- und Gemeinschaftsschule", "Amt Bornhöved")
    assert bp.asset_tag == AssetTagScheme("SEG042-", 5, 1)
    assert bp.ios is not None
    assert bp.android is not None
    assert bp.ios.supervise is not None
    assert bp.ios.supervise.identity == "supervision-2026"
    assert bp.ios.skip_setup == tuple(IOS_SKIP_KEYS)
    assert bp.ios.apps[0].info.bundle_id == "de.kreissegeberg.lernapp"
    assert bp.ios.apps[0].info.short_version == "4.1.2"
    assert [p.info.identifier for p in bp.ios.profiles] == [
        "de.kreissegeberg.schulit.wlan",
        "de.kreissegeberg.schulit.mdm-enrollment",
    ]
    assert bp.ios.profiles[0].secrets == {"Password": "wlan-schule"}
    assert [a.info.package for a in bp.android.apps] == [
        "de.kreissegeberg.schulit.mdm",
        "de.kreissegeberg.lernapp",
    ]
    assert bp.android.apps[0].info.version_code == 27
    assert bp.android.device_owner == "de.kreissegeberg.schulit.mdm/.AdminReceiver"
    assert bp.android.settings["global.auto_time"] == "1"
    assert bp.android.files[0].dest == "/sdcard/Documents/willkommen.txt"
    assert bp.android.finish.disable_usb_debugging
    assert bp.secret_names() == ("supervision-2026", "wlan-schule")
    assert re.fullmatch(r"[0-9a-f]{64}", bp.content_hash)
    assert bp.render_device_name(asset_tag="SEG042-00017") == "Tablet SEG042-00017"


def test_content_hash_covers_referenced_files(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(root, folder)
    before = load_blueprint(folder / "demo.toml").content_hash
    assert load_blueprint(folder / "demo.toml").content_hash == before
    (folder / "demo" / "files" / "willkommen.txt").write_text("Neuer Text", encoding="utf-8")
    assert load_blueprint(folder / "demo.toml").content_hash != before


def test_blueprint_hash_goes_into_the_records(root: Path, tmp_path: Path) -> None:
    bp = load_blueprint(root / "demo.toml")
    with Store(tmp_path / "station.db") as store:
        run = store.start_run(bp.name, bp.content_hash)
        device = store.upsert_device("ios", "F9FXXXX1", "00008101-0001")
        tag = store.allocate_asset_tag(bp.asset_tag, device.id, run_id=run.id)
        assert tag == "SEG042-00001"
        assert bp.render_device_name(asset_tag=tag) == "Tablet SEG042-00001"
        assert store.runs()[0].blueprint_hash == bp.content_hash


def test_toml_syntax_error_names_the_line(root: Path) -> None:
    text = GOOD.replace('skip_setup = "all"', "skip_setup = all")
    [problem] = _problems(root, text)
    line = text.splitlines().index("skip_setup = all") + 1
    assert problem.startswith(f":{line}: not valid TOML")


def test_wrong_type_names_key_line_and_expectation(root: Path) -> None:
    text = GOOD.replace("digits = 5", 'digits = "fünf"')
    [problem] = _problems(root, text)
    assert (
        problem == ":3 asset_tag.digits: is a string 'fünf', expected a whole number from 1 to 12"
    )


def test_unknown_key_suggests_the_close_match(root: Path) -> None:
    text = GOOD.replace("profiles = [", "profils = [")
    [problem] = _problems(root, text)
    assert problem == ":9 ios.profils: unknown key, did you mean 'profiles'?"
    [problem] = _problems(root, GOOD + "\n[timeout]\nstep = 10\n")
    assert "timeout: unknown key, did you mean 'timeouts'?" in problem


def test_missing_file_is_named_with_its_key(root: Path) -> None:
    text = GOOD.replace("demo/apps/lernapp.ipa", "demo/apps/fehlt.ipa")
    [problem] = _problems(root, text)
    assert problem.startswith(":10 ios.apps[0]: file 'demo/apps/fehlt.ipa' does not exist")
    assert "expected a path to a .ipa file, relative to the blueprint" in problem


def test_corrupt_ipa_and_apk_are_reported_by_key(root: Path) -> None:
    (root / "kaputt.ipa").write_bytes(b"PK\x03\x04 this is no zip")
    with zipfile.ZipFile(root / "leer.apk", "w") as zf:
        zf.writestr("classes.dex", b"dex\n035\x00")
    text = GOOD.replace("demo/apps/lernapp.ipa", "kaputt.ipa").replace(
        '"demo/apps/lernapp.apk"', '"leer.apk"'
    )
    problems = _problems(root, text)
    assert len(problems) == 2
    assert problems[0].startswith(":10 ios.apps[0]: ")
    assert problems[0].endswith(")")  # the reader's hint is kept
    assert "expected a valid .ipa file" in problems[0]
    assert problems[1].startswith(":13 android.apps[1]: ")
    assert "expected a valid .apk file" in problems[1]


def test_corrupt_profile_is_reported_by_key(root: Path) -> None:
    (root / "kaputt.mobileconfig").write_text("<plist><dict><key>x</key></dict>")
    text = GOOD.replace("demo/profiles/mdm-enrollment.mobileconfig", "kaputt.mobileconfig")
    [problem] = _problems(root, text)
    assert problem.startswith(":9 ios.profiles[0]: ")
    assert "expected a valid configuration profile" in problem


def test_bad_component_and_foreign_package(root: Path) -> None:
    text = GOOD.replace("de.kreissegeberg.schulit.mdm/.AdminReceiver", "AdminReceiver")
    [problem] = _problems(root, text)
    assert problem.startswith(":14 android.device_owner: 'AdminReceiver' is not a component name")
    text = GOOD.replace("de.kreissegeberg.schulit.mdm/.AdminReceiver", "com.example.mdm/.Admin")
    [problem] = _problems(root, text)
    assert "package com.example.mdm is not among android.apps" in problem
    assert "de.kreissegeberg.schulit.mdm, de.kreissegeberg.lernapp" in problem


def test_undefined_secret_names_it_and_how_to_store_it(root: Path, tmp_path: Path) -> None:
    empty = SecretStore(data_dir=tmp_path / "empty", force_file=True)
    problems = _problems(root, (root / "demo.toml").read_text(encoding="utf-8"), empty)
    assert len(problems) == 3
    assert problems[0].startswith(
        ":15 ios.supervise.identity: secret 'supervision-2026' is not stored on this station"
    )
    assert "(store it with: station secrets set supervision-2026)" in problems[0]
    assert "ios.profiles[0].secrets.Password: secret 'wlan-schule'" in problems[1]
    assert "station secrets set wlan-schule" in problems[1]
    assert "android.provisioning.wifi_password_secret: secret 'wlan-schule'" in problems[2]


def test_identity_secret_must_hold_a_certificate_and_key(root: Path, tmp_path: Path) -> None:
    store = SecretStore(data_dir=tmp_path / "s", force_file=True)
    store.set("supervision-2026", "just a password")
    [problem] = _problems(root, GOOD, store)
    assert "ios.supervise.identity: secret 'supervision-2026' is not a supervision identity" in (
        problem
    )


def test_profile_secrets_must_fit_the_profile(root: Path) -> None:
    cert, key, _keybag = make_supervision_identity("Schul-IT")
    wifi = (root / "demo/profiles/wlan-schule.mobileconfig").read_bytes()
    (root / "signed-wlan.mobileconfig").write_bytes(sign_profile(wifi, cert, key))
    text = GOOD.replace(
        'profiles = ["demo/profiles/mdm-enrollment.mobileconfig"]',
        "profiles = [\n"
        '  { path = "demo/profiles/wlan-schule.mobileconfig", secrets = { Passwort = "w" } },\n'
        '  { path = "signed-wlan.mobileconfig", secrets = { Password = "w" } },\n'
        '  { file = "x.mobileconfig" },\n'
        "]",
    )
    problems = _problems(root, text)
    joined = "\n".join(problems)
    assert ":10 ios.profiles[0].secrets.Passwort: no payload in wlan-schule.mobileconfig" in joined
    assert ":11 ios.profiles[1].secrets: a signed profile cannot have secrets filled in" in joined
    assert ":12 ios.profiles[2].file: unknown key" in joined
    assert ":12 ios.profiles[2]: missing key 'path'" in joined
    assert ":11 ios.profiles[1]: profile de.kreissegeberg.schulit.wlan is listed twice" in joined
    assert len(problems) == 5


def test_skip_setup_forms() -> None:
    assert set(IOS_SKIP_KEYS) >= {"AppleID", "Siri", "TOS", "Restore", "Passcode", "Location"}
    assert "FileVault" not in IOS_SKIP_KEYS  # macOS only


def test_skip_setup_list_and_none(root: Path) -> None:
    for value, expected in (('["Siri", "TOS", "Siri"]', ("Siri", "TOS")), ('"none"', ())):
        text = GOOD.replace('skip_setup = "all"', f"skip_setup = {value}")
        bp = load_blueprint(_write(root, text))
        assert bp.ios is not None
        assert bp.ios.skip_setup == expected


def test_all_problems_are_collected(root: Path) -> None:
    text = (
        GOOD.replace('id = "SEG042"', 'id = "SEG 042"')
        .replace("digits = 5", "digits = 0")
        .replace("{asset_tag}", "{asset}")
        .replace('skip_setup = "all"', 'skip_setup = ["Siri", "FileVault", "Diagnostix"]')
        .replace('"global.auto_time"', '"globl.auto_time"')
        .replace("disable_usb_debugging = true", 'disable_usb_debugging = "yes"')
    )
    problems = _problems(root, text)
    joined = "\n".join(problems)
    assert ":2 school.id: 'SEG 042' has the wrong form" in joined
    assert ":3 asset_tag.digits: is a whole number 0" in joined
    assert ":4 device_name: unknown placeholder {asset} (did you mean {asset_tag}?)" in joined
    assert "ios.skip_setup[1]: 'FileVault' is not an iOS skip key" in joined
    assert "ios.skip_setup[2]: unknown skip key 'Diagnostix', did you mean 'Diagnostics'?" in joined
    assert "android.settings.\"globl.auto_time\": 'globl.auto_time' is not a setting name, " in (
        joined
    )
    assert "did you mean 'global'?" in joined
    assert (
        ":16 android.finish.disable_usb_debugging: is a string 'yes', expected true or false"
        in (joined)
    )
    assert len(problems) == 7


def test_files_and_settings_shapes(root: Path) -> None:
    text = GOOD + (
        'files = [\n  { src = "demo/files/willkommen.txt", dest = "Documents/x.txt" },\n'
        '  { src = "nicht-da.txt", dest = "/sdcard/x.txt" },\n]\n'
    )
    text = text.replace(
        'settings = { "global.auto_time" = "1" }', "settings = { global.auto_time = [1] }"
    )
    problems = _problems(root, text)
    joined = "\n".join(problems)
    assert "android.settings.global.auto_time: is an array, expected a string" in joined
    assert ":18 android.files[0].dest: 'Documents/x.txt' has the wrong form" in joined
    assert ":19 android.files[1].src: file 'nicht-da.txt' does not exist" in joined


def test_missing_sections_and_top_level_keys(root: Path) -> None:
    problems = _problems(root, 'name = "x"\n')
    assert problems == [
        ": missing key 'school'",
        ": missing key 'asset_tag'",
        ": the blueprint has neither an [ios] nor an [android] section",
    ]


def test_unreadable_and_non_utf8_files(root: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidBlueprint, match="cannot read"):
        load_blueprint(tmp_path / "nope.toml")
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Bornh\xf6ved"\n'.encode("latin-1"))
    with pytest.raises(InvalidBlueprint, match=r":1: not UTF-8 text"):
        load_blueprint(path)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{school.id}-{asset_tag}", None),
        ("iPad {slot}", None),
        ("{school.id}", "every device would get the same name"),
        ("{asset_tag!r}", "takes no format or conversion"),
        ("{asset_tag:>10}", "takes no format or conversion"),
        ("{serial", "expected '}'"),
        ("{school.idx}-{serial}", "did you mean {school.id}?"),
    ],
)
def test_device_name_templates(template: str, problem: str | None) -> None:
    problems = template_problems(template)
    if problem is None:
        assert problems == []
    else:
        assert problem in " ".join(problems)


def test_render_device_name() -> None:
    school = School("SEG042", "Sventana-Schule", "Amt Bornhöved")
    name = render_device_name(
        "{school.id}-{asset_tag} ({model}, Platz {slot}) {{{serial}}}",
        school=school,
        asset_tag="SEG042-00017",
        serial="F9FX",
        slot=7,
        model="iPad13,18",
    )
    assert name == "SEG042-SEG042-00017 (iPad13,18, Platz 7) {F9FX}"


# --- fuzzing: whatever the text, the only failure is a BlueprintError ---------------------------

_KEYS = st.sampled_from(
    [
        "name",
        "school",
        "asset_tag",
        "device_name",
        "ios",
        "android",
        "id",
        "prefix",
        "digits",
        "apps",
        "profiles",
        "settings",
        "files",
        "skip_setup",
        "supervise",
        "device_owner",
        "finish",
        "timeouts",
        "retries",
        "step",
        "attempts",
        "src",
        "dest",
        '"global.x"',
        "x",
    ]
)
_SCALARS = st.one_of(
    st.text(max_size=12).map(lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.integers(-(10**15), 10**15).map(str),
    st.sampled_from(
        ["true", "false", "1.5", "inf", "nan", "1979-05-27", "07:32:00", '"all"', '"demo.toml"']
    ),
    st.sampled_from(['"demo/apps/lernapp.ipa"', '"demo/apps/mdm-agent.apk"', '"/etc/passwd"']),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(st.tuples(_KEYS, inner), max_size=3).map(
            lambda kv: "{ " + ", ".join(f"{k} = {v}" for k, v in dict(kv).items()) + " }"
        ),
    ),
    max_leaves=8,
)
_LINES = st.one_of(
    st.tuples(_KEYS, _VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.sampled_from(
        ["[ios]", "[android]", "[school]", "[timeouts]", "[[ios.apps]]", "[asset_tag]"]
    ),
    st.text(max_size=20),
)


def _load_or_error(path: Path) -> Blueprint | BlueprintError:
    """Any exception other than a BlueprintError propagates and fails the test."""
    try:
        return load_blueprint(path)
    except BlueprintError as exc:
        return exc


_FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_GOOD_LINES = GOOD.splitlines()
_ASSIGNMENTS = [i for i, line in enumerate(_GOOD_LINES) if " = " in line]


@_FUZZ
@given(lines=st.lists(_LINES, max_size=12))
def test_fuzzed_blueprints_only_raise_blueprint_error(root: Path, lines: list[str]) -> None:
    path = root / "fuzz.toml"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    outcome = _load_or_error(path)
    assert isinstance(outcome, Blueprint) or str(path) in str(outcome)


@_FUZZ
@given(edits=st.lists(st.tuples(st.sampled_from(_ASSIGNMENTS), _VALUES), min_size=1, max_size=3))
def test_fuzzed_values_in_a_good_blueprint_only_raise_blueprint_error(
    root: Path, edits: list[tuple[int, str]]
) -> None:
    """Each edit puts a random value under one of a valid blueprint's keys."""
    lines = list(_GOOD_LINES)
    for index, value in edits:
        lines[index] = lines[index].split(" = ", 1)[0] + " = " + value
    path = root / "fuzz-values.toml"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    outcome = _load_or_error(path)
    assert isinstance(outcome, Blueprint) or str(path) in str(outcome)


@_FUZZ
@given(data=st.binary(max_size=200))
def test_fuzzed_bytes_only_raise_blueprint_error(root: Path, data: bytes) -> None:
    path = root / "fuzz-bytes.toml"
    path.write_bytes(GOOD.encode()[: len(data)] + data)
    outcome = _load_or_error(path)
    assert isinstance(outcome, Blueprint | BlueprintError)
