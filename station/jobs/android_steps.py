"""The Android plan: wait for adb, apps, device owner, settings, files, name, finish."""

from __future__ import annotations

from dataclasses import dataclass

from station.artifacts.apk import ApkInfo
from station.blueprint import AppRef, Blueprint, FileRef
from station.drivers.base import AndroidDriver
from station.errors import DeviceError, DeviceRefused
from station.jobs.steps import Step, StepContext

AndroidContext = StepContext[AndroidDriver]

ACCOUNTS_HINT = (
    "Remove every account on the tablet (Settings > Accounts) or factory-reset it, then retry it"
)
OTHER_OWNER_HINT = "Another app is device owner: factory-reset the tablet, then retry it"


@dataclass(frozen=True)
class WaitReady(Step[AndroidDriver]):
    """adb sees the tablet as ``device`` and it has booted (unauthorized: a person's state)."""

    name = "ready"
    gate = True

    async def run(self, ctx: AndroidContext) -> None:
        await ctx.driver.wait_ready(ctx.handle)


@dataclass(frozen=True)
class InstallApk(Step[AndroidDriver]):
    app: AppRef[ApkInfo]

    name = "app"
    large = True
    timeout_kind = "install"

    @property
    def key(self) -> str:
        return f"app:{self.app.info.package}"

    def fingerprint(self, ctx: AndroidContext) -> str:
        return f"{self.app.info.package}@{self.app.info.version_code}"

    async def check(self, ctx: AndroidContext) -> bool:
        installed = (await ctx.driver.installed_apps(ctx.handle)).get(self.app.info.package)
        return installed is not None and installed.version == str(self.app.info.version_code)

    async def run(self, ctx: AndroidContext) -> None:
        await ctx.driver.install_app(
            ctx.handle, self.app.path, ctx.progress, uploaded=ctx.transfer_done
        )


@dataclass(frozen=True)
class SetDeviceOwner(Step[AndroidDriver]):
    component: str

    name = "device_owner"
    once = True

    def fingerprint(self, ctx: AndroidContext) -> str:
        return self.component

    async def check(self, ctx: AndroidContext) -> bool:
        owner = await ctx.driver.device_owner(ctx.handle)
        if owner is None:
            return False
        if _same_component(owner, self.component):
            return True
        raise DeviceRefused(
            f"device owner: {owner} is already device owner",
            device=ctx.handle,
            hint=OTHER_OWNER_HINT,
        )

    async def run(self, ctx: AndroidContext) -> None:
        await ctx.driver.set_device_owner(ctx.handle, self.component)

    def hint_for(self, error: DeviceError) -> str:
        text = str(error).lower()
        if "account" in text:
            return ACCOUNTS_HINT
        if "already" in text and "owner" in text:
            return OTHER_OWNER_HINT
        return super().hint_for(error)


def _same_component(a: str, b: str) -> bool:
    """``pkg/.Cls`` and ``pkg/pkg.Cls`` name the same component."""

    def full(text: str) -> str:
        pkg, _, cls = text.partition("/")
        return f"{pkg}/{pkg}{cls}" if cls.startswith(".") else text

    return full(a.strip()) == full(b.strip())


@dataclass(frozen=True)
class PutSettings(Step[AndroidDriver]):
    settings: tuple[tuple[str, str], ...]  # ("namespace.key", value)

    name = "settings"

    def fingerprint(self, ctx: AndroidContext) -> str:
        return ";".join(f"{k}={v}" for k, v in self.settings)

    async def _missing(self, ctx: AndroidContext) -> list[tuple[str, str, str]]:
        missing = []
        for dotted, value in self.settings:
            namespace, _, key = dotted.partition(".")
            if await ctx.driver.get_setting(ctx.handle, namespace, key) != value:
                missing.append((namespace, key, value))
        return missing

    async def check(self, ctx: AndroidContext) -> bool:
        return not await self._missing(ctx)

    async def run(self, ctx: AndroidContext) -> None:
        for namespace, key, value in await self._missing(ctx):
            await ctx.driver.put_setting(ctx.handle, namespace, key, value)


@dataclass(frozen=True)
class PushFile(Step[AndroidDriver]):
    file: FileRef

    name = "file"
    large = True
    timeout_kind = "install"

    @property
    def key(self) -> str:
        return f"file:{self.file.dest}"

    def fingerprint(self, ctx: AndroidContext) -> str:
        return f"{self.file.dest}:{self.file.sha256[:16]}"

    async def check(self, ctx: AndroidContext) -> bool:
        # Size only: reading the file back to hash it would cost as much as pushing it.
        return await ctx.driver.file_size(ctx.handle, self.file.dest) == self.file.size

    async def run(self, ctx: AndroidContext) -> None:
        await ctx.driver.push_file(ctx.handle, self.file.src, self.file.dest, ctx.progress)


@dataclass(frozen=True)
class RenameTablet(Step[AndroidDriver]):
    name = "rename"

    def fingerprint(self, ctx: AndroidContext) -> str:
        return ctx.device_name

    async def check(self, ctx: AndroidContext) -> bool:
        return await ctx.driver.device_name(ctx.handle) == ctx.device_name

    async def run(self, ctx: AndroidContext) -> None:
        await ctx.driver.rename(ctx.handle, ctx.device_name)


@dataclass(frozen=True)
class Reboot(Step[AndroidDriver]):
    name = "reboot"
    trust_records = True

    def fingerprint(self, ctx: AndroidContext) -> str:
        return ctx.run_id

    async def run(self, ctx: AndroidContext) -> None:
        await ctx.driver.reboot(ctx.handle)


@dataclass(frozen=True)
class DisableUsbDebugging(Step[AndroidDriver]):
    """Last: once off, the tablet leaves adb and the station can no longer reach it."""

    name = "usb_debugging_off"
    trust_records = True
    leaves = True

    def fingerprint(self, ctx: AndroidContext) -> str:
        return ctx.run_id

    async def run(self, ctx: AndroidContext) -> None:
        await ctx.driver.disable_usb_debugging(ctx.handle)


def android_plan(blueprint: Blueprint) -> list[Step[AndroidDriver]]:
    """The ordered steps for an Android tablet under ``blueprint``."""
    plan = blueprint.android
    if plan is None:
        return []
    steps: list[Step[AndroidDriver]] = [WaitReady()]
    steps.extend(InstallApk(a) for a in plan.apps)
    if plan.device_owner is not None:
        steps.append(SetDeviceOwner(plan.device_owner))
    if plan.settings:
        steps.append(PutSettings(tuple(sorted(plan.settings.items()))))
    steps.extend(PushFile(f) for f in plan.files)
    if plan.rename:
        steps.append(RenameTablet())
    if plan.finish.reboot:
        steps.append(Reboot())
    if plan.finish.disable_usb_debugging:
        steps.append(DisableUsbDebugging())
    return steps
