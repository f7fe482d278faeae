"""A small /system/bin/sh: the commands provisioning uses, with the real texts and exit codes."""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import logging
import posixpath
import stat
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from station.artifacts.apk import ApkInfo, has_signing_block, read_apk
from station.errors import ArtifactError
from station.sim.android.device import AndroidPackage, VirtualAndroid
from station.sim.android.sync import DeviceFiles, FileWriter, FsError
from station.sim.bandwidth import HubLink
from station.sim.clock import SimClock

log = logging.getLogger("station.sim.android")
_T = TypeVar("_T")

SH = "/system/bin/sh"
SYSTEM_PACKAGES = (
    "android",
    "com.android.settings",
    "com.android.shell",
    "com.android.systemui",
    "com.android.providers.settings",
    "com.android.vending",
)
NAMESPACES = ("global", "secure", "system")
_STATUS = "\x00?"  # stands for "$?" until the command runs
_GLOB = "\x02"  # an unquoted "*", expanded against the tablet's files
_OPERATORS = ("2>&1", "&&", "||", ">>", "2>", ";", "|", ">")


class StdinGone(Exception):
    """The client hung up while a command was still reading its input."""


@dataclass
class ShellEnv:
    """What a command may touch: the tablet, its files, its hub and the server's effects."""

    tablet: VirtualAndroid
    files: DeviceFiles
    clock: SimClock
    link: HubLink
    save: Callable[[], None]
    reboot: Callable[[], None]  # drop the connection, go offline, come back after boot
    boot_completed: Callable[[], bool]
    stdin: asyncio.StreamReader | None = None
    # Parsing and hashing APKs runs here, not in the loop's default executor: a client in
    # the same process may fill that with blocking adb calls that wait for us.
    executor: Executor | None = None
    # Called when Settings.Global.ADB_ENABLED changes (True: on): Android's AdbService
    # watches that setting and stops adbd when it goes off.
    adb_enabled: Callable[[bool], None] | None = None


@dataclass
class Output:
    """Collected (stream, bytes) pieces; 1 is stdout and 2 is stderr, in order."""

    pieces: list[tuple[int, bytes]] = field(default_factory=list)

    def out(self, text: str) -> None:
        if text:
            self.pieces.append((1, text.encode()))

    def err(self, text: str) -> None:
        if text:
            self.pieces.append((2, text.encode()))

    def stdout_text(self) -> str:
        return b"".join(d for s, d in self.pieces if s == 1).decode(errors="replace")


Command = Callable[["Shell", list[str], Output], Awaitable[int]]


# --- parsing -------------------------------------------------------------------------


def tokenize(line: str) -> list[str]:
    """Words and operators (; && || | > >> 2> 2>&1) of one command line, quotes removed."""
    tokens: list[str] = []
    word: list[str] = []
    have_word = False
    i = 0
    while i < len(line):
        c = line[i]
        if c in " \t\n":
            if have_word:
                tokens.append("".join(word))
                word, have_word = [], False
            i += 1
        elif c == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise SyntaxError("unterminated '")
            word.append(line[i + 1 : end])
            have_word = True
            i = end + 1
        elif c == '"':
            i += 1
            while i < len(line) and line[i] != '"':
                if line[i] == "\\" and i + 1 < len(line) and line[i + 1] in '"\\$`':
                    word.append(line[i + 1])
                    i += 2
                elif line.startswith("$?", i):
                    word.append(_STATUS)
                    i += 2
                else:
                    word.append(line[i])
                    i += 1
            if i >= len(line):
                raise SyntaxError('unterminated "')
            have_word = True
            i += 1
        elif c == "\\" and i + 1 < len(line):
            word.append(line[i + 1])
            have_word = True
            i += 2
        elif line.startswith("$?", i):
            word.append(_STATUS)
            have_word = True
            i += 2
        elif c == "*":
            word.append(_GLOB)
            have_word = True
            i += 1
        else:
            op = next(
                (
                    o
                    for o in ("2>&1", "&&", "||", ">>", "2>", ";", "|", ">")
                    if line.startswith(o, i)
                ),
                None,
            )
            if op == "2>" and (word or have_word):
                op = None  # "a2>b" is a word
            if op is None:
                word.append(c)
                have_word = True
                i += 1
                continue
            if have_word:
                tokens.append("".join(word))
                word, have_word = [], False
            tokens.append("\x01" + op)
            i += len(op)
    if have_word:
        tokens.append("".join(word))
    return tokens


