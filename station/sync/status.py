"""Sync status for people: what is waiting, since when, what last worked and what failed."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from station.store import OutboxState, Store
from station.sync.relay import SETTING_LAST_ERROR, SETTING_LAST_ERROR_AT, SETTING_LAST_SUCCESS


@dataclass(frozen=True)
class SyncStatus:
    """The outbox at a glance (the window's sync panel and ``station sync status``)."""

    pending: int
    dead: int
    sent: int
    oldest_pending: dt.datetime | None
    last_success: dt.datetime | None
    last_error: str
    last_error_at: dt.datetime | None
    pending_by_target: dict[str, int] = field(default_factory=dict)
    dead_by_target: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        def iso(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "pending": self.pending,
            "dead": self.dead,
            "sent": self.sent,
            "oldest_pending": iso(self.oldest_pending),
            "last_success": iso(self.last_success),
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "pending_by_target": self.pending_by_target,
            "dead_by_target": self.dead_by_target,
        }


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def sync_status(store: Store) -> SyncStatus:
    """Read the status from the store (cheap enough to call every few seconds)."""
    pending = store.outbox(state=OutboxState.PENDING)
    dead = store.outbox(state=OutboxState.DEAD)
    sent = store.outbox(state=OutboxState.SENT)
    return SyncStatus(
        pending=len(pending),
        dead=len(dead),
        sent=len(sent),
        oldest_pending=_time(min((r.created_at for r in pending), default=None)),
        last_success=_time(store.get_setting(SETTING_LAST_SUCCESS)),
        last_error=store.get_setting(SETTING_LAST_ERROR) or "",
        last_error_at=_time(store.get_setting(SETTING_LAST_ERROR_AT)),
        pending_by_target=dict(Counter(r.target for r in pending)),
        dead_by_target=dict(Counter(r.target for r in dead)),
    )


def describe(status: SyncStatus, *, now: dt.datetime | None = None) -> list[str]:
    """Plain-language lines for a person."""
    current = now or dt.datetime.now(dt.UTC)

    def ago(value: dt.datetime | None) -> str:
        if value is None:
            return "never"
        seconds = max(0, int((current - value).total_seconds()))
        if seconds < 120:
            return f"{seconds} s ago"
        if seconds < 7200:
            return f"{seconds // 60} min ago"
        if seconds < 172800:
            return f"{seconds // 3600} h ago"
        return f"{seconds // 86400} days ago"

    by_target = ", ".join(f"{k} {v}" for k, v in sorted(status.pending_by_target.items()))
    lines = [
        f"waiting to send: {status.pending}" + (f" ({by_target})" if by_target else ""),
        f"oldest waiting:  {ago(status.oldest_pending) if status.pending else '-'}",
        f"last success:    {ago(status.last_success)}",
        f"sent so far:     {status.sent}",
        f"need a person:   {status.dead}" + (" (see: station sync dead)" if status.dead else ""),
    ]
    if status.last_error:
        lines.append(f"last error:      {status.last_error} ({ago(status.last_error_at)})")
    return lines
