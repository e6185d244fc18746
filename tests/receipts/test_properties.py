"""Property tests: any input gives receipts or our ParseError; Appendix B round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

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