def _is_op(token: str, *ops: str) -> bool:
    return token.startswith("\x01") and token[1:] in ops


# --- the shell ---------------------------------------------------------------------------


class Shell:
    """Runs one command line (``adb shell`` argument) against one tablet."""

    def __init__(self, env: ShellEnv) -> None:
        self.env = env
        self.status = 0
        self.exit_requested: int | None = None
        self.piped_input = ""  # stdout of the previous stage of a pipeline
        self.commands: dict[str, Command] = dict(COMMANDS)

    async def run(self, line: str, out: Output) -> int:
        """Run ``line``; return its exit status (what ``$?`` and shell v2 report)."""
        try:
            tokens = tokenize(line)
        except SyntaxError as exc:
            out.err(f"{SH}: <stdin>[1]: syntax error: {exc}\n")
            return 1
        # Split into (connector, pipeline) pairs: connector is ; && or || before it.
        connector = ";"
        current: list[str] = []
        pending: list[tuple[str, list[str]]] = []
        for tok in [*tokens, "\x01;"]:
            if _is_op(tok, ";", "&&", "||"):
                if current:
                    pending.append((connector, current))
                elif tok != "\x01;" or connector != ";":
                    out.err(f"{SH}: <stdin>[1]: syntax error: '{tok[1:]}' unexpected\n")
                    return 2
                connector, current = tok[1:], []
            else:
                current.append(tok)
        for conn, words in pending:
            if conn == "&&" and self.status != 0:
                continue
            if conn == "||" and self.status == 0:
                continue
            self.status = await self._pipeline(words, out)
            if self.exit_requested is not None:
                return self.exit_requested
        return self.status

    async def _pipeline(self, words: list[str], out: Output) -> int:
        stages: list[list[str]] = [[]]
        for w in words:
            if _is_op(w, "|"):
                stages.append([])
            else:
                stages[-1].append(w)
        feed: str | None = None
        status = 0
        for i, stage in enumerate(stages):
            last = i == len(stages) - 1
            sink = out if last else Output()
            status = await self._simple(stage, sink, feed)
            if not last:
                for s, data in sink.pieces:
                    if s == 2:
                        out.pieces.append((s, data))
                feed = sink.stdout_text()
        return status

    async def _simple(self, words: list[str], out: Output, feed: str | None) -> int:
        args: list[str] = []
        redirect_out: tuple[str, bool] | None = None
        drop_err = merge_err = False
        it = iter(words)
        for w in it:
            if _is_op(w, ">", ">>"):
                target = next(it, None)
                if target is None or target.startswith("\x01"):
                    out.err(f"{SH}: <stdin>[1]: syntax error: newline unexpected\n")
                    return 2
                redirect_out = (target, w == "\x01>>")
            elif _is_op(w, "2>"):
                target = next(it, "")
                drop_err = target == "/dev/null"
            elif _is_op(w, "2>&1"):
                merge_err = True
            else:
                args.extend(self._expand(w.replace(_STATUS, str(self.status))))
        if not args:
            return 0
        sink = Output()
        handler = self.commands.get(args[0]) or self.commands.get(posixpath.basename(args[0]))
        self.piped_input = feed or ""
        if handler is None:
            sink.err(f"{SH}: {args[0]}: inaccessible or not found\n")
            status = 127
        else:
            status = await handler(self, args, sink)
        redirected = bytearray()
        for s, data in sink.pieces:
            if s == 2 and drop_err:
                continue
            if s == 2 and merge_err:
                s = 1
            if s == 1 and redirect_out is not None:
                redirected += data
                continue
            out.pieces.append((s, data))
        if redirect_out is not None and redirect_out[0] != "/dev/null":
            target, append = redirect_out
            if not self._write_file(target, bytes(redirected), append, out):
                return 1
        return status

    def _expand(self, word: str) -> list[str]:
        """Glob an unquoted ``*`` in the last path component; no match keeps the pattern."""
        if _GLOB not in word:
            return [word]
        pattern = word.replace(_GLOB, "*")
        folder, base = posixpath.split(pattern)
        if "*" in folder:
            return [pattern]
        try:
            names = [n for n, _ in self.env.files.listdir(folder or ".")]
        except FsError:
            return [pattern]
        hits = [posixpath.join(folder, n) for n in names if fnmatch.fnmatchcase(n, base)]
        return hits or [pattern]

    def _write_file(self, target: str, data: bytes, append: bool, out: Output) -> bool:
        files = self.env.files
        try:
            old = files.read(target) if append and files.stat(target) else b""
            w = files.open_writer(target)
            try:
                w.write(old + data)
            except FsError:
                w.abort()
                raise
            w.commit()
        except FsError as exc:
            out.err(f"{SH}: <stdin>[1]: can't create {target}: {exc.reason}\n")
            return False
        return True


