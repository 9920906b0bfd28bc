"""The `--ari*` options of `heatmon ingest --audiosocket`, and the controller's settings they give."""

from __future__ import annotations

import argparse
import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from monitor.errors import InputError

APP = "heatmon"
PASSWORD_VARIABLE = "HEATMON_ARI_PASSWORD"


@dataclass(frozen=True, slots=True)
class AriSettings:
    url: str  # http(s)://host:port, without /ari
    user: str
    password: str = field(repr=False)
    app: str = APP
    media_address: tuple[str, int] | None = None  # where Asterisk connects (default: the listener)


def add_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--ari", metavar="URL", help="Asterisk's HTTP server for ARI, e.g. http://127.0.0.1:8088"
    )
    group.add_argument("--ari-user", default="heatmon", help="ARI user (ari.conf; default: %(default)s)")
    group.add_argument(
        "--ari-password",
        metavar="PASSWORD",
        help=f"ARI password (visible to other users of this machine: prefer ${PASSWORD_VARIABLE} "
        "or --ari-password-file)",
    )
    group.add_argument(
        "--ari-password-file", type=Path, metavar="FILE", help="read the ARI password from FILE"
    )
    group.add_argument("--ari-app", default=APP, help="the Stasis application name (default: %(default)s)")
    group.add_argument(
        "--ari-media-address",
        metavar="HOST:PORT",
        help="where Asterisk reaches the AudioSocket listener (default: its own address; needed "
        "when it listens on 0.0.0.0)",
    )


def settings(args: argparse.Namespace) -> AriSettings | None:
    """The controller's settings from the command line, or None without --ari."""
    url = getattr(args, "ari", None)
    if not url:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"--ari {url!r}: give Asterisk's HTTP address, like http://127.0.0.1:8088")
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/').removesuffix('/ari')}"
    password = args.ari_password or os.environ.get(PASSWORD_VARIABLE)
    if args.ari_password_file:
        try:
            password = args.ari_password_file.read_text().strip()
        except OSError as err:
            raise InputError(f"--ari-password-file: {err.strerror}: {args.ari_password_file}") from None
    if not password:
        raise InputError(
            f"--ari needs a password: --ari-password-file, ${PASSWORD_VARIABLE} or --ari-password"
        )
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", args.ari_app or ""):
        raise InputError(f"--ari-app {args.ari_app!r}: letters, digits, '_', '.' and '-' only")
    media = None
    if args.ari_media_address:
        from monitor.ingest.listeners import parse_address

        media = parse_address(args.ari_media_address, 0)
        if not media[1]:
            raise InputError("--ari-media-address needs a port")
    return AriSettings(base, args.ari_user, password, args.ari_app, media)
