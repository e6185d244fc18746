"""The failure table: it covers every stage in both modes, and every row is reached by a real
failure against a real server on 127.0.0.1 (the way httpx tests its exception mapping)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import Secret, SoapSourceConfig
from dlrpoll.errors import ConfigError, DlrpollError
from dlrpoll.sandbox.soap_inbox import Injected, SoapInbox, smpp_receipts
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.sources.soap import SoapSource
from dlrpoll.sources.soap.failures import TABLE, Stage, expected_keys
from tests.soap.canned import Canned, Request, Response
from tests.soap.conftest import SIGNATURE, TOKEN
from tests.support.placed import placed

Key = tuple[Stage, bool]
SMS_WSDL = resources.files("dlrpoll.sandbox").joinpath("sms.wsdl").read_text(encoding="utf-8")
FAULT = (
    b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
    b"<faultcode>s:Server</faultcode><faultstring>busy, try later</faultstring></s:Fault>"
    b"</s:Body></s:Envelope>"
)


class Rig:
    """What a scenario may use: the sandbox, a canned server, a directory."""

    def __init__(self, inbox: SoapInbox, canned: Canned, tmp: Path) -> None:
        self.inbox = inbox
        self.canned = canned
        self.tmp = tmp
        self.answer = Response(403, b"<html>forbidden</html>", {"Content-Type": "text/html"})

    def source(self, consuming: bool, *, args: dict[str, Any] | None = None, **cfg: Any) -> Any:
        values: dict[str, Any] = {
            "kind": "soap",
            "name": "upside",
            "wsdl": self.inbox.wsdl_url,
            "timeout": 0.5,
            "mode": "destructive" if consuming else "two-phase",
        }
        values.update(cfg)
        if args is None:
            args = {"token": Secret(TOKEN, "env T"), "signature": Secret(SIGNATURE, "env S")}
        config = placed(values)
        assert isinstance(config, SoapSourceConfig)
        return SoapSource(config, args, RetryPolicy(attempts=1, wait_initial=0.0))

    def wsdl_file(self, text: str = SMS_WSDL, name: str = "sms.wsdl") -> str:
        path = self.tmp / name
        path.write_text(text)
        return str(path)

    def at_canned(self, consuming: bool, answer: Response) -> Any:
        self.answer = answer
        return self.source(consuming, wsdl=self.wsdl_file(), endpoint=self.canned.url("/svc"))


def outcome(source: SoapSource) -> DlrpollError | str:
    """Run a session as the poller would; the error it raised, or the reason it journaled."""
    try:
        with source.open() as session:
            for batch in session.batches(lambda ids: set()):
                if batch.envelope is not None and batch.envelope.parse_error is not None:
                    return batch.envelope.parse_error
                session.acknowledge(batch)
    except DlrpollError as exc:
        return exc
    raise AssertionError("the session ended without a failure")


def _dead_port() -> int:
    dead = SoapInbox().start()
    port = dead.port
    dead.stop()
    return port


def _outside_import(rig: Rig) -> str:
    (rig.tmp / "other.xsd").write_text('<s:schema xmlns:s="http://www.w3.org/2001/XMLSchema"/>')
    (rig.tmp / "sub").mkdir(exist_ok=True)
    text = SMS_WSDL.replace(
        '<s:element name="GetNewInboxMessages">',
        '<s:import namespace="urn:other" schemaLocation="../other.xsd"/>'
        '<s:element name="GetNewInboxMessages">',
    )
    return rig.wsdl_file(text, "sub/sms.wsdl")


def _required_token() -> str:
    return SMS_WSDL.replace('minOccurs="0" maxOccurs="1" name="token"', 'name="token"')


Scenario = Callable[[Rig, bool], SoapSource]
SCENARIOS: dict[Stage, Scenario] = {
    Stage.WSDL_TLS: lambda r, c: r.source(c, wsdl=r.inbox.wsdl_url.replace("http:", "https:")),
    Stage.WSDL_UNREACHABLE: lambda r, c: r.source(
        c, wsdl=f"http://127.0.0.1:{_dead_port()}/SMS.asmx?wsdl"
    ),
    Stage.WSDL_UNREADABLE: lambda r, c: r.source(c, wsdl=str(r.tmp / "missing.wsdl")),
    Stage.WSDL_HTTP: lambda r, c: r.source(c, wsdl=r.inbox.url),
    Stage.WSDL_INVALID: lambda r, c: r.source(c, wsdl=r.wsdl_file("<not-a-wsdl/>")),
    Stage.WSDL_REFUSED: lambda r, c: r.source(c, wsdl=_outside_import(r)),
    Stage.ARGS: lambda r, c: r.source(
        c,
        args={"token": TOKEN, "signature": SIGNATURE, "bogus": 1},
        # in two-phase mode only the configured operation gets every argument
        **({} if c else {"operation": "GetTopMessageNoReset", "items": ""}),
        peek_operation="GetTopMessageNoReset",
    ),
    Stage.REQUEST: lambda r, c: r.source(
        c, wsdl=r.wsdl_file(_required_token()), endpoint=r.inbox.url, args={"signature": "s"}
    ),
    Stage.CONNECT: lambda r, c: r.source(c, endpoint=f"http://127.0.0.1:{_dead_port()}/SMS.asmx"),
    Stage.TLS: lambda r, c: r.source(c, endpoint=r.inbox.url.replace("http:", "https:")),
    Stage.LOST: lambda r, c: (r.inbox.inject(Injected.STALL), r.source(c))[1],
    Stage.TRUNCATED: lambda r, c: (r.inbox.inject(Injected.TRUNCATED), r.source(c))[1],
    Stage.TOO_LARGE: lambda r, c: (
        r.inbox.inject(Injected.HUGE, size=200_000),
        r.source(c, max_response_size="50KiB"),
    )[1],
    Stage.REDIRECT: lambda r, c: r.at_canned(c, Response(302, b"", {"Location": "/moved"})),
    Stage.HTTP_5XX: lambda r, c: (r.inbox.inject(Injected.HTTP_500), r.source(c))[1],
    Stage.HTTP_STATUS: lambda r, c: r.at_canned(
        c, Response(403, b"<html>forbidden</html>", {"Content-Type": "text/html"})
    ),
    Stage.FAULT_AUTH: lambda r, c: (setattr(r.inbox, "token", "rotated"), r.source(c))[1],
    Stage.FAULT: lambda r, c: r.at_canned(c, Response(500, FAULT)),
}


def test_the_table_covers_every_stage_in_both_modes() -> None:
    assert set(TABLE) == expected_keys()
    assert set(SCENARIOS) == set(Stage)


@pytest.fixture
def rig(inbox: SoapInbox, tmp_path: Path) -> Iterator[Rig]:
    holder: list[Rig] = []

    def answer(req: Request) -> Response:
        if req.method == "GET":
            return Response(200, SMS_WSDL.encode())
        return holder[0].answer

    with Canned(answer) as canned:
        holder.append(Rig(inbox, canned, tmp_path))
        yield holder[0]
    inbox.release()


def _pattern(template: str) -> str:
    return ".*".join(re.escape(part) for part in re.split(r"\{\w+\}", template))


@pytest.mark.parametrize(
    ("stage", "consuming"),
    sorted(expected_keys()),
    ids=[f"{s.value}-{'consuming' if c else 'not-consuming'}" for s, c in sorted(expected_keys())],
)
def test_every_row_is_reached_by_a_real_failure(rig: Rig, stage: Stage, consuming: bool) -> None:
    rig.inbox.load(smpp_receipts(3))
    rule = TABLE[(stage, consuming)]
    got = outcome(SCENARIOS[stage](rig, consuming))
    if rule.error is None:
        assert isinstance(got, str), f"expected the part that arrived journaled, got {got!r}"
        assert re.search(_pattern(rule.message), got), got
    else:
        assert type(got) is rule.error, f"{stage}: {got!r}"
        assert re.search(_pattern(rule.message), str(got)), str(got)


@pytest.mark.parametrize(
    "stage", sorted({s for s, _c in TABLE if TABLE[(s, False)].error is ConfigError})
)
def test_a_setting_to_fix_is_named_by_the_source_and_its_key_path(rig: Rig, stage: Stage) -> None:
    rig.inbox.load(smpp_receipts(3))
    got = outcome(SCENARIOS[stage](rig, False))
    key = TABLE[(stage, False)].message.split(":", 1)[0].removeprefix("{where}.")
    assert isinstance(got, ConfigError)
    assert str(got).startswith(f"source 'upside': sources[0].{key}: "), str(got)
