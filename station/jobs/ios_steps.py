"""The iPad plan: pair, erase if not fresh, activate, supervise, profiles, apps, name, wallpaper."""

from __future__ import annotations

import asyncio
import hashlib
import plistlib
from dataclasses import dataclass
from typing import Any

from station import messages as msg
from station.artifacts.ipa import IpaInfo
from station.blueprint import AppRef, Blueprint, ProfileRef
from station.drivers.base import IosDriver, Presence, WallpaperWhere
from station.errors import DeviceError, DeviceRefused, InputError, UserActionRequired
from station.jobs.steps import Step, StepContext, render_wallpaper

IosContext = StepContext[IosDriver]

ERASE_FIRST_HINT = msg.ERASE_FIRST_HINT
OTHER_SUPERVISOR_HINT = msg.OTHER_SUPERVISOR_HINT


async def _supervised_by_us(ctx: IosContext) -> tuple[bool, bool]:
    """(supervised at all, supervised by the blueprint's identity)."""
    state = await ctx.driver.supervision(ctx.handle)
    ours = ctx.identity is not None and ctx.identity.sha256 in state.supervisor_cert_sha256
    return state.supervised, state.supervised and ours


@dataclass(frozen=True)
class Pair(Step[IosDriver]):
    """Pair (supervised pairing with the identity: an iPad we supervise shows no prompt)."""

    name = "pair"
    gate = True
    busy = True

    async def run(self, ctx: IosContext) -> None:
        presence = await ctx.driver.pair(ctx.handle, identity=ctx.identity_pem)
        if presence is not Presence.READY:
            raise UserActionRequired(
                f"pair: {presence.value.replace('_', ' ')}", device=ctx.handle, hint=presence.hint
            )


@dataclass(frozen=True)
class Erase(Step[IosDriver]):
    """Erase All Content and Settings, unless the iPad is fresh or already supervised by us."""

    policy: str = "when-not-fresh"
    name = "erase"
    once = True
    timeout_kind = "erase"
    restarts = True

    def fingerprint(self, ctx: IosContext) -> str:
        # Once per run: a later run may erase the same iPad again if it is not fresh by then.
        return f"{self.policy}:{ctx.run_id}"

    async def check(self, ctx: IosContext) -> bool:
        if self.policy == "never":
            return True
        supervised, ours = await _supervised_by_us(ctx)
        if self.policy == "when-not-fresh" and ours:
            return True
        state = await ctx.driver.activation_state(ctx.handle)
        return not supervised and state == "Unactivated"

    async def run(self, ctx: IosContext) -> None:
        await ctx.driver.erase(ctx.handle)


@dataclass(frozen=True)
class Activate(Step[IosDriver]):
    name = "activate"
    busy = True

    async def check(self, ctx: IosContext) -> bool:
        return await ctx.driver.activation_state(ctx.handle) != "Unactivated"

    async def run(self, ctx: IosContext) -> None:
        await ctx.driver.activate(ctx.handle)


@dataclass(frozen=True)
class Supervise(Step[IosDriver]):
    organization: str
    skip_setup: tuple[str, ...]
    name = "supervise"
    once = True
    busy = True

    def fingerprint(self, ctx: IosContext) -> str:
        cert = ctx.identity.sha256 if ctx.identity is not None else ""
        return f"{self.organization}:{cert}"

    async def check(self, ctx: IosContext) -> bool:
        supervised, ours = await _supervised_by_us(ctx)
        if supervised and not ours:
            raise DeviceRefused(
                msg.OTHER_SUPERVISOR,
                device=ctx.handle,
                hint=OTHER_SUPERVISOR_HINT,
            )
        return ours

    async def run(self, ctx: IosContext) -> None:
        pem = ctx.identity_pem
        if pem is None:
            raise InputError(msg.SUPERVISE_NO_IDENTITY)
        await ctx.driver.supervise(
            ctx.handle, organization=self.organization, identity=pem, skip_setup=self.skip_setup
        )

    def hint_for(self, error: DeviceError) -> str:
        if "14002" in str(error) or "already" in str(error).lower():
            return ERASE_FIRST_HINT
        return super().hint_for(error)


