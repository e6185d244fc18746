"""Receipts inside e-mails (RFC 5322 bytes).

The subject and every text part are searched: MIME multipart, quoted-printable and base64,
declared and undeclared charsets (UTF-8, else Windows-1252), HTML turned into lines. One
e-mail may hold several receipts, each either an SMPP Appendix B line, a query-string line,
a block of ``Key: value`` lines, or a JSON/XML part. A candidate that looks like a receipt
but cannot be read fails the whole e-mail (it is quarantined, not half-stored), and an
e-mail with no receipt at all is a :class:`~dlrpoll.errors.ParseError` too.

Hostile mail is refused before it can cost much: more than :data:`MAX_CONTAINERS` nested
multipart or message parts, more than :data:`MAX_PARTS` parts, more than
:data:`MAX_TEXT` characters of decoded text, or a receipt-like line longer than
:data:`MAX_LINE` is a :class:`ParseError`; charsets that are not plain text encodings
(``unicode_escape``, ``utf-7``, ``rot13``…) are treated as unknown; every pattern used here
runs in linear time.
"""

from __future__ import annotations

import codecs
import email
import email.policy
import html
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import tzinfo
from email.header import Header, decode_header, make_header
from email.message import Message

from dlrpoll.errors import ParseError
from dlrpoll.receipts.mailtext import message_id_line, report_headers, text_receipts, unfold
from dlrpoll.receipts.model import Receipt, State, with_format
from dlrpoll.receipts.plainmail import read_plain_mail
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.safety import has_surrogate, safe_receipts
from dlrpoll.receipts.sentences import sentence_receipts

#: Multipart and message/* containers an e-mail may declare (each is a level the MIME
#: parser recurses into; a forwarded receipt has a handful).
MAX_CONTAINERS = 64
#: MIME parts (boundary lines) an e-mail may have.
MAX_PARTS = 1000
#: Characters of decoded text searched per e-mail.
MAX_TEXT = 8 * 1024 * 1024

_TEXT_TYPES = frozenset(
    {"text/plain", "text/html", "application/json", "text/xml", "application/xml", "text/csv"}
)
# "[^<>]*", not "[^>]*": a scan ends at the next "<", so "<<<<…" or "<br<br…" stays linear.
# Blocks end at their closing tags and at opening ones (an unclosed <p> starts a new line).
_BLOCK = re.compile(
    r"<\s*/?\s*(?:br|p|div|tr|li|ul|ol|h\d|table|pre|blockquote|section|article|header|footer)"
    r"\b[^<>]*>",
    re.IGNORECASE,
)
#: what stands between two cells of a row until the row is read (:func:`_row`)
_CELL = "\x1f"
_CELL_GAP = re.compile(r"<\s*/t[dh]\s*>\s*<\s*t[dh]\b[^<>]*>", re.IGNORECASE)
_DROP_START = re.compile(r"<(script|style)\b", re.IGNORECASE)
_DROP_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in ("script", "style")}
_TAG = re.compile(r"<[^<>]*>")
_SPACE = re.compile(r"\s+")
#: a Content-Type that makes the MIME parser recurse (header folding allowed)
_CONTAINER = re.compile(rb"content-type:\s*(?:multipart|message)/", re.IGNORECASE)
_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.IGNORECASE)
#: codecs Python calls text encodings that turn escapes into arbitrary code points (lone
#: surrogates among them), or are not charsets at all
_UNSAFE_CODECS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "utf-7", "punycode", "idna", "undefined"}
)


def _drop_scripts(markup: str) -> str:
    """``markup`` without ``<script>``/``<style>`` elements; an unclosed one runs to the
    end. One pass (a lazy ``.*?`` pattern rescans the rest for every unclosed tag)."""
    out: list[str] = []
    pos = 0
    while (m := _DROP_START.search(markup, pos)) is not None:
        out.append(markup[pos : m.start()])
        end = _DROP_END[m.group(1).lower()].search(markup, m.end())
        if end is None:
            return "".join(out)
        pos = end.end()
    out.append(markup[pos:])
    return "".join(out)


def html_to_text(markup: str) -> str:
    """Lines of text from HTML: one line per block; a table row's cells as ``Key: value``
    lines when they are label and value, else joined by spaces (:func:`_row`)."""
    # line breaks in HTML source are spaces; only block elements make lines
    text = _SPACE.sub(" ", _drop_scripts(markup))
    text = _CELL_GAP.sub(_CELL, text)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub("", text)
    if _CELL in text:
        text = "\n".join(_row(line) for line in text.split("\n"))
    return html.unescape(text)