async def cmd_grep(sh: Shell, args: list[str], out: Output) -> int:
    """grep PATTERN on piped input (fixed strings only)."""
    pattern = next((a for a in args[1:] if not a.startswith("-")), "")
    found = [line for line in sh.piped_input.splitlines() if pattern in line]
    out.out("".join(line + "\n" for line in found))
    return 0 if found else 1


# --- simple commands -----------------------------------------------------------------


def props(env: ShellEnv) -> dict[str, str]:
    """All system properties: model facts, boot state, then the tablet's overrides."""
    m, t = env.tablet.model, env.tablet
    p = {
        "ro.serialno": t.serial,
        "ro.boot.serialno": t.serial,
        "ro.product.model": m.model,
        "ro.product.manufacturer": m.manufacturer,
        "ro.product.brand": m.manufacturer.lower(),
        "ro.product.name": m.product,
        "ro.product.device": m.device,
        "ro.build.version.release": m.release,
        "ro.build.version.sdk": str(m.sdk),
        "ro.build.id": m.build_id,
        "ro.build.type": "user",
        "ro.debuggable": "0",
        "ro.secure": "1",
        "ro.product.cpu.abi": "arm64-v8a",
        "persist.sys.usb.config": "mtp,adb",
        "sys.usb.state": "mtp,adb",
    }
    if env.boot_completed():
        p["sys.boot_completed"] = "1"
        p["dev.bootcomplete"] = "1"
    p.update(t.props)
    return p


async def cmd_getprop(sh: Shell, args: list[str], out: Output) -> int:
    p = props(sh.env)
    if len(args) >= 2:
        out.out(p.get(args[1], args[2] if len(args) > 2 else "") + "\n")
    else:
        out.out("".join(f"[{k}]: [{v}]\n" for k, v in sorted(p.items())))
    return 0


async def cmd_setprop(sh: Shell, args: list[str], out: Output) -> int:
    if len(args) != 3:
        out.err("setprop: Need 2 arguments\n")
        return 1
    name, value = args[1], args[2]
    if not name.startswith(("persist.", "debug.", "log.", "ctl.")):
        out.err(f"Failed to set property '{name}' to '{value}'.\nSee dmesg for error reason.\n")
        return 1
    sh.env.tablet.props[name] = value
    sh.env.save()
    return 0


async def cmd_settings(sh: Shell, args: list[str], out: Output) -> int:
    a: list[str] = []
    it = iter(args[1:])
    for x in it:
        if x == "--user":
            next(it, None)
        elif not x.startswith("--"):
            a.append(x)
    if len(a) < 2 or a[0] not in ("get", "put", "delete", "list") or a[1] not in NAMESPACES:
        out.err("Invalid command or namespace\n" if len(a) >= 1 else "")
        out.out("Settings provider (settings) commands:\n  help\n      Print this help text.\n")
        return 255 if len(a) >= 1 else 0
    verb, ns, rest = a[0], a[1], a[2:]
    table = sh.env.tablet.settings.setdefault(ns, {})
    if verb == "list":
        out.out("".join(f"{k}={v}\n" for k, v in sorted(table.items())))
    elif verb == "get" and rest:
        out.out(table.get(rest[0], "null") + "\n")
    elif verb == "put" and len(rest) >= 2:
        table[rest[0]] = rest[1]
        sh.env.save()
        _setting_changed(sh.env, ns, rest[0], rest[1])
    elif verb == "delete" and rest:
        out.out(f"Deleted {1 if table.pop(rest[0], None) is not None else 0} rows\n")
        sh.env.save()
        _setting_changed(sh.env, ns, rest[0], None)
    else:
        out.err("Invalid arguments\n")
        return 255
    return 0


