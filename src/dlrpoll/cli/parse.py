"""``dlrpoll parse``: read raw receipts, print what dlrpoll makes of them, one JSON per line.

The tool to reach for when a provider's format surprises you: no database, no network.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any, BinaryIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from dlrpoll.cli.common import add_common_options, add_config_option
from dlrpoll.config.paths import CONFIG_ENV, default_config_path
from dlrpoll.errors import ConfigError, ParseError, ProfileError

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
# orjson: the output loop's JSON costs less than a tenth of json.dumps's, and `dlrpoll parse`
# is timed as a whole process (scripts/bench-parse)
_dumps = orjson.dumps
_NEWLINE = orjson.OPT_APPEND_NEWLINE
#: state → its name, filled at the first parse (Enum.name is a slow property; the receipts
#: package is imported only when a command parses, so that --help and --version start fast)
_STATE_NAMES: dict[Any, str] = {}


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
        default="auto",
        help="provider profile: auto (default: a catalogue provider's receipts are detected by "
        "their keys, anything else read as smpp), a built-in (dlrpoll profiles) or one in "
        "the config",
    )
    parser.add_argument(
        "--format",
        dest="fmt",
        default="auto",
        choices=list(_FORMATS),
        help="auto (default) detects SMPP or key/value per item, and e-mails for .eml",
    )
    parser.add_argument(
        "--whole", action="store_true", help="each PATH is one item (JSON, XML, an e-mail)"
    )
    parser.add_argument(
        "--timezone",
        metavar="ZONE",
        help="zone of dates that carry none (default: the profile's, else UTC)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="add to each line which profile and which fields were used (for a rejection: "
        "the closest profile and what it missed)",
    )
    add_config_option(parser)
    add_common_options(parser)
    parser.set_defaults(handler=handle)


def _profiles(args: argparse.Namespace) -> dict[str, Profile]:
    """Built-ins, plus the config's profiles when a config is given or found."""
    from dlrpoll.receipts import BUILTIN_PROFILES, State

    if not _STATE_NAMES:
        _STATE_NAMES.update({state: state.name for state in State})
    explicit = getattr(args, "config", None)
    if explicit or os.environ.get(CONFIG_ENV) or default_config_path().exists():
        from dlrpoll.config import configured_profiles, load_config

        config = load_config(explicit, resolve_secrets=False)
        return configured_profiles(config.settings)
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


def _open(path: str) -> tuple[BinaryIO, str]:
    """PATH opened for reading (stdin for ``-``), and its name for messages."""
    if path == "-":
        return sys.stdin.buffer, "<stdin>"
    try:
        return open(path, "rb"), path  # closed by run()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _lines(stream: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` for every non-blank line, read as it comes (a file of any
    size). Lines keep their line break: parse_payload strips it."""
    for number, line in enumerate(stream, start=1):
        if line.strip(b" \t\r\n\x00"):
            yield number, line


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
        "match_id": receipt.match_id,
    }


def _shown(data: bytes) -> str:
    text = data.decode("utf-8", errors="replace")
    return text if len(text) <= _INPUT_MAX else text[:_INPUT_MAX] + "…"


def _receipt_line(receipt: Receipt) -> bytes:
    """One output line: :func:`receipt_json` as JSON, datetimes as orjson writes them (the
    same ISO-8601 as ``isoformat()``)."""
    try:
        return _dumps(
            {
                "message_id": receipt.message_id,
                "state": _STATE_NAMES[receipt.state],
                "final": receipt.final,
                "provider_status": receipt.provider_status,
                "error_code": receipt.error_code,
                "submitted_at": receipt.submitted_at,
                "done_at": receipt.done_at,
                "sub": receipt.sub,
                "dlvrd": receipt.dlvrd,
                "src_addr": receipt.src_addr,
                "dst_addr": receipt.dst_addr,
                "client_ref": receipt.client_ref,
                "text": receipt.text,
                "format": receipt.format,
                "match_id": receipt.match_id,
            },
            option=_NEWLINE,
        )
    except TypeError:  # orjson refuses what json writes escaped (a lone surrogate)
        return (json.dumps(receipt_json(receipt)) + "\n").encode()


def _error_line(exc: ParseError, payload: bytes, where: str) -> bytes:
    line = {"error": str(exc), "input": _shown(payload), "where": where}
    try:
        return _dumps(line, option=_NEWLINE)
    except TypeError:
        return (json.dumps(line) + "\n").encode()


class _Output:
    """Output lines, written to stdout's binary buffer as they are made: its buffer gathers
    them into large writes (and holding many orjson results to join them costs more)."""

    def __init__(self) -> None:
        sys.stdout.flush()
        buffer = getattr(sys.stdout, "buffer", None)
        self.add: Callable[[bytes], object] = (
            buffer.write if buffer is not None else self._text  # a text-only stdout
        )
        self.buffer = buffer

    @staticmethod
    def _text(line: bytes) -> None:
        sys.stdout.write(line.decode())

    def flush(self) -> None:
        if self.buffer is not None:
            self.buffer.flush()
        sys.stdout.flush()


def handle(args: argparse.Namespace) -> int:
    """Parse every item; 0 if all parsed, 1 if any was rejected."""
    from dlrpoll.receipts import parse_payload, resolve_profile

    profiles = _profiles(args)
    try:
        profile = resolve_profile(profiles, args.profile)
    except ProfileError as exc:  # the command's edge: a bad --profile is a usage error
        raise ConfigError(f"--profile: {exc} (--config FILE)") from None
    tz = _zone(args.timezone, profile)
    if args.explain:
        from dlrpoll.cli.parse_explain import explain_items  # off the fast path

        return explain_items(args, profile, profiles, tz)
    fmt = _FORMATS[args.fmt]
    rejected = 0
    out = _Output()
    for path in args.paths or ["-"]:
        stream, name = _open(path)
        try:
            whole = args.whole or name.lower().endswith(".eml") or fmt == "email"
            items: Iterable[tuple[int, bytes]]
            item_fmt = fmt
            if whole:
                data = stream.read()
                if args.fmt == "auto" and (
                    name.lower().endswith(".eml") or _looks_like_email(data)
                ):
                    item_fmt = "email"
                items = [(0, data)]
            else:
                items = _lines(stream)
            parse, add, receipt_line = parse_payload, out.add, _receipt_line  # hot loop
            for number, payload in items:
                try:
                    receipts = parse(payload, item_fmt, profile, tz)
                except ParseError as exc:
                    rejected += 1
                    where = name if whole else f"{name}:{number}"
                    add(_error_line(exc, payload.rstrip(b"\r\n"), where))
                    continue
                for receipt in receipts:
                    add(receipt_line(receipt))
        except BrokenPipeError:
            raise  # the reader went away (`| head`): the CLI's edge ends quietly
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
    out.flush()
    return 1 if rejected else 0