def _row(line: str) -> str:
    """A table row's text. Cells that already say ``key:value`` (an Appendix B receipt
    laid out one field per cell) are joined by spaces: joining them with ``": "`` would
    make ``id:T1: stat:DELIVRD`` and a message id ``T1:``. Otherwise the cells are
    labels and values: ``Status | Delivered`` is ``Status: Delivered``, and a row of
    several such pairs gives a line per pair."""
    cells = [c.strip() for c in line.split(_CELL)]
    if len(cells) == 1:
        return line
    if any(":" in c or "=" in c for c in cells):
        return " ".join(cells)
    if len(cells) % 2:
        return f"{cells[0]}: {' '.join(cells[1:])}"
    return "\n".join(f"{k}: {v}" for k, v in zip(cells[::2], cells[1::2], strict=True))


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from a part's bytes: its declared charset if Python knows it as a text encoding,
    else UTF-8, else Windows-1252 (what undeclared mail from Windows tools usually is).
    Never returns a lone surrogate (it could not be stored)."""
    if charset:
        try:
            info = codecs.lookup(charset)
        except (LookupError, ValueError):
            charset = None
        else:
            if not getattr(info, "_is_text_encoding", True) or info.name in _UNSAFE_CODECS:
                charset = None
            elif info.name == "iso8859-1":
                # bytes 0x80-0x9F are C1 controls in ISO-8859-1, never text; Windows
                # mailers label Windows-1252 text (quotes, the euro sign) so, and the
                # WHATWG Encoding Standard reads the label as windows-1252 for that reason
                try:
                    return data.decode("cp1252")
                except UnicodeDecodeError:  # one of the five bytes cp1252 leaves undefined
                    pass
    if charset:
        try:
            text = data.decode(charset)
        except UnicodeError:  # UnicodeDecodeError, and the errors of punycode and the like
            pass
        else:
            if not has_surrogate(text):
                return text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header(msg: Message, name: str) -> str:
    raw = msg.get(name)
    if raw is None:
        return ""
    if isinstance(raw, Header):
        # 8-bit bytes in the header, which compat32 wraps (and str() would turn into U+FFFD):
        # read them as an undeclared body is read
        chunks = decode_header(raw)
        return "".join(c if isinstance(c, str) else decode_bytes(c, None) for c, _cs in chunks)
    value = str(raw)
    try:
        decoded = str(make_header(decode_header(value)))
    except (LookupError, UnicodeError, ValueError):
        return value
    # an encoded word in a codec like unicode_escape can spell a lone surrogate
    return value if has_surrogate(decoded) else decoded


def _texts(msg: Message) -> Iterator[tuple[str, str]]:
    """``(content type, text)`` for every part worth searching, plain text before HTML of the
    same ``multipart/alternative``. At most :data:`MAX_PARTS` parts and :data:`MAX_TEXT`
    characters of text, else :class:`ParseError`."""
    budget = _Budget()
    yield from _walk(msg, has_plain_sibling=False, budget=budget)


class _Budget:
    def __init__(self) -> None:
        self.parts = 0
        self.chars = 0

    def part(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ParseError(
                f"refused: more than {MAX_PARTS} MIME parts (a MIME bomb?); a receipt e-mail "
                "has a few"
            )

    def text(self, n: int) -> None:
        self.chars += n
        if self.chars > MAX_TEXT:
            raise ParseError(
                f"refused: more than {MAX_TEXT // 2**20} MiB of decoded text in one e-mail; "
                "receipt e-mails are far smaller"
            )


def _walk(part: Message, has_plain_sibling: bool, budget: _Budget) -> Iterator[tuple[str, str]]:
    budget.part()
    ctype = part.get_content_type()
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return
        plain = ctype == "multipart/alternative" and any(
            isinstance(c, Message) and c.get_content_type() == "text/plain" for c in children
        )
        for child in children:
            if isinstance(child, Message):
                if ctype == "message/rfc822":  # a forwarded e-mail: its subject counts too
                    subject = unfold(_header(child, "Subject"))
                    if subject:
                        yield "subject", subject
                yield from _walk(child, plain, budget)
        return
    if ctype not in _TEXT_TYPES:
        return
    if ctype == "text/html" and has_plain_sibling:
        return
    cte = part.get("Content-Transfer-Encoding")
    if cte is not None and str(cte) != str(cte).strip():
        # "base64 " is base64: the email package compares the value as it is written
        part.replace_header("Content-Transfer-Encoding", str(cte).strip())
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return
    budget.text(len(data))
    text = decode_bytes(data, part.get_content_charset())
    if ctype == "text/html":
        text = html_to_text(text)
    yield ctype, text


def _check_structure(payload: bytes) -> None:
    """Refuse a MIME bomb before the parser (which recurses per level and builds an object
    per part) sees it: count the containers and the boundary lines."""
    containers = len(_CONTAINER.findall(payload))
    if containers > MAX_CONTAINERS:
        raise ParseError(
            f"refused: {containers} nested multipart/message parts declared, over the limit "
            f"of {MAX_CONTAINERS} (a MIME bomb?); a receipt e-mail has a few"
        )
    boundaries = {a or b for a, b in _BOUNDARY.findall(payload)}
    if len(boundaries) > MAX_CONTAINERS:  # each multipart declares one
        raise ParseError(
            f"refused: {len(boundaries)} MIME boundaries declared, over the limit of "
            f"{MAX_CONTAINERS} (a MIME bomb?); a receipt e-mail has a few"
        )
    parts = sum(payload.count(b"\n--" + boundary) for boundary in boundaries)
    if parts > MAX_PARTS:
        raise ParseError(
            f"refused: {parts} MIME part boundaries, over the limit of {MAX_PARTS} "
            "(a MIME bomb?); a receipt e-mail has a few"
        )


def parse_email(payload: bytes, profile: Profile, tz: tzinfo) -> list[Receipt]:
    """Every receipt in one e-mail, in the order they appear (the subject's last).

    A single-part text e-mail with plain headers is read without the ``email`` package
    (:mod:`.plainmail`, the same result for a fraction of the time); anything else is
    parsed by it."""
    _check_structure(payload)
    plain = read_plain_mail(payload, MAX_TEXT)
    if plain is not None:
        text = decode_bytes(plain.body, plain.charset)
        if plain.content_type == "text/html":
            text = html_to_text(text)
        return _receipts(
            plain.header("Subject"),
            plain.headers,
            [(plain.content_type, text)],
            lambda: plain.header("In-Reply-To"),
            profile,
            tz,
        )
    try:
        msg = email.message_from_bytes(payload, policy=email.policy.compat32)
    except RecursionError as exc:  # the structure check should have caught it first
        raise ParseError("refused: MIME parts nested too deeply (a MIME bomb?)") from exc
    return _receipts(
        _header(msg, "Subject"),
        msg.items(),
        _texts(msg),
        lambda: _header(msg, "In-Reply-To"),
        profile,
        tz,
    )


def _receipts(
    subject: str,
    header_items: Iterable[tuple[str, object]],
    parts: Iterable[tuple[str, str]],
    in_reply_to: Callable[[], str],
    profile: Profile,
    tz: tzinfo,
) -> list[Receipt]:
    """The receipts of an e-mail given its subject, headers, ``(content type, text)`` of
    every part worth searching (``("subject", …)`` for a forwarded e-mail's subject) and
    its ``In-Reply-To`` (asked for only when the receipts are sentences)."""
    subject = unfold(subject)
    body: list[Receipt] = []
    texts: list[str] = []
    subjects: list[str] = [subject] if subject else []
    headers = report_headers(header_items, profile)  # a report whose lines became headers
    for ctype, text in parts:
        if ctype == "subject":
            subjects.append(text)
            continue
        if headers:
            text = headers + "\n" + text
            headers = ""
        texts.append(text)
        body.extend(text_receipts(text, profile, tz))
    if headers:
        texts.append(headers)
        body.extend(text_receipts(headers, profile, tz))
    seen = {(r.message_id, r.provider_status) for r in body}
    extra: list[Receipt] = []
    for line in subjects:
        for r in text_receipts(line, profile, tz):
            # a subject usually repeats, in part, a receipt the body holds in full
            if (r.message_id, r.provider_status) not in seen:
                extra.append(r)
    found = body + extra
    if not found:
        # no receipt in a structured form: the subject and body may say it in words
        found = _sentences(in_reply_to(), subjects, texts, profile, tz)
    out: list[Receipt] = []
    kept: set[Receipt] = set()  # a set: an e-mail may hold thousands of receipts
    for r in safe_receipts(found):
        r = with_format(r, f"email+{r.format}")
        if r not in kept:
            kept.add(r)
            out.append(r)
    if not out:
        raise ParseError(
            f"no receipt in this e-mail (subject {subject[:80]!r}, {len(texts)} text part(s)); "
            "expected SMPP 'id:… stat:…' lines, query strings, 'Key: value' lines with a "
            "message id and a status, or a sentence such as 'Message to +44… delivered' — if "
            "the provider writes them another way, define a profile naming its fields"
        )
    return out


def _sentences(
    in_reply_to: str, subjects: list[str], texts: list[str], profile: Profile, tz: tzinfo
) -> list[Receipt]:
    """Receipts worded as sentences (:mod:`.sentences`), the subject's after the body's;
    a subject repeating the body's sentence is one receipt."""
    reply_to = unfold(in_reply_to).strip().strip("<>").strip() or None
    ids = [message_id_line(text, profile) for text in texts]
    anywhere = next((got for got in ids if got), None)
    out: list[Receipt] = []
    seen: set[tuple[str, State]] = set()
    for text, own in zip(texts + subjects, ids + [None] * len(subjects), strict=True):
        fallback = own or anywhere or reply_to
        for r in sentence_receipts(text, profile, tz, fallback):
            if (r.message_id, r.state) not in seen:
                seen.add((r.message_id, r.state))
                out.append(r)
    return out