def _setting_changed(env: ShellEnv, ns: str, key: str, value: str | None) -> None:
    """Tell the tablet's services about a setting they watch (only adb_enabled so far)."""
    if ns != "global" or key != "adb_enabled" or env.adb_enabled is None:
        return
    # AdbService reads it with Settings.Global.getInt(..., 0) > 0: unset or not a number is off.
    try:
        enabled = value is not None and int(value) > 0
    except ValueError:
        enabled = False
    env.adb_enabled(enabled)


def _code_path(pkg: str) -> str:
    h = hashlib.sha256(pkg.encode()).hexdigest()
    return f"/data/app/~~{h[:22]}==/{pkg}-{h[22:44]}==/base.apk"


async def cmd_pm(sh: Shell, args: list[str], out: Output) -> int:
    a = args[1:]
    if not a:
        out.err("usage: pm [subcommand] [options]\n")
        return 1
    sub, rest = a[0], a[1:]
    t = sh.env.tablet
    if sub == "list" and rest[:1] == ["packages"]:
        flags = set(rest[1:])
        names = sorted(set(SYSTEM_PACKAGES) | set(t.packages))
        for n in names:
            p = t.packages.get(n)
            system = p.system if p else True
            if ("-3" in flags and system) or ("-s" in flags and not system):
                continue
            filt = [x for x in rest[1:] if not x.startswith("-")]
            if filt and filt[0] not in n:
                continue
            line = "package:"
            if "-f" in flags:
                line += (_code_path(n) if p else f"/system/app/{n}/{n}.apk") + "="
            line += n
            if "--show-versioncode" in flags:
                line += f" versionCode:{p.version_code if p else 34}"
            out.out(line + "\n")
        return 0
    if sub == "list" and rest[:1] == ["users"]:
        out.out("Users:\n")
        for u in t.users:
            name = "Owner" if u == 0 else f"User {u}"
            out.out(f"\tUserInfo{{{u}:{name}:{'c13' if u == 0 else '410'}}} running\n")
        return 0
    if sub == "path":
        pkg = next((x for x in rest if not x.startswith("-")), "")
        if pkg in t.packages:
            out.out(f"package:{_code_path(pkg)}\n")
            return 0
        if pkg in SYSTEM_PACKAGES:
            out.out(f"package:/system/app/{pkg}/{pkg}.apk\n")
            return 0
        return 1
    if sub == "install":
        return await _pm_install(sh, rest, out)
    if sub == "uninstall":
        pkg = next((x for x in rest if not x.startswith("-")), "")
        if t.device_owner and t.device_owner.split("/")[0] == pkg:
            out.out("Failure [DELETE_FAILED_DEVICE_POLICY_MANAGER]\n")
            return 1
        p = t.packages.get(pkg)
        if p is None or p.system:
            out.out("Failure [DELETE_FAILED_INTERNAL_ERROR]\n")
            return 1
        del t.packages[pkg]
        t.used_bytes = max(0, t.used_bytes - p.size)
        sh.env.save()
        out.out("Success\n")
        return 0
    if sub in ("grant", "revoke"):
        pos = [x for x in rest if not x.startswith("-")]
        if sh.env.tablet.model.sdk >= 26:
            rest_users = [x for i, x in enumerate(rest) if i and rest[i - 1] == "--user"]
            pos = [x for x in pos if x not in rest_users]
        if len(pos) < 2:
            out.err(f"Error: no {'package' if not pos else 'permission'} specified\n")
            return 1
        p = t.packages.get(pos[0])
        if p is None:
            out.err(f"Exception occurred while executing '{sub}':\n")
            out.err(f"java.lang.IllegalArgumentException: Unknown package: {pos[0]}\n")
            return 255
        if sub == "grant" and pos[1] not in p.granted:
            p.granted.append(pos[1])
        elif sub == "revoke" and pos[1] in p.granted:
            p.granted.remove(pos[1])
        sh.env.save()
        return 0
    if sub in ("disable-user", "enable", "disable"):
        pkg = next((x for x in rest if not x.startswith("-") and not x.isdigit()), "")
        if pkg not in t.packages and pkg not in SYSTEM_PACKAGES:
            out.err(f"Exception occurred while executing '{sub}':\n")
            out.err(f"java.lang.IllegalArgumentException: Unknown package: {pkg}\n")
            return 255
        state = (
            "enabled"
            if sub == "enable"
            else "disabled-user"
            if sub == "disable-user"
            else "disabled"
        )
        out.out(f"Package {pkg} new state: {state}\n")
        return 0
    out.err(f"Unknown command: {sub}\n")
    return 255


