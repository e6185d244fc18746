"""The receipts in one text of an e-mail (a body part, or the subject), and in headers
that are really the report's first lines.

A text may hold several receipts: Appendix B lines, query-string lines, blocks of
``Key: value`` lines (or one report whose lines are spread over paragraphs), or be a whole
JSON or XML document. A candidate that looks like a receipt but cannot be read raises
:class:`~dlrpoll.errors.ParseError`, so the e-mail is quarantined, not half-stored.

Report lines that follow the headers without the blank line become headers to a mail
parser; :func:`report_headers` gives those back as ``Key: value`` lines: headers that name a
receipt field and are not a mail header of the same name (``To:`` with an address, mbox's
``Status: RO``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.documents import find_receipts, json_tree, xml_tree
from dlrpoll.receipts.fields import Fields, receipt_from_fields
from dlrpoll.receipts.keyvalue import line_pairs, looks_like_query, pairs_receipt, query_pairs
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.smpp import looks_like_smpp, parse_smpp
from dlrpoll.receipts.tree import Node, from_pairs, norm_key

#: A line longer than this is never a receipt (one is a few hundred characters).
MAX_LINE = 8 * 1024

_BLANK = re.compile(r"\n\s*\n")
#: Headers a mail system writes: never a report's fields (``To``/``From``/``Status`` only
#: when they hold what a mail system puts there, see :func:`report_headers`).
_MAIL_HEADERS = frozenset(
    norm_key(h)
    for h in (
        "Subject Date Message-ID In-Reply-To References Reply-To Sender Return-Path Received "
        "MIME-Version Delivered-To Cc Bcc DKIM-Signature Authentication-Results User-Agent "
        "Importance Priority Precedence Auto-Submitted Errors-To Envelope-To Lines "
        "Content-Length Organization Received-SPF Comments Keywords Thread-Topic Thread-Index "
        "Delivery-Date Envelope-From Disposition-Notification-To Return-Receipt-To Feedback-ID"
    ).split()
)
_MAIL_PREFIXES = ("x", "content", "list", "arc", "resent")
_MBOX_FLAGS = re.compile(r"[ROUDAF]{1,6}")
_PHONE = re.compile(r"\+?[0-9][0-9 \-]{4,18}[0-9]")


_FOLD = re.compile(r"\r?\n(?=[ \t])")


def unfold(value: str) -> str:
    """A header value as one line: RFC 5322 section 2.2.3, "unfolding is accomplished by
    simply removing any CRLF that is immediately followed by WSP" (a bare LF too, as
    mail arrives from some systems). A long subject, such as an Appendix B line, is
    folded by the mail servers it passes."""
    return _FOLD.sub("", value) if "\n" in value else value


def report_headers(headers: Iterable[tuple[str, object]], profile: Profile) -> str:
    """``Key: value`` lines of the headers that are a report's fields (module docstring).
    ``headers`` are an e-mail's ``(name, value)`` pairs in order (``Message.items()``)."""
    fields = profile.field_keys
    lines: list[str] = []
    for name, value in headers:
        norm = norm_key(name)
        text = unfold(str(value)).strip()
        if norm in _MAIL_HEADERS or norm.startswith(_MAIL_PREFIXES) or norm not in fields:
            continue
        if norm in ("to", "from") and not _PHONE.fullmatch(text):
            continue  # the mail's own addresses
        if norm == "status" and _MBOX_FLAGS.fullmatch(text):
            continue  # mbox's read flags
        lines.append(f"{name}: {text}")
    return "\n".join(lines)


def _document(text: str, profile: Profile, tz: tzinfo) -> list[Receipt] | None:
    """The receipts of a part that is a JSON or XML document; ``None`` when it is not one
    (or holds no receipt: its lines are searched instead)."""
    stripped = text.strip()
    is_json = stripped.startswith(("{", "["))
    if not is_json and not (stripped.startswith("<") and "<?xml" in text[:100]):
        return None
    tree: Node | None
    try:
        tree = json_tree(stripped) if is_json else xml_tree(stripped)
    except ParseError:
        return None
    found, _partial = find_receipts(tree, profile)
    if not found:
        return None
    shape = "json" if is_json else "xml"
    return [receipt_from_fields(f, tz, shape) for _path, f in found]


def _query_line(line: str, profile: Profile, tz: tzinfo) -> Receipt | None:
    pairs = query_pairs(line)
    fields = Fields(from_pairs(pairs), profile)
    if fields.is_receipt() or any(looks_like_smpp(v) for _k, v in pairs):
        return pairs_receipt(pairs, profile, tz, "query")
    return None


def _reports(pairs: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """A block of ``Key: value`` pairs split where a key comes again: the next report
    (``Message ID: 1 / Status: … / Message ID: 2 / …``), never a second value of the first."""
    out: list[list[tuple[str, str]]] = [[]]
    seen: set[str] = set()
    for key, value in pairs:
        norm = norm_key(key)
        if norm in seen:
            out.append([])
            seen.clear()
        seen.add(norm)
        out[-1].append((key, value))
    return out


def text_receipts(text: str, profile: Profile, tz: tzinfo) -> Iterator[Receipt]:
    """The receipts in one text (module docstring), in the order they appear."""
    document = _document(text, profile, tz)
    if document is not None:
        yield from document
        return
    rest: list[str] = []
    for line in text.splitlines():
        if len(line) > MAX_LINE:
            # a receipt is a few hundred characters; the parsers need not see this line,
            # unless it poses as a receipt, which fails the e-mail rather than lose one
            if looks_like_smpp(line) or (looks_like_query(line) and "=" in line[:MAX_LINE]):
                raise ParseError(
                    f"refused: a line of {len(line)} characters looks like a receipt; "
                    f"receipt lines are at most {MAX_LINE} characters"
                )
            continue
        s = line.strip().strip("\x00")
        if looks_like_smpp(s):
            yield parse_smpp(s, profile, tz)
            continue
        if looks_like_query(s) and "=" in s:
            got = _query_line(s, profile, tz)
            if got is not None:
                yield got
                continue
        rest.append(line)
    rest_text = "\n".join(rest)
    # a block without a single pair (a greeting, a signature) has no fields to read
    blocks = [
        Fields(from_pairs(pairs), profile)
        for b in _BLANK.split(rest_text)
        for pairs in _reports(line_pairs(b))
        if pairs
    ]
    found = [f for f in blocks if f.is_receipt()]
    if not found and len(blocks) > 1:
        # one report whose fields are spread over paragraphs
        whole = Fields(from_pairs(line_pairs(rest_text)), profile)
        found = [whole] if whole.is_receipt() else []
    for f in found:
        yield receipt_from_fields(f, tz, "lines")


def message_id_line(text: str, profile: Profile) -> str | None:
    """The message id a ``Message ID: …`` line in ``text`` gives, if any."""
    fields = Fields(from_pairs(line_pairs(text)), profile)
    try:
        got = fields.get("message_id")
    except ParseError:
        return None
    return got.strip() if got and got.strip() else None
