"""``station hub serve|add-station|rotate-token``: run and administer the county hub."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from station.errors import StationError
from station.hub.app import create_app
from station.hub.db import HubDB
from station.secrets import default_data_dir

log = logging.getLogger("station.hub.cli")


def default_db_url() -> str:
    return f"sqlite:///{default_data_dir() / 'hub.db'}"


def add_parser(subparsers: Any) -> None:
    """Add ``station hub`` with ``serve``, ``add-station`` and ``rotate-token``."""
    hub = subparsers.add_parser("hub", help="the county hub that collects results from stations")
    sub = hub.add_subparsers(dest="hub_command", metavar="SUBCOMMAND", required=True)

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--db",
            default=None,
            metavar="URL",
            help="database URL: sqlite:///path/hub.db (default, in the data folder) or "
            "postgresql://user@host/dbname",
        )

    serve = sub.add_parser(
        "serve", help="run the hub; prints one JSON line with its URL when ready"
    )
    db_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8470, help="port (0: pick a free one)")
    serve.add_argument("--tls-cert", type=Path, metavar="PEM", help="serve HTTPS with this cert")
    serve.add_argument("--tls-key", type=Path, metavar="PEM", help="the certificate's key")
    serve.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    serve.set_defaults(func=run_serve)

    add = sub.add_parser("add-station", help="register a station and print its token once")
    db_option(add)
    add.add_argument("name", help="a name people recognise (e.g. 'Realschule Nord cart 2')")
    add.set_defaults(func=run_add_station)

    rotate = sub.add_parser("rotate-token", help="issue a station a new token (old one stops)")
    db_option(rotate)
    rotate.add_argument("name")
    rotate.set_defaults(func=run_rotate_token)


def _open(args: argparse.Namespace) -> HubDB:
    url = args.db or default_db_url()
    if url.startswith("sqlite:///") and args.db is None:
        default_data_dir().mkdir(mode=0o700, parents=True, exist_ok=True)
    return HubDB(url)


def run_add_station(args: argparse.Namespace) -> int:
    try:
        db = _open(args)
        try:
            token = db.add_station(args.name)
        finally:
            db.close()
    except StationError as exc:
        sys.stderr.write(f"station hub: {exc}\n")
        return 1
    sys.stdout.write(f"{token}\n")
    sys.stderr.write(
        "This token is shown once. On the station run: station sync set-hub URL "
        "(it asks for the token and keeps it in the keyring).\n"
    )
    return 0


def run_rotate_token(args: argparse.Namespace) -> int:
    try:
        db = _open(args)
        try:
            token = db.rotate_token(args.name)
        finally:
            db.close()
    except StationError as exc:
        sys.stderr.write(f"station hub: {exc}\n")
        return 1
    sys.stdout.write(f"{token}\n")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if bool(args.tls_cert) != bool(args.tls_key):
        sys.stderr.write("station hub: --tls-cert and --tls-key go together\n")
        return 2
    try:
        db = _open(args)
    except StationError as exc:
        sys.stderr.write(f"station hub: {exc}\n")
        return 1
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
        sock.listen(128)
        sock.set_inheritable(True)
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(db),
            log_config=None,
            access_log=False,
            ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
            ssl_keyfile=str(args.tls_key) if args.tls_key else None,
        )
        server = uvicorn.Server(config)
        scheme = "https" if args.tls_cert else "http"
        host = f"[{args.host}]" if family == socket.AF_INET6 else args.host
        url = f"{scheme}://{host}:{port}/"
        log.info("county hub listening on %s (database %s)", url, _safe_url(db.url))
        sys.stdout.write(json.dumps({"url": url, "port": port}) + "\n")
        sys.stdout.flush()
        server.run(sockets=[sock])
    finally:
        sock.close()
        db.close()
    return 0


def _safe_url(url: str) -> str:
    """The database URL without a password, for the log."""
    scheme, sep, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if not at:
        return url
    user = creds.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="station")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser(sub)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