def _install_flags(rest: list[str]) -> tuple[set[str], list[str], int | None]:
    flags: set[str] = set()
    positional: list[str] = []
    size: int | None = None
    it = iter(rest)
    for x in it:
        if x == "-S":
            value = next(it, "")
            size = int(value) if value.isdigit() else -1
        elif x in ("--user", "-i", "--install-reason", "--pkg", "-p"):
            next(it, None)
        elif x.startswith("-"):
            flags.add(x)
        else:
            positional.append(x)
    return flags, positional, size


async def _pm_install(sh: Shell, rest: list[str], out: Output) -> int:
    flags, positional, size = _install_flags(rest)
    files = sh.env.files
    if size is not None:
        return await _streamed_install(sh, flags, size, out)
    if not positional:
        out.err("Error: must either specify a package size or an APK file\n")
        return 1
    path = positional[0]
    st = files.stat(path)
    if st is None or not stat.S_ISREG(st.mode):
        out.err(f"Error: Can't open file: {path}\n")
        out.err("Exception occurred while executing 'install':\n")
        out.err(f"java.lang.IllegalArgumentException: Error: Can't open file: {path}\n")
        return 255
    return await _finish_install(sh, files.host_path(path), flags, out)


async def _streamed_install(sh: Shell, flags: set[str], size: int, out: Output) -> int:
    """``cmd package install -S size``: exactly ``size`` APK bytes follow on stdin."""
    env = sh.env
    if size < 0:
        out.err("Error: must either specify a package size or an APK file\n")
        return 1
    if env.stdin is None:
        out.out("Failure [INSTALL_FAILED_INVALID_APK: No stdin]\n")
        return 1
    staging = f"/data/local/tmp/.station-vmdl{abs(hash((env.tablet.serial, id(out)))) % 10**9}.tmp"
    # The session is on /data, which the shell user cannot write; stage it there anyway.
    writer: FileWriter = FileWriter(env.files, env.files.normalize(staging))
    full = False
    try:
        left = size
        while left > 0:
            chunk = await env.stdin.read(min(left, 64 * 1024))
            if not chunk:
                raise StdinGone
            await env.link.transfer(len(chunk))
            left -= len(chunk)
            if not full:
                try:
                    writer.write(chunk)
                except FsError:
                    full = True
        if full:
            out.out("Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]\n")
            return 1
        writer.flush()
        return await _finish_install(sh, writer.tmp, flags, out)
    finally:
        writer.abort()


async def _offload(env: ShellEnv, fn: Callable[[Path], _T], arg: Path) -> _T:
    return await asyncio.get_running_loop().run_in_executor(env.executor, fn, arg)


