"""SMPP Appendix B receipt text: ``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:…
text:…``.

Real SMSCs bend the format, so besides the standard order (read by one precompiled regular
expression, the fast path) this reads fields in any order and any subset beyond ``id`` and
``stat``, keys in any case, ``text:`` anywhere (empty, or with spaces and colons), every date
form :mod:`.dates` reads (and ISO-8601), and a short prefix before ``id:``. Trailing NULs and
whitespace are the caller's to strip (:func:`dlrpoll.receipts.parse.parse_text` does).

A status is read whole, up to the next key (``stat:DELIVERED TO CARRIER err:003``): a known
one, or any ``word:``. So is a date (``done date:2024-11-05 12:00:00``). ``id``, ``sub``,
``dlvrd`` and ``err`` are one word each. Optional fields may be absent in every way
:mod:`.values` names (``sub:null``, ``err:``, ``submit date:`` empty), on both paths alike.

Where a key appears twice, the first one counts and the later one is part of the value before
it, so a ``text:`` holding ``stat:`` does not change the status.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.dates import MINUTES, STEPS, smpp_date
from dlrpoll.receipts.matchid import VERBATIM
from dlrpoll.receipts.model import Receipt, make_receipt
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.values import ABSENT, count

FORMAT = "smpp"

# The standard order, as the SMPP specification shows it: the fast path. Values are checked
# in Python (counts, dates) rather than by the pattern, which keeps the match cheap; the
# quantifiers are possessive (a value never gives back a character: none of them is a space)
# and the text is captured, stripped later, rather than sliced off after the match. At the
# start of the text (nearly always) a plain match does.
_AFTER_ID = (
    r"(\S*+) sub:(\S*+) dlvrd:(\S*+) submit date:(\S*+) done date:(\S*+) "
    r"stat:(\S*+) err:(\S*+) text:(.*)"
)
_STANDARD_MATCH = re.compile("id:" + _AFTER_ID, re.ASCII | re.DOTALL).match
# Anywhere in the text (after a short prefix), but not as the end of a longer key such as
# "msgid:". The look-behind comes after the literal "id:" so that a search can skip from one
# "id:" to the next rather than try the pattern at every position.
_STANDARD = re.compile(r"id:(?<![A-Za-z0-9_]id:)" + _AFTER_ID, re.ASCII | re.DOTALL)
_KEY = re.compile(
    r"(?<![A-Za-z0-9_])(id|sub|dlvrd|submit[ _-]?date|done[ _-]?date|stat|err|text)[ \t]*:",
    re.ASCII | re.IGNORECASE,
)
_CANONICAL = {
    "id": "id",
    "sub": "sub",
    "dlvrd": "dlvrd",
    "stat": "stat",
    "err": "err",
    "text": "text",
}
# Any two of these make a text an Appendix B receipt rather than something else.
_SNIFF = re.compile(r"(?<![A-Za-z0-9_])(?:id|stat)[ \t]*:", re.ASCII | re.IGNORECASE)


def looks_like_smpp(text: str) -> bool:
    """Whether ``text`` has the ``id:`` and ``stat:`` keys of an Appendix B receipt."""
    keys = {m.group(0)[:2].lower() for m in _SNIFF.finditer(text)}
    return len(keys) == 2


def _key_name(raw: str) -> str:
    low = raw.lower()
    got = _CANONICAL.get(low)
    if got is not None:
        return got
    return "submit date" if low.startswith("submit") else "done date"


# a status or date ends where the next "word:" starts (a key this parser may not know)
_NEXT_KEY = re.compile(r"\s[A-Za-z_][\w\-]*[ \t]*:")


def _no_id(value: str) -> ParseError:
    if value:
        return ParseError(f"the receipt's id is {value!r}: it must name the message it is about")
    return ParseError("empty id: the receipt must name the message it is about")


def _no_stat(value: str) -> ParseError:
    if value:
        return ParseError(f"the receipt's stat is {value!r}: it must say the message's state")
    return ParseError("empty stat: the receipt must say the message's state")


# "0".."999" and "000".."999" as ints: a dict lookup is cheaper than int() per field
_COUNTS = {**{str(i): i for i in range(1000)}, **{f"{i:03d}": i for i in range(1000)}}


def parse_standard(text: str, profile: Profile, tz: tzinfo) -> Receipt | None:
    """The fast path: a receipt in the standard order, or ``None`` if ``text`` is not one.

    Most receipts take this path, so it avoids every call it can: one regex match, the dates
    looked up in the minute cache in place (:func:`dlrpoll.receipts.dates.smpp_date` has the
    last word on anything else), and :func:`make_receipt`.
    """
    m = _STANDARD_MATCH(text)
    if m is None:
        # after a prefix, the receipt must start at the first key: matching only there (not
        # searching every "id:") keeps "id:id:id:…" linear
        first = _KEY.search(text)
        if first is None:
            return None
        m = _STANDARD.match(text, first.start())
        if m is None:
            return None
    message_id, sub, dlvrd, submitted, done, stat, err, rest = m.groups()
    if message_id in ABSENT:
        raise _no_id(message_id)
    if stat in ABSENT:
        raise _no_stat(stat)
    entry = profile._state_map.get(stat) or profile.status(stat)
    # The dates, inline (as smpp_date reads them, see there): a minute from the cache plus
    # the seconds (and tenths) from a table. A minute not cached yet, an absent or a bad date
    # (cached as None, like a missing minute), or an odd width goes to smpp_date.
    minutes = MINUTES[tz]
    n = len(submitted)
    if n == 10:
        submitted_at = minutes.get(submitted)
    elif (n == 12 or n == 16) and (step := STEPS.get(submitted[10:13])) is not None:
        submitted_at = minutes.get(submitted[:10] + submitted[13:])
        if submitted_at is not None:
            submitted_at += step
    else:
        submitted_at = None
    if submitted_at is None:
        submitted_at = smpp_date(submitted, tz, "submit date")
    n = len(done)
    if n == 10:
        done_at = minutes.get(done)
    elif (n == 12 or n == 16) and (step := STEPS.get(done[10:13])) is not None:
        done_at = minutes.get(done[:10] + done[13:])
        if done_at is not None:
            done_at += step
    else:
        done_at = None
    if done_at is None:
        done_at = smpp_date(done, tz, "done date")
    nsub: int | None
    ndlvrd: int | None
    try:
        nsub = _COUNTS[sub]
        ndlvrd = _COUNTS[dlvrd]
    except KeyError:  # absent, or too long for the table; count says which, or what is wrong
        nsub = count(sub, "sub")
        ndlvrd = count(dlvrd, "dlvrd")
    receipt = make_receipt(
        message_id,
        entry.state,
        entry.final,
        stat,
        FORMAT,
        None if err in ABSENT else err,
        submitted_at,
        done_at,
        nsub,
        ndlvrd,
        None,
        None,
        None,
        rest.strip(),
    )
    # an identity test: the common verbatim rule costs no call
    return receipt if profile.match is VERBATIM else profile.finish(receipt)


def parse_smpp(text: str, profile: Profile, tz: tzinfo) -> Receipt:
    """One Appendix B receipt from its text (already stripped of trailing NULs/whitespace)."""
    got = parse_standard(text, profile, tz)
    if got is not None:
        return got
    return _parse_any_order(text, profile, tz)


def _parse_any_order(text: str, profile: Profile, tz: tzinfo) -> Receipt:
    # first occurrence of each key; later ones belong to the value before them
    found: list[tuple[str, int, int]] = []
    seen: set[str] = set()
    for m in _KEY.finditer(text):
        name = _key_name(m.group(1))
        if name not in seen:
            seen.add(name)
            found.append((name, m.start(), m.end()))
    values: dict[str, str] = {}
    for i, (name, _start, end) in enumerate(found):
        stop = found[i + 1][1] if i + 1 < len(found) else len(text)
        segment = text[end:stop]
        if name == "text":
            values[name] = segment.strip()
        elif name in ("stat", "submit date", "done date"):
            cut = _NEXT_KEY.search(segment)
            values[name] = (segment if cut is None else segment[: cut.start()]).strip()
        else:
            tokens = segment.split(None, 1)
            values[name] = tokens[0] if tokens else ""
    if "id" not in values:
        raise ParseError(_no_id_field(text))
    if "stat" not in values:
        raise ParseError("no stat: field; an SMPP receipt must say the message's state (stat:…)")
    message_id = values["id"]
    if message_id in ABSENT:
        raise _no_id(message_id)
    stat = values["stat"]
    if stat in ABSENT:
        raise _no_stat(stat)
    entry = profile.status(stat)
    submitted = values.get("submit date")
    done = values.get("done date")
    err = values.get("err")
    receipt = Receipt(
        message_id,
        entry.state,
        entry.final,
        stat,
        FORMAT,
        None if err is None or err in ABSENT else err,
        None if submitted is None else smpp_date(submitted, tz, "submit date"),
        None if done is None else smpp_date(done, tz, "done date"),
        count(values.get("sub"), "sub"),
        count(values.get("dlvrd"), "dlvrd"),
        None,
        None,
        None,
        values.get("text"),
    )
    return profile.finish(receipt)


def _no_id_field(text: str) -> str:
    """Why ``text`` is not an Appendix B receipt, in terms of what it looks like."""
    s = text.lstrip()
    if s[:1] in ("{", "["):
        return (
            "no id: field: this is JSON, not SMPP Appendix B text; read it as key/value "
            "(--format keyvalue or auto)"
        )
    if s[:1] == "<":
        return (
            "no id: field: this is XML, not SMPP Appendix B text; read it as key/value "
            "(--format keyvalue or auto)"
        )
    if "=" in s and " " not in s.split("=", 1)[0]:
        return (
            "no id: field: this is a URL or query string (key=value&…), not SMPP Appendix B "
            "text; read it as key/value (--format keyvalue or auto), and name its keys in a "
            "profile if they are not found"
        )
    return (
        "no id: field; an SMPP receipt reads 'id:… sub:… dlvrd:… submit date:… "
        "done date:… stat:… err:… text:…' (or pick a key/value profile with --profile)"
    )
