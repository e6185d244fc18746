"""``dlrpoll profiles``: the profiles dlrpoll knows, and one as TOML to copy and adapt.

``dlrpoll profiles`` lists the built-in and configured profiles (name, format, what it
reads); ``dlrpoll profiles NAME`` prints that profile as a ``[profiles.NAME]`` table a user
can paste into the config, where the provider's documentation is, and a sample receipt it
reads with what it reads it to.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Iterator, Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Any

from dlrpoll.cli.common import add_common_options, add_config_option
from dlrpoll.errors import ConfigError

if TYPE_CHECKING:  # the layers are imported when the command runs, not when it registers
    from dlrpoll.receipts import Profile

EPILOG = """\
examples:
  dlrpoll profiles                          # every profile, one line each
  dlrpoll profiles twilio                   # Twilio's profile as TOML, and a sample
  dlrpoll profiles twilio > acme.toml       # start your own from it: rename, adapt
  dlrpoll profiles --config dlrpoll.toml    # with the profiles your config defines
"""

#: The order a profile's settings are written in (the rest follow, sorted).
_ORDER = ("format", "items", "timezone", "match_id", "embedded", "fields", "dates", "states")
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def register(sub: Any) -> None:
    """Add ``profiles`` to the ``dlrpoll`` parser."""
    parser = sub.add_parser(
        "profiles",
        help="list the provider profiles, or show one as TOML",
        description=(
            "Without NAME, list the built-in and configured provider profiles. With NAME, "
            "print that profile as a [profiles.NAME] table to copy into the config, and a "
            "sample receipt it reads."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="the profile to show")
    add_config_option(parser)
    add_common_options(parser)
    parser.set_defaults(handler=run)


def _profiles(args: argparse.Namespace) -> tuple[dict[str, Profile], set[str]]:
    """Every profile by name, and the names the config defines."""
    from dlrpoll.config import CONFIG_ENV, configured_profiles, default_config_path, load_config
    from dlrpoll.receipts import BUILTIN_PROFILES

    explicit = getattr(args, "config", None)
    if explicit or os.environ.get(CONFIG_ENV) or default_config_path().exists():
        config = load_config(explicit, resolve_secrets=False)
        return configured_profiles(config.settings), set(config.settings.profiles)
    return dict(BUILTIN_PROFILES), set()


# --- TOML ---------------------------------------------------------------------------------


def toml_key(key: str) -> str:
    """A key as TOML writes it: bare when it can be, else quoted."""
    return key if _BARE.fullmatch(key) else toml_value(key)


def toml_value(value: object) -> str:
    """A value as TOML writes it (strings, booleans, numbers, lists, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # JSON's string escapes are TOML's, but for DEL, which TOML wants escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"no TOML for {type(value).__name__}")


def profile_toml(name: str, spec: Mapping[str, Any]) -> str:
    """``[profiles.NAME]`` and its sub-tables, as a user writes them in the config."""
    head = f"profiles.{toml_key(name)}"
    keys = [k for k in _ORDER if k in spec] + sorted(set(spec) - set(_ORDER))
    lines = [f"[{head}]"]
    tables: list[tuple[str, Mapping[str, Any]]] = []
    for key in keys:
        value = spec[key]
        if isinstance(value, Mapping):
            tables.append((key, value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    for key, table in tables:
        lines += ["", f"[{head}.{toml_key(key)}]"]
        lines += [f"{toml_key(str(k))} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# --- output -------------------------------------------------------------------------------


def _reads(profile: Profile) -> str:
    from dlrpoll.receipts import PROVIDERS

    provider = PROVIDERS.get(profile.name)
    if profile.builtin and provider is not None:
        return provider.reads
    named = [f"{field}={key}" for field, key in profile.fields]
    return "fields: " + ", ".join(named) if named else "the common field names"


def _listing(profiles: Mapping[str, Profile], configured: set[str]) -> Iterator[str]:
    width = max(len(n) for n in profiles)
    yield f"{'NAME':<{width}}  FORMAT    FROM      READS"
    for name, profile in profiles.items():
        origin = "config" if name in configured else "built-in"
        yield f"{name:<{width}}  {profile.format:<8}  {origin:<8}  {_reads(profile)}"
    yield ""
    yield 'dlrpoll profiles NAME shows one as TOML; profile = "auto" (the default) detects'
    yield "the catalogue providers by their keys."


def _one(profile: Profile, configured: bool) -> Iterator[str]:
    from dlrpoll.cli.parse_explain import receipt_fields
    from dlrpoll.errors import ParseError
    from dlrpoll.receipts import PROVIDERS, parse_payload

    provider = None if configured else PROVIDERS.get(profile.name)
    if provider is not None:
        yield f"# {provider.title}: {provider.reads}"
        yield f"# documentation: {provider.docs}"
        yield f"# built in: profile = {json.dumps(profile.name)} uses it as is; to adapt it,"
        yield "# copy this table into your config (keeping the name replaces the built-in)."
    else:
        yield f"# {profile.name}: defined in your config"
    yield ""
    yield profile_toml(profile.name, profile.spec or {}).rstrip("\n")
    sample = provider.sample if provider is not None else None
    if sample is None:
        yield ""
        yield f"# try it: dlrpoll parse --profile {profile.name} FILE"
        return
    yield ""
    yield "# a sample receipt it reads:"
    yield "#   " + sample
    try:
        receipts = parse_payload(sample.encode("utf-8"), "text", profile, UTC)
    except ParseError as exc:  # a user's replacement of a built-in may not read it
        yield f"# which this profile rejects: {exc}"
        return
    yield "# and what it reads:"
    for receipt in receipts:
        yield "#   " + json.dumps(receipt_fields(receipt), ensure_ascii=False)


def run(args: argparse.Namespace) -> int:
    """List the profiles, or show one; 2 when NAME is not a profile."""
    profiles, configured = _profiles(args)
    if args.name is None:
        lines = _listing(profiles, configured)
    else:
        profile = profiles.get(args.name)
        if profile is None:
            raise ConfigError(
                f"profiles: no profile named {args.name!r}; known: {', '.join(profiles)}"
            )
        lines = _one(profile, args.name in configured)
    print("\n".join(lines))
    return 0