async def _finish_install(sh: Shell, host_path: Path, flags: set[str], out: Output) -> int:
    env, t = sh.env, sh.env.tablet
    vmdl = f"/data/app/vmdl{abs(hash(str(host_path))) % 10**9}.tmp/base.apk"
    try:
        info: ApkInfo = await _offload(env, read_apk, host_path)
    except ArtifactError as exc:
        if "AndroidManifest" in exc.problem and "no AndroidManifest" not in exc.problem:
            reason = (
                "INSTALL_PARSE_FAILED_MANIFEST_MALFORMED: "
                f"Failed parse during installPackageLI: {vmdl}"
            )
        else:
            reason = (
                f"INSTALL_PARSE_FAILED_NOT_APK: Failed to parse {vmdl}: "
                f"Failed to load asset path {vmdl}"
            )
        out.out(f"Failure [{reason}]\n")
        return 1
    if info.signing_cert_sha256 is None:
        out.out(
            "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Failed collecting certificates for "
            f"{vmdl}]\n"
        )
        return 1
    # Android 11+ refuses apps targeting 30+ without a v2 (or later) signature.
    needs_v2 = t.model.sdk >= 30 and info.target_sdk >= 30
    if needs_v2 and not await _offload(env, has_signing_block, host_path):
        out.out(
            "Failure [INSTALL_PARSE_FAILED_NO_CERTIFICATES: Scanning Failed.: No signature "
            f"found in package of version 2 or newer for package {info.package}]\n"
        )
        return 1
    if info.min_sdk > t.model.sdk:
        out.out(
            "Failure [INSTALL_FAILED_OLDER_SDK: Failed parse during installPackageLI: "
            f"/data/app/{vmdl} (at Binary XML file line #7): Requires newer sdk version "
            f"#{info.min_sdk} (current version is #{t.model.sdk})]\n"
        )
        return 1
    old = t.packages.get(info.package)
    if old is not None and info.version_code < old.version_code and "-d" not in flags:
        out.out(
            "Failure [INSTALL_FAILED_VERSION_DOWNGRADE: Downgrade detected: Update version code "
            f"{info.version_code} is older than current {old.version_code}]\n"
        )
        return 1
    old_size = old.size if old else 0
    # The package manager copies the APK and compiles it: it needs room for about twice.
    if t.free_bytes + old_size < 2 * info.size:
        out.out("Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]\n")
        return 1
    await env.clock.sleep(info.size / t.model.install_bytes_per_s)
    t.packages[info.package] = AndroidPackage(
        name=info.package,
        version_code=info.version_code,
        version_name=info.version_name,
        apk_sha256=info.sha256,
        size=info.size,
        granted=list(old.granted) if old else [],
    )
    t.used_bytes += info.size - old_size
    env.save()
    out.out("Success\n")
    return 0


async def cmd_cmd(sh: Shell, args: list[str], out: Output) -> int:
    if len(args) < 2:
        out.err("cmd: No service specified; use -l to list all running services\n")
        return 20
    if args[1] == "package":
        return await cmd_pm(sh, ["pm", *args[2:]], out)
    if args[1] == "device_policy":
        return await cmd_dpm(sh, ["dpm", *args[2:]], out)
    if args[1] == "settings":
        return await cmd_settings(sh, ["settings", *args[2:]], out)
    out.err(f"cmd: Can't find service: {args[1]}\n")
    return 20


def _component(pkg_comp: str) -> tuple[str, str] | None:
    pkg, sep, cls = pkg_comp.partition("/")
    if not sep or not pkg or not cls:
        return None
    return pkg, pkg + cls if cls.startswith(".") else cls


def _dpm_exception(sh: Shell, sub: str, text: str, out: Output) -> int:
    """DPMS exceptions as ``dpm`` prints them: via cmd on Android 12+, a Java trace before."""
    if sh.env.tablet.model.sdk >= 31:
        out.err(f"Exception occurred while executing '{sub}':\n{text}\n")
        out.err("\tat com.android.server.devicepolicy.DevicePolicyManagerService")
        out.err(".enforceCanSetDeviceOwnerLocked(DevicePolicyManagerService.java:9218)\n")
        return 255
    out.err(f"{text}\n\tat android.os.Parcel.createException(Parcel.java:2079)\n")
    out.err("\tat android.os.Parcel.readException(Parcel.java:2039)\n")
    return 1


