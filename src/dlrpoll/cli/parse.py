"""``dlrpoll parse``: read raw receipts, print what dlrpoll makes of them, one JSON per line.

The tool to reach for when a provider's format surprises you: no database, no network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dlrpoll.cli.common import add_common_options, add_config_option
from dlrpoll.config.paths import CONFIG_ENV, default_config_path
from dlrpoll.errors import ConfigError, ParseError

if TYPE_CHECKING:
    from dlrpoll.receipts import Profile, Receipt

EPILOG = """\
examples:
  echo 'id:1 sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 stat:DELIVRD err:0' \
    | dlrpoll parse -
  dlrpoll parse --profile ginota callbacks.log            # one receipt per line
  dlrpoll parse tests/fixtures/receipts/*.eml             # each .eml is one e-mail
  dlrpoll parse --whole --format keyvalue receipt.json    # a multi-line JSON or XML receipt
  dlrpoll parse --config dlrpoll.toml --profile acme -    # a profile from the config

Each line of output is a receipt (dates in ISO-8601) or {"error": ..., "input": ...}.
Exit status: 0 when every input parsed, 1 when any was rejected, 2 for a bad profile/config.
"""

#: --format value → the parser format given to parse_payload
_FORMATS = {"auto": "text", "smpp": "smpp", "keyvalue": "keyvalue", "email": "email"}
_MAIL_HEADERS = (b"from:", b"to:", b"subject:", b"date:", b"received:", b"mime-version:")
_INPUT_MAX = 1000


def register(sub: Any) -> None:
    """Add ``parse`` to the ``dlrpoll`` parser."""
    parser = sub.add_parser(
        "parse",
        help="parse raw receipts and print them as JSON lines",
        description=(
            "Read raw receipts (one per line, or whole files with --whole or .eml) from "
            "PATHs or stdin and print what dlrpoll makes of each, one JSON object per line."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="files to read; '-' or none for stdin"
    )
    parser.add_argument(
        "--profile",
        default="smpp",
        help="provider profile: smpp, ginota, kannel, upside or one in the config (default smpp)",
    )
    parser.add_argument(
        "--format",
        dest="fmt",
        default="auto",
        choices=list(_FORMATS),
        help="auto (default) detects SMPP or key/value per item, and e-mails for .eml",
    )
    parser.add_argument(
        "--whole",
        action="store_true",
        help="each PATH is one item (JSON, XML, an e-mail; default: one item per line)",
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="zone of dates that carry none (default: the profile's, else UTC)",
    )
    add_config_option(parser)
    add_common_options(parser)
    parser.set_defaults(handler=handle)


def _profiles(args: argparse.Namespace) -> dict[str, Profile]:
    """Built-ins, plus the config's profiles when a config is given or found (only then is
    the config machinery, pydantic, imported: one line through ``parse`` must start fast)."""
    from dlrpoll.receipts import BUILTIN_PROFILES, build_profiles

    explicit = getattr(args, "config", None)
    if explicit or os.environ.get(CONFIG_ENV) or default_config_path().exists():
        from dlrpoll.config import load_config

        config = load_config(explicit, resolve_secrets=False)
        return build_profiles(
            {name: p.model_dump() for name, p in config.settings.profiles.items()}
        )
    return dict(BUILTIN_PROFILES)


def _zone(name: str | None, profile: Profile) -> tzinfo:
    if name is None:
        return profile.tzinfo or UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--timezone: unknown time zone {name!r}; use an IANA name") from None


def _looks_like_email(data: bytes) -> bool:
    head = data[:4096].lower()
    return b"\n\n" in data.replace(b"\r\n", b"\n") and any(
        head.startswith(h) or b"\n" + h in head for h in _MAIL_HEADERS
    )


def _items(args: argparse.Namespace) -> Iterator[tuple[bytes, str, str]]:
    """``(payload, parser format, where)`` for every item to parse."""
    fmt = _FORMATS[args.fmt]
    for path in args.paths or ["-"]:
        if path == "-":
            data = sys.stdin.buffer.read()
            name = "<stdin>"
        else:
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
            name = path
        if args.whole or path.lower().endswith(".eml") or fmt == "email":
            item_fmt = fmt
            if args.fmt == "auto" and (path.lower().endswith(".eml") or _looks_like_email(data)):
                item_fmt = "email"
            yield data, item_fmt, name
            continue
        for number, line in enumerate(data.split(b"\n"), start=1):
            if line.strip(b" \t\r\x00"):
                yield line.rstrip(b"\r"), fmt, f"{name}:{number}"


def receipt_json(receipt: Receipt) -> dict[str, Any]:
    """A receipt as JSON-ready fields: state by name, dates in ISO-8601."""
    return {
        "message_id": receipt.message_id,
        "state": receipt.state.name,
        "final": receipt.final,
        "provider_status": receipt.provider_status,
        "error_code": receipt.error_code,
        "submitted_at": receipt.submitted_at.isoformat() if receipt.submitted_at else None,
        "done_at": receipt.done_at.isoformat() if receipt.done_at else None,
        "sub": receipt.sub,
        "dlvrd": receipt.dlvrd,
        "src_addr": receipt.src_addr,
        "dst_addr": receipt.dst_addr,
        "client_ref": receipt.client_ref,
        "text": receipt.text,
        "format": receipt.format,
    }


def _shown(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= _INPUT_MAX else text[:_INPUT_MAX] + "…"


def handle(args: argparse.Namespace) -> int:
    """Parse every item; 0 if all parsed, 1 if any was rejected."""
    from dlrpoll.receipts import parse_payload

    profiles = _profiles(args)
    profile = profiles.get(args.profile)
    if profile is None:
        raise ConfigError(
            f"--profile: unknown profile {args.profile!r}; known: {', '.join(profiles)}; "
            f"or define [profiles.{args.profile}] in the config (--config FILE)"
        )
    tz = _zone(args.timezone, profile)
    rejected = 0
    out = sys.stdout
    for payload, fmt, where in _items(args):
        try:
            receipts = parse_payload(payload, fmt, profile, tz)
        except ParseError as exc:
            rejected += 1
            line = {"error": str(exc), "input": _shown(payload), "where": where}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            continue
        for receipt in receipts:
            out.write(json.dumps(receipt_json(receipt), ensure_ascii=False) + "\n")
    out.flush()
    return 1 if rejected else 0