def fill_profile(profile: ProfileRef, secrets: dict[str, str]) -> bytes:
    """The profile's bytes with each ``secrets`` payload key set to the stored secret's value."""
    data = profile.path.read_bytes()
    if not profile.secrets:
        return data
    top: dict[str, Any] = plistlib.loads(data)
    for payload in top.get("PayloadContent", []):
        if not isinstance(payload, dict):
            continue
        for key, secret_name in profile.secrets.items():
            if key in payload:
                payload[key] = secrets[secret_name]
    return plistlib.dumps(top, fmt=plistlib.FMT_XML)


@dataclass(frozen=True)
class InstallProfile(Step[IosDriver]):
    profile: ProfileRef

    name = "profile"

    @property
    def key(self) -> str:
        return f"profile:{self.profile.info.identifier}"

    def fingerprint(self, ctx: IosContext) -> str:
        values = "\0".join(ctx.secrets.get(n, "") for n in sorted(self.profile.secrets.values()))
        secret_hash = hashlib.sha256(values.encode()).hexdigest()[:16] if values else ""
        return f"{self.profile.sha256[:16]}:{secret_hash}"

    async def check(self, ctx: IosContext) -> bool:
        info = self.profile.info
        for installed in await ctx.driver.profiles(ctx.handle):
            if installed.identifier == info.identifier:
                return installed.uuid == info.uuid and installed.version == info.version
        return False

    async def run(self, ctx: IosContext) -> None:
        payload = await asyncio.to_thread(fill_profile, self.profile, dict(ctx.secrets))
        await ctx.driver.install_profile(ctx.handle, payload, identity=ctx.identity_pem)


@dataclass(frozen=True)
class InstallIpa(Step[IosDriver]):
    app: AppRef[IpaInfo]

    name = "app"
    large = True
    timeout_kind = "install"

    @property
    def key(self) -> str:
        return f"app:{self.app.info.bundle_id}"

    def fingerprint(self, ctx: IosContext) -> str:
        return f"{self.app.info.bundle_id}@{self.app.info.version}"

    async def check(self, ctx: IosContext) -> bool:
        installed = (await ctx.driver.installed_apps(ctx.handle)).get(self.app.info.bundle_id)
        return installed is not None and installed.version == self.app.info.version

    async def run(self, ctx: IosContext) -> None:
        await ctx.driver.install_app(
            ctx.handle, self.app.path, ctx.progress, uploaded=ctx.transfer_done
        )


@dataclass(frozen=True)
class Rename(Step[IosDriver]):
    name = "rename"

    def fingerprint(self, ctx: IosContext) -> str:
        return ctx.device_name

    async def check(self, ctx: IosContext) -> bool:
        return await ctx.driver.device_name(ctx.handle) == ctx.device_name

    async def run(self, ctx: IosContext) -> None:
        await ctx.driver.rename(ctx.handle, ctx.device_name)


@dataclass(frozen=True)
class Wallpaper(Step[IosDriver]):
    """Lock-screen wallpaper with the asset tag; the device cannot be asked, the records can."""

    name = "wallpaper"
    trust_records = True

    def fingerprint(self, ctx: IosContext) -> str:
        return f"{ctx.asset_tag}:{ctx.blueprint.school.name}"

    async def run(self, ctx: IosContext) -> None:
        pem = ctx.identity_pem
        if pem is None:
            return
        image = await asyncio.to_thread(render_wallpaper, ctx.asset_tag, ctx.blueprint.school.name)
        await ctx.driver.set_wallpaper(
            ctx.handle, image, identity=pem, where=WallpaperWhere.LOCK_SCREEN
        )


def ios_plan(blueprint: Blueprint) -> list[Step[IosDriver]]:
    """The ordered steps for an iPad under ``blueprint`` (empty without an [ios] section)."""
    plan = blueprint.ios
    if plan is None:
        return []
    steps: list[Step[IosDriver]] = [Pair(), Erase(plan.erase), Activate()]
    if plan.supervise is not None:
        steps.append(Supervise(plan.supervise.organization, plan.skip_setup))
    steps.extend(InstallProfile(p) for p in plan.profiles)
    steps.extend(InstallIpa(a) for a in plan.apps)
    if plan.rename:
        steps.append(Rename())
    if plan.supervise is not None:
        steps.append(Wallpaper())
    return steps