async def cmd_dpm(sh: Shell, args: list[str], out: Output) -> int:
    t = sh.env.tablet
    a = args[1:]
    if not a:
        out.err("usage: dpm [subcommand] [options]\n")
        return 1
    sub = a[0]
    pos: list[str] = []
    it = iter(a[1:])
    for x in it:
        if x in ("--user", "--name"):
            next(it, None)
        elif not x.startswith("--"):
            pos.append(x)
    comp = _component(pos[0]) if pos else None
    if sub in ("set-device-owner", "set-active-admin", "remove-active-admin", "set-profile-owner"):
        if comp is None:
            out.err(f"\nError: Invalid component {pos[0] if pos else ''}\n")
            return 1
        pkg, cls = comp
        info = f"ComponentInfo{{{pkg}/{cls}}}"
        if sub == "remove-active-admin":
            if t.device_owner and _component(t.device_owner) == comp:
                t.device_owner = None
                sh.env.save()
            out.out(f"Success: Admin removed {info}\n")
            return 0
        if pkg not in t.packages:
            return _dpm_exception(
                sh, sub, f"java.lang.IllegalArgumentException: Unknown admin: {info}", out
            )
        if sub == "set-active-admin":
            out.out(f"Success: Active admin set to component {{{pkg}/{cls}}}\n")
            return 0
        if t.device_owner is not None:
            cur = _component(t.device_owner)
            cur_info = f"ComponentInfo{{{cur[0]}/{cur[1]}}}" if cur else t.device_owner
            return _dpm_exception(
                sh,
                sub,
                "java.lang.IllegalStateException: Trying to set the device owner "
                f"({info}), but device owner ({cur_info}) is already set.",
                out,
            )
        if len(t.users) > 1:
            return _dpm_exception(
                sh,
                sub,
                "java.lang.IllegalStateException: Not allowed to set the device owner because "
                "there are already several users on the device",
                out,
            )
        if t.accounts:
            return _dpm_exception(
                sh,
                sub,
                "java.lang.IllegalStateException: Not allowed to set the device owner because "
                "there are already some accounts on the device",
                out,
            )
        t.device_owner = f"{pkg}/{cls}"
        sh.env.save()
        out.out(f"Success: Device owner set to package {info}\n")
        out.out(f"Active admin set to component {{{pkg}/{cls}}}\n")
        return 0
    out.err(f"\nError: unknown command '{sub}'\n")
    return 1


async def cmd_dumpsys(sh: Shell, args: list[str], out: Output) -> int:
    t = sh.env.tablet
    if len(args) < 2:
        out.out("Currently running services:\n  package\n  device_policy\n")
        return 0
    if args[1] == "package" and len(args) > 2:
        p = t.packages.get(args[2])
        if p is None:
            return 0
        out.out(
            "Packages:\n"
            f"  Package [{p.name}] ({hashlib.sha256(p.name.encode()).hexdigest()[:7]}):\n"
            "    userId=10123\n"
            f"    codePath={posixpath.dirname(_code_path(p.name))}\n"
            f"    versionCode={p.version_code} minSdk=24 targetSdk=34\n"
            f"    versionName={p.version_name}\n"
            "    flags=[ HAS_CODE ALLOW_CLEAR_USER_DATA ALLOW_BACKUP ]\n"
            "    install permissions:\n"
            "    User 0: ceDataInode=0 installed=true hidden=false suspended=false\n"
            "      runtime permissions:\n"
            + "".join(f"        {g}: granted=true\n" for g in p.granted)
        )
        return 0
    if args[1] == "device_policy":
        out.out("Current Device Policy Manager state:\n")
        if t.device_owner:
            comp = _component(t.device_owner)
            pkg, cls = comp if comp else (t.device_owner, "")
            out.out(
                "  Device Owner: \n"
                f"    admin=ComponentInfo{{{pkg}/{cls}}}\n"
                "    name=\n"
                f"    package={pkg}\n"
                "    isOrganizationOwnedDevice=true\n"
                "    User ID: 0\n\n"
            )
        out.out("  Enabled Device Admins (User 0, provisioningState: 0):\n")
        if t.device_owner:
            out.out(f"    {t.device_owner}:\n      uid=10123\n")
        return 0
    return 0


def _paths(args: list[str]) -> tuple[set[str], list[str]]:
    flags = {c for a in args if a.startswith("-") and len(a) > 1 for c in a[1:]}
    return flags, [a for a in args if not a.startswith("-") or a == "-"]


async def cmd_ls(sh: Shell, args: list[str], out: Output) -> int:
    flags, paths = _paths(args[1:])
    status = 0
    for path in paths or ["/"]:
        st = sh.env.files.stat(path)
        if st is None:
            out.err(f"ls: {path}: No such file or directory\n")
            status = 1
            continue
        if not stat.S_ISDIR(st.mode):
            out.out(path + "\n")
            continue
        for name, est in sh.env.files.listdir(path):
            if "l" in flags:
                kind = "d" if stat.S_ISDIR(est.mode) else "-"
                out.out(f"{kind}rw-rw---- 1 shell shell {est.size:>8} 2024-01-01 00:00 {name}\n")
            else:
                out.out(name + "\n")
    return status


async def cmd_rm(sh: Shell, args: list[str], out: Output) -> int:
    flags, paths = _paths(args[1:])
    status = 0
    for path in paths:
        try:
            sh.env.files.remove(path, recursive="r" in flags or "R" in flags)
        except FsError as exc:
            if "f" in flags and exc.reason == "No such file or directory":
                continue
            out.err(f"rm: {path}: {exc.reason}\n")
            status = 1
    sh.env.save()
    return status


