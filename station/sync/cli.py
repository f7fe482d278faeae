"""``station sync status|run|watch|dead|resend|set-hub|set-snipeit|mdm-export``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from station.errors import StationError
from station.secrets import SecretStore, default_data_dir
from station.store import DB_NAME, OutboxState, Store
from station.sync import config, mdm_files
from station.sync.backoff import Backoff
from station.sync.relay import Relay
from station.sync.snipeit import SnipeItSettings
from station.sync.status import describe, sync_status

log = logging.getLogger("station.sync.cli")


def add_parser(subparsers: Any) -> None:
    """Add ``station sync`` and its subcommands."""
    sync = subparsers.add_parser("sync", help="send results upstream (county hub, Snipe-IT)")
    sub = sync.add_subparsers(dest="sync_command", metavar="SUBCOMMAND", required=True)

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--data-dir",
            type=Path,
            default=None,
            help="the station's data folder (database, secrets file fallback)",
        )
        return p

    status = common(sub.add_parser("status", help="what waits to be sent, and what went wrong"))
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(func=run_status)

    drain = common(sub.add_parser("run", help="send everything due now, once"))
    drain.add_argument("--json", action="store_true")
    drain.set_defaults(func=run_drain)

    watch = common(sub.add_parser("watch", help="keep sending until stopped (SIGINT/SIGTERM)"))
    watch.add_argument("--poll", type=float, default=5.0, help="seconds between passes")
    watch.add_argument("--backoff-base", type=float, default=2.0, help=argparse.SUPPRESS)
    watch.add_argument("--backoff-cap", type=float, default=600.0, help=argparse.SUPPRESS)
    watch.add_argument("-v", "--verbose", action="store_true")
    watch.set_defaults(func=run_watch)

    dead = common(sub.add_parser("dead", help="messages an upstream refused (need a person)"))
    dead.add_argument("--json", action="store_true")
    dead.set_defaults(func=run_dead)

    resend = common(sub.add_parser("resend", help="queue refused messages again"))
    resend.add_argument("ids", nargs="*", type=int, metavar="ID")
    resend.add_argument("--all", action="store_true", help="every refused message")
    resend.set_defaults(func=run_resend)

    hub = common(sub.add_parser("set-hub", help="send results to a county hub"))
    hub.add_argument("url", help="the hub's address, e.g. https://hub.county.example/")
    hub.add_argument("--ca-file", default="", help="CA bundle for a hub with its own CA")
    hub.add_argument(
        "--token-stdin", action="store_true", help="read the token from stdin (no prompt)"
    )
    hub.set_defaults(func=run_set_hub)

    snipe = common(sub.add_parser("set-snipeit", help="register devices in Snipe-IT"))
    snipe.add_argument(
        "settings",
        type=Path,
        help="JSON: url, status_id, and optional models/companies/locations name→id maps",
    )
    snipe.add_argument("--token-stdin", action="store_true")
    snipe.set_defaults(func=run_set_snipeit)

    mdm = common(sub.add_parser("mdm-export", help="write an MDM import file"))
    mdm.add_argument("format", choices=mdm_files.FORMATS)
    mdm.add_argument("output", type=Path)
    mdm.add_argument("--platform", choices=["ios", "android"], default=None)
    mdm.set_defaults(func=run_mdm_export)


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if args.data_dir is not None else default_data_dir()


def _store(args: argparse.Namespace) -> Store:
    return Store(_data_dir(args) / DB_NAME, recover=False)


def _secrets(args: argparse.Namespace) -> SecretStore:
    return SecretStore(data_dir=_data_dir(args))


def _fail(exc: StationError) -> int:
    sys.stderr.write(f"station sync: {exc}\n")
    return 1


def _read_token(args: argparse.Namespace, what: str) -> str:
    if args.token_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    return getpass.getpass(f"{what} token: ")


def run_status(args: argparse.Namespace) -> int:
    try:
        with _store(args) as store:
            status = sync_status(store)
            targets = sorted(
                name
                for name, ok in (
                    ("hub", config.hub_settings(store)),
                    ("snipeit", config.snipeit_settings(store)),
                )
                if ok
            )
    except StationError as exc:
        return _fail(exc)
    if args.json:
        sys.stdout.write(json.dumps(status.as_dict() | {"targets": targets}) + "\n")
    else:
        lines = describe(status)
        lines.append(f"targets:         {', '.join(targets) or 'none (station sync set-hub)'}")
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


async def _drain(store: Store, secrets: SecretStore) -> dict[str, Any]:
    relay = Relay(store, config.configured_targets(store, secrets))
    try:
        report = await relay.drain_once()
    finally:
        await relay.aclose()
    return {
        "sent": report.sent,
        "retry": report.retried,
        "dead": report.dead,
        "not_tried": report.not_tried,
        "unconfigured": report.unconfigured,
        "errors": report.errors,
    }


def run_drain(args: argparse.Namespace) -> int:
    try:
        with _store(args) as store:
            result = asyncio.run(_drain(store, _secrets(args)))
    except StationError as exc:
        return _fail(exc)
    if args.json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(
            f"sent {result['sent']}, to retry {result['retry']}, refused {result['dead']}\n"
        )
        for name, count in result["unconfigured"].items():
            sys.stdout.write(f"{count} messages for {name}, which is not set up\n")
        for error in dict.fromkeys(result["errors"]):
            sys.stdout.write(f"error: {error}\n")
    return 0 if not result["errors"] else 1


async def _watch(store: Store, secrets: SecretStore, args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    relay = Relay(
        store,
        config.configured_targets(store, secrets),
        backoff=Backoff(base=args.backoff_base, cap=args.backoff_cap),
    )
    try:
        await relay.run(stop, poll=args.poll)
    finally:
        await relay.aclose()


def run_watch(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        with _store(args) as store:
            asyncio.run(_watch(store, _secrets(args), args))
    except StationError as exc:
        return _fail(exc)
    return 0


def run_dead(args: argparse.Namespace) -> int:
    try:
        with _store(args) as store:
            rows = store.outbox(state=OutboxState.DEAD)
    except StationError as exc:
        return _fail(exc)
    if args.json:
        data = [
            {
                "id": r.id,
                "target": r.target,
                "op": r.op,
                "natural_key": r.natural_key,
                "attempts": r.attempts,
                "error": r.last_error,
                "created_at": r.created_at,
                "payload": r.payload,
            }
            for r in rows
        ]
        sys.stdout.write(json.dumps(data) + "\n")
        return 0
    if not rows:
        sys.stdout.write("no refused messages\n")
    for r in rows:
        sys.stdout.write(f"{r.id}\t{r.target}\t{r.op}\t{r.natural_key}\t{r.last_error}\n")
    return 0


def run_resend(args: argparse.Namespace) -> int:
    try:
        with _store(args) as store:
            ids = [r.id for r in store.outbox(state=OutboxState.DEAD)] if args.all else args.ids
            if not ids:
                sys.stderr.write("station sync resend: name message IDs or use --all\n")
                return 2
            missing = [i for i in ids if not store.outbox_resend(i)]
    except StationError as exc:
        return _fail(exc)
    sys.stdout.write(f"queued again: {len(ids) - len(missing)}\n")
    if missing:
        sys.stderr.write(f"not refused messages (left alone): {', '.join(map(str, missing))}\n")
        return 1
    return 0


def run_set_hub(args: argparse.Namespace) -> int:
    token = _read_token(args, "hub")
    try:
        with _store(args) as store:
            secrets = _secrets(args)
            config.save_hub(store, secrets, args.url, token, ca_file=args.ca_file)
    except StationError as exc:
        return _fail(exc)
    sys.stdout.write(f"hub set to {args.url}; its token is in {secrets.location}\n")
    return 0


def run_set_snipeit(args: argparse.Namespace) -> int:
    try:
        data = json.loads(args.settings.read_text(encoding="utf-8"))
        settings = SnipeItSettings.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        sys.stderr.write(f"station sync: {args.settings}: {exc}\n")
        return 1
    token = _read_token(args, "Snipe-IT API")
    try:
        with _store(args) as store:
            config.save_snipeit(store, _secrets(args), settings, token)
    except StationError as exc:
        return _fail(exc)
    sys.stdout.write(f"Snipe-IT set to {settings.url}\n")
    return 0


def run_mdm_export(args: argparse.Namespace) -> int:
    try:
        with _store(args) as store:
            devices = mdm_files.devices_from_store(store, platform=args.platform)
        result = mdm_files.render(devices, args.format)
    except StationError as exc:
        return _fail(exc)
    args.output.write_text(result.text, encoding="utf-8", newline="")
    sys.stdout.write(f"{result.written} devices written to {args.output}\n")
    for line in result.skipped:
        sys.stderr.write(f"skipped {line}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="station")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
