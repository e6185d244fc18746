"""Parsing journaled raw items for a configured source: its profile and time zone, and
quarantine reasons in the source's own terms."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from dlrpoll.config import LoadedConfig, SourceConfig, configured_profiles, source_profile
from dlrpoll.errors import ParseError
from dlrpoll.rawitem import RawItem
from dlrpoll.receipts import Profile, parse_payload
from dlrpoll.receipts.safety import safe_receipts
from dlrpoll.store import ParsedRaw


def in_source_terms(reason: str, source: str | None, profile: str) -> str:
    """A parser's reason as the operator of a source reads it: the parsers speak to
    ``dlrpoll parse`` users (``--profile``); for a configured source the fix is its
    ``profile`` setting."""
    if source is None or "--profile" not in reason:
        return reason
    return reason.replace(
        "--profile", f'profile = "…" in the config of source {source!r}, now "{profile}"'
    )


class Parser:
    """Parses journaled raw items with a source's profile and time zone; ``source`` names
    the configured source in quarantine reasons."""

    def __init__(self, profile: Profile, tz: tzinfo, source: str | None = None) -> None:
        self.profile = profile
        self.tz = tz
        self.source = source

    def parse(self, raw_id: int, item: RawItem) -> ParsedRaw:
        """Receipts from one raw item, or the reason it is quarantined. Never raises."""
        if item.parse_error is not None:
            return ParsedRaw(raw_id, (), item.parse_error)
        try:
            # safe_receipts: the last check before storing, whatever parser read the item
            receipts = parse_payload(item.payload, item.format, self.profile, self.tz)
            return ParsedRaw(raw_id, safe_receipts(receipts))
        except ParseError as exc:
            return ParsedRaw(raw_id, (), in_source_terms(str(exc), self.source, self.profile.name))

    def parse_all(self, entries: Sequence[tuple[int, RawItem]]) -> list[ParsedRaw]:
        """:meth:`parse` of each ``(raw_id, item)``."""
        return [self.parse(raw_id, item) for raw_id, item in entries]


def parser_for(config: LoadedConfig, source: SourceConfig) -> Parser:
    """The parser a source's items are read with: its profile and time zone. Raises
    :class:`~dlrpoll.errors.ConfigError` for a profile that does not build or is unknown."""
    profile = source_profile(configured_profiles(config.settings), source)
    return Parser(profile, source.tz, source.name)
