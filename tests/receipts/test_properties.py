"""Property tests: any input gives receipts or our ParseError; Appendix B round-trips;
dates in every accepted form round-trip; Unix times never land in another decade."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from dlrpoll.errors import ParseError
from dlrpoll.receipts import BUILTIN_PROFILES, Receipt, State, parse_payload
from dlrpoll.receipts.parse import _parse

PROFILES = list(BUILTIN_PROFILES.values())
FORMATS = ["text", "email", "smpp", "keyvalue"]
ABBREVIATIONS = {
    "DELIVRD": State.DELIVERED,
    "EXPIRED": State.EXPIRED,
    "DELETED": State.DELETED,
    "UNDELIV": State.UNDELIVERABLE,
    "ACCEPTD": State.ACCEPTED,
    "UNKNOWN": State.UNKNOWN,
    "REJECTD": State.REJECTED,
    "ENROUTE": State.ENROUTE,
}
# fragments that steer random input into every parser's corners
PIECES = st.sampled_from(
    [
        "id:",
        " stat:",
        "DELIVRD",
        " submit date:",
        "2401021530",
        "000000000000000R",
        "=",
        "&",
        "?",
        "%3D",
        "%25",
        "{",
        "}",
        "[",
        "<a>",
        "</a>",
        '"',
        ":",
        "\n",
        "\r\n\r\n",
        "\x00",
        "Subject: ",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n",
        "status",
        "messageId",
        "deliveryStatus=4",
        "<!DOCTYPE",
        "text:",
        "done date:99",
        "9" * 20,
        "\xff\xfe",
        # the shapes issue 13 added
        "GET /dlr?",
        " HTTP/1.1",
        "? ",
        "[0]",
        "[number]=",
        "[]=",
        "dr-msg=id%253A1%2520stat%253ADELIVRD",
        "null",
        "ND",
        "1730800000",
        "1730800000123",
        "1701021530",
        "2024110512000100",
        "2024-11-05T10:00:05+00:00",
        "2024-11-05 10:00:05 00:00",
        "+447700900555",
        " DELIVERED TO CARRIER",
        '{"results":[',
        '"status":{"name":',
        '"to":["',
        '<!DOCTYPE dlr SYSTEM "x.dtd">',
        "&e;",
        "<p>",
        "<div>",
        "In-Reply-To: <a@b>\n",
        "Message to +447700900555 delivered",
        " could not be delivered",
        "MsgId: 1\nState: DELIVRD\n",
    ]
)
NOISY_TEXT = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=12).map("".join)

SETTINGS = settings(max_examples=250, deadline=None)


def _only_parse_errors(payload: bytes) -> None:
    for profile in PROFILES:
        for fmt in FORMATS:
            try:
                got = _parse(payload, fmt, profile, UTC)  # unwrapped: a bug would show here
            except ParseError:
                continue
            assert got and all(isinstance(r, Receipt) for r in got)


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes(payload: bytes) -> None:
    _only_parse_errors(payload)


@SETTINGS
@given(st.text(max_size=200))
def test_any_text(text: str) -> None:
    _only_parse_errors(text.encode("utf-8", errors="surrogatepass"))


@SETTINGS
@given(NOISY_TEXT)
def test_receipt_shaped_noise(text: str) -> None:
    _only_parse_errors(text.encode("utf-8", errors="surrogatepass"))


def test_public_entry_point_wraps_everything() -> None:
    class Boom(str):
        def strip(self, *args: object) -> str:
            raise RuntimeError("bug")

    try:
        parse_payload(Boom("x"), "text", PROFILES[0], UTC)  # type: ignore[arg-type]
    except ParseError as exc:
        assert "parser failed" in str(exc) and isinstance(exc.__cause__, RuntimeError)
    else:
        raise AssertionError("no ParseError")


IDS = st.text(alphabet="0123456789abcdefABCDEF-_", min_size=1, max_size=24)
MOMENTS = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31))


@st.composite
def smpp_date(draw: st.DrawFn) -> tuple[str, datetime | None]:
    width = draw(st.sampled_from([0, 10, 12, 16]))
    if width == 0:
        return draw(st.sampled_from(["0000000000", "000000000000"])), None
    moment = draw(MOMENTS).replace(microsecond=0)
    if width == 10:
        moment = moment.replace(second=0)
        return moment.strftime("%y%m%d%H%M"), moment.replace(tzinfo=UTC)
    if width == 12:
        return moment.strftime("%y%m%d%H%M%S"), moment.replace(tzinfo=UTC)
    tenths = draw(st.integers(0, 9))
    quarters = draw(st.integers(0, 48))
    sign = draw(st.sampled_from("+-"))
    zone = timezone(timedelta(minutes=15 * quarters * (1 if sign == "+" else -1)))
    text = moment.strftime("%y%m%d%H%M%S") + f"{tenths}{quarters:02d}{sign}"
    return text, moment.replace(microsecond=tenths * 100_000, tzinfo=zone)


@SETTINGS
@given(
    message_id=IDS,
    sub=st.integers(0, 999),
    dlvrd=st.integers(0, 999),
    pad=st.booleans(),
    submitted=smpp_date(),
    done=smpp_date(),
    stat=st.sampled_from(sorted(ABBREVIATIONS)),
    err=st.text(alphabet="0123456789ABZ", min_size=1, max_size=4),
    text=st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=30).map(
        str.strip
    ),
    order=st.permutations(range(7)),
    shuffle=st.booleans(),
)
def test_generated_appendix_b_round_trips(  # noqa: PLR0913
    message_id: str,
    sub: int,
    dlvrd: int,
    pad: bool,
    submitted: tuple[str, datetime | None],
    done: tuple[str, datetime | None],
    stat: str,
    err: str,
    text: str,
    order: list[int],
    shuffle: bool,
) -> None:
    fields = [
        f"id:{message_id}",
        f"sub:{sub:03d}" if pad else f"sub:{sub}",
        f"dlvrd:{dlvrd:03d}" if pad else f"dlvrd:{dlvrd}",
        f"submit date:{submitted[0]}",
        f"done date:{done[0]}",
        f"stat:{stat}",
        f"err:{err}",
    ]
    if shuffle:
        fields = [fields[i] for i in order]
    line = " ".join(fields) + f" text:{text}"  # text last: it may hold anything
    [r] = parse_payload(line.encode("utf-8"), "text", BUILTIN_PROFILES["smpp"], UTC)
    assert r == Receipt(
        message_id=message_id,
        state=ABBREVIATIONS[stat],
        final=ABBREVIATIONS[stat].smpp_final,
        provider_status=stat,
        format="smpp",
        error_code=err,
        submitted_at=submitted[1],
        done_at=done[1],
        sub=sub,
        dlvrd=dlvrd,
        text=text,
    )


# --- nested documents and query shapes --------------------------------------------------

KEYS = st.sampled_from(
    ["messageId", "id", "status", "state", "name", "to", "results", "data", "payload", "error",
     "code", "doneAt", "receiver", "number", "text", "", "0"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**45),
    st.floats(allow_nan=False),
    st.sampled_from(["DELIVRD", "delivered", "null", "", "1730800000", "+44", "A1"]),
    st.text(max_size=6),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)),
    max_leaves=20,
)


@SETTINGS
@given(JSON_VALUES)
def test_any_json_document(doc: object) -> None:
    _only_parse_errors(json.dumps(doc).encode())


def _xml(doc: object, tag: str = "r") -> str:
    if isinstance(doc, dict):
        inner = "".join(_xml(v, k or "k") for k, v in doc.items() if not k[:1].isdigit())
        return f"<{tag}>{inner}</{tag}>"
    if isinstance(doc, list):
        return "".join(_xml(v, tag) for v in doc)
    return f"<{tag}>{escape(str(doc))}</{tag}>"


@SETTINGS
@given(JSON_VALUES)
def test_any_xml_document(doc: object) -> None:
    _only_parse_errors(("<?xml version='1.0'?><root>" + _xml(doc) + "</root>").encode())


QUERY_KEYS = st.sampled_from(
    ["msgid", "status", "to", "to[]", "to[0]", "receiver[number]", "price[amount]", "err",
     "doneDate", "dr-msg", "a[b][c]", "x[", "[y]"]
)  # fmt: skip


@SETTINGS
@given(
    st.lists(st.tuples(QUERY_KEYS, st.one_of(PIECES, st.text(max_size=6))), max_size=6),
    st.sampled_from(["", "/dlr?", "/dlr? ", "GET /dlr?", "https://x.example/dlr?"]),
    st.booleans(),
)
def test_any_query_string(pairs: list[tuple[str, str]], prefix: str, encode: bool) -> None:
    body = "&".join(f"{k}={quote(v) if encode else v}" for k, v in pairs)
    suffix = " HTTP/1.1" if prefix.startswith("GET") else ""
    _only_parse_errors((prefix + body + suffix).encode("utf-8", errors="surrogatepass"))


# --- dates in every accepted form round-trip ---------------------------------------------

UNIX_MIN, UNIX_MAX = 1_000_000_000, 2**31 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SMPP_ONLY = BUILTIN_PROFILES["smpp"]


def _smpp_reading(digits: str) -> datetime | None:
    """YYMMDDhhmm[ss], computed here independently of the parser."""
    try:
        sec = int(digits[10:12]) if len(digits) == 12 else 0
        return datetime(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:6]),
                        int(digits[6:8]), int(digits[8:10]), sec, tzinfo=UTC)  # fmt: skip
    except ValueError:
        return None


@st.composite
def dated(draw: st.DrawFn) -> tuple[str, str, datetime]:
    """(form, text, the moment it names)."""
    form = draw(
        st.sampled_from(
            ["smpp10", "smpp12", "smpp16", "yyyy12", "yyyy14", "yyyy16", "iso_z", "iso_colon",
             "iso_basic", "iso_fraction", "iso_space", "iso_plus_space", "unix_s", "unix_ms"]
        )
    )  # fmt: skip
    if form.startswith("unix"):
        seconds = draw(st.integers(UNIX_MIN, UNIX_MAX))
        if form == "unix_s":
            return form, str(seconds), EPOCH + timedelta(seconds=seconds)
        millis = draw(st.integers(0, 999))
        return (
            form,
            f"{seconds}{millis:03d}",
            EPOCH + timedelta(seconds=seconds, milliseconds=millis),
        )
    moment = draw(MOMENTS).replace(tzinfo=UTC)
    quarters = draw(st.integers(-48, 48))
    zone = timezone(timedelta(minutes=15 * quarters))
    local = moment.replace(microsecond=0)
    if form == "smpp10":
        m = local.replace(second=0)
        return form, m.strftime("%y%m%d%H%M"), m
    if form == "smpp12":
        return form, local.strftime("%y%m%d%H%M%S"), local
    if form == "smpp16":
        tenths = draw(st.integers(0, 9))
        m = local.replace(microsecond=tenths * 100_000, tzinfo=zone)
        sign = "-" if quarters < 0 else "+"
        return form, local.strftime("%y%m%d%H%M%S") + f"{tenths}{abs(quarters):02d}{sign}", m
    if form == "yyyy12":
        m = local.replace(second=0)
        return form, m.strftime("%Y%m%d%H%M"), m
    if form == "yyyy14":
        return form, local.strftime("%Y%m%d%H%M%S"), local
    if form == "yyyy16":
        hundredths = draw(st.integers(0, 99))
        return (
            form,
            local.strftime("%Y%m%d%H%M%S") + f"{hundredths:02d}",
            local.replace(microsecond=hundredths * 10_000),
        )
    offset = zone.utcoffset(None)
    sign = "-" if offset < timedelta(0) else "+"
    hh, mm = divmod(abs(int(offset.total_seconds())) // 60, 60)
    m = local.replace(tzinfo=zone)
    if form == "iso_z":
        return form, local.strftime("%Y-%m-%dT%H:%M:%SZ"), local
    if form == "iso_colon":
        return form, m.strftime("%Y-%m-%dT%H:%M:%S") + f"{sign}{hh:02d}:{mm:02d}", m
    if form == "iso_basic":
        return form, m.strftime("%Y%m%dT%H%M%S") + f"{sign}{hh:02d}{mm:02d}", m
    if form == "iso_fraction":
        micro = draw(st.integers(0, 999_999))
        return (
            form,
            m.strftime("%Y-%m-%dT%H:%M:%S") + f".{micro:06d}{sign}{hh:02d}{mm:02d}",
            m.replace(microsecond=micro),
        )
    if form == "iso_space":
        return form, local.strftime("%Y-%m-%d %H:%M:%S"), local
    # an offset written "+hh:mm", sent unencoded in a form: the "+" arrives as a space
    m = local.replace(tzinfo=timezone(timedelta(hours=hh, minutes=mm)))
    return form, local.strftime("%Y-%m-%dT%H:%M:%S") + f"+{hh:02d}:{mm:02d}", m


@SETTINGS
@given(dated())
def test_dates_in_every_form_round_trip_in_key_value(case: tuple[str, str, datetime]) -> None:
    form, text, moment = case
    raw = text if form == "iso_plus_space" else quote(text)
    line = f"messageId=R1&status=DELIVRD&doneDate={raw}".encode()
    expected: datetime | str = moment
    if form == "smpp10" and UNIX_MIN <= int(text) <= UNIX_MAX:
        expected = "reads two ways"  # an SMPP date and a Unix time: rejected, never guessed
    if form == "unix_s" and _smpp_reading(text) is not None:
        expected = "reads two ways"  # the same, seen from the Unix side
    if form == "yyyy12" and (smpp := _smpp_reading(text)) is not None:
        expected = smpp  # both readings valid: the SMPP one, as documented
    try:
        [r] = parse_payload(line, "text", SMPP_ONLY, UTC)
    except ParseError as exc:
        assert isinstance(expected, str) and expected in str(exc), (text, str(exc))
        return
    assert r.done_at == expected, (form, text)
    assert r.done_at is not None and r.done_at.utcoffset() == expected.utcoffset()  # type: ignore[union-attr]


@SETTINGS
@given(dated())
def test_dates_in_every_appendix_b_form_round_trip(case: tuple[str, str, datetime]) -> None:
    form, text, moment = case
    if form.startswith(("unix", "iso_plus")):
        return  # Appendix B dates are never Unix times; nothing form-decodes Appendix B text
    expected = moment
    if form == "yyyy12" and (smpp := _smpp_reading(text)) is not None:
        expected = smpp
    for line in (
        f"id:R2 sub:001 dlvrd:001 submit date:{text} done date:{text} stat:DELIVRD err:0 text:",
        f"stat:DELIVRD done date:{text} id:R2 submit date:{text}",
    ):
        [r] = parse_payload(line.encode(), "text", SMPP_ONLY, UTC)
        assert (r.submitted_at, r.done_at) == (expected, expected), (form, line)


@SETTINGS
@given(
    st.integers(UNIX_MIN, UNIX_MAX),
    st.integers(0, 999),
    st.booleans(),
    st.sampled_from(["query", "json", "lines"]),
)
def test_unix_times_never_land_in_another_decade(
    seconds: int, millis: int, as_ms: bool, shape: str
) -> None:
    value = f"{seconds}{millis:03d}" if as_ms else str(seconds)
    expected = EPOCH + timedelta(seconds=seconds, milliseconds=millis if as_ms else 0)
    raw = {
        "query": f"messageId=U1&status=delivered&doneDate={value}",
        "json": f'{{"messageId": "U1", "status": "delivered", "doneDate": {value}}}',
        "lines": f"Message ID: U1\nStatus: delivered\nDone Date: {value}\n",
    }[shape]
    try:
        [r] = parse_payload(raw.encode(), "text", SMPP_ONLY, UTC)
    except ParseError as exc:
        # only when an SMPP date is as valid: the message names the Unix reading too
        assert not as_ms and _smpp_reading(value) is not None, value
        assert expected.isoformat() in str(exc)
        return
    assert r.done_at == expected, (value, r.done_at)