async def cmd_mkdir(sh: Shell, args: list[str], out: Output) -> int:
    flags, paths = _paths(args[1:])
    status = 0
    for path in paths:
        try:
            sh.env.files.mkdir(path, parents="p" in flags)
        except FsError as exc:
            out.err(f"mkdir: '{path}': {exc.reason}\n")
            status = 1
    return status


async def cmd_cat(sh: Shell, args: list[str], out: Output) -> int:
    status = 0
    for path in args[1:]:
        try:
            out.out(sh.env.files.read(path).decode(errors="replace"))
        except FsError as exc:
            out.err(f"cat: {path}: {exc.reason}\n")
            status = 1
    return status


async def cmd_echo(sh: Shell, args: list[str], out: Output) -> int:
    words = args[1:]
    newline = True
    if words[:1] == ["-n"]:
        words, newline = words[1:], False
    out.out(" ".join(words) + ("\n" if newline else ""))
    return 0


async def cmd_id(sh: Shell, args: list[str], out: Output) -> int:
    out.out(
        "uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),"
        "1015(sdcard_rw),1028(sdcard_r),3001(net_bt_admin),3002(net_bt),3003(inet),"
        "3006(net_bw_stats) context=u:r:shell:s0\n"
    )
    return 0


async def cmd_am(sh: Shell, args: list[str], out: Output) -> int:
    if args[1:2] == ["start"]:
        comp = next((args[i + 1] for i, a in enumerate(args[:-1]) if a == "-n"), "")
        out.out(f"Starting: Intent {{ cmp={comp} }}\n" if comp else "Starting: Intent { }\n")
    return 0


async def cmd_monkey(sh: Shell, args: list[str], out: Output) -> int:
    out.out("  bash arg: -p\n  bash arg: " + " ".join(args[2:]) + "\nEvents injected: 1\n")
    return 0


async def cmd_wm(sh: Shell, args: list[str], out: Output) -> int:
    if args[1:2] == ["size"]:
        out.out("Physical size: 1200x1920\n")
    elif args[1:2] == ["density"]:
        out.out("Physical density: 240\n")
    return 0


async def cmd_noop(sh: Shell, args: list[str], out: Output) -> int:
    return 0


async def cmd_false(sh: Shell, args: list[str], out: Output) -> int:
    return 1


async def cmd_exit(sh: Shell, args: list[str], out: Output) -> int:
    code = sh.status
    if len(args) > 1:
        try:
            code = int(args[1]) & 0xFF
        except ValueError:
            out.err(f"{SH}: exit: {args[1]}: bad number\n")
            code = 1
    sh.exit_requested = code
    return code


async def cmd_reboot(sh: Shell, args: list[str], out: Output) -> int:
    sh.env.reboot()
    return 0


async def cmd_sleep(sh: Shell, args: list[str], out: Output) -> int:
    try:
        await sh.env.clock.sleep(float(args[1]) if len(args) > 1 else 0.0)
    except ValueError:
        out.err(f"sleep: invalid number '{args[1]}'\n")
        return 1
    return 0


async def cmd_whoami(sh: Shell, args: list[str], out: Output) -> int:
    out.out("shell\n")
    return 0


COMMANDS: dict[str, Command] = {
    "getprop": cmd_getprop,
    "setprop": cmd_setprop,
    "settings": cmd_settings,
    "pm": cmd_pm,
    "cmd": cmd_cmd,
    "dpm": cmd_dpm,
    "dumpsys": cmd_dumpsys,
    "ls": cmd_ls,
    "rm": cmd_rm,
    "mkdir": cmd_mkdir,
    "cat": cmd_cat,
    "echo": cmd_echo,
    "id": cmd_id,
    "am": cmd_am,
    "input": cmd_noop,
    "monkey": cmd_monkey,
    "wm": cmd_wm,
    "appops": cmd_noop,
    "true": cmd_noop,
    "false": cmd_false,
    "exit": cmd_exit,
    "reboot": cmd_reboot,
    "sleep": cmd_sleep,
    "whoami": cmd_whoami,
    "grep": cmd_grep,
}
