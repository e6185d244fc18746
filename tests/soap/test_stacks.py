"""Issue 11's behaviours of real SOAP stacks, each reproduced by a server on 127.0.0.1 and
polled through TOML in both modes: every receipt is stored exactly once, or the poll fails
loudly and what it journaled is recovered later (by ``reparse`` or the next poll)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.soap.conftest import smpp
from tests.soap.stacks.render import CHARSET_CONFLICTS
from tests.soap.stacks.server import API_KEY, PASSWORD, USER, Flavour, Stack
from tests.soap.stacks.wsdls import ASMX_PORTS

N = 7  # receipts per test; batches of 3 make the destructive loop call three times
MODES = ("destructive", "two-phase")

#: every behaviour that must simply work, numbered as in the issue
WORKING = [
    Flavour("1-unqualified-children", writes_qualified=False),
    Flavour("1-qualified-children", wsdl_qualified=False),
    Flavour("2-axis-multiref", style="rpc", multiref=True, rpc_imports="axis"),
    Flavour("3-nusoap-soapenc-array", style="rpc", rpc_imports="nusoap"),
    Flavour("4-wcf-multidoc", multidoc=True),
    Flavour("5-asmx-ports", ports=ASMX_PORTS),
    Flavour("6-basic", auth="basic"),
    Flavour("6-digest", auth="digest"),
    Flavour("6-header", auth="header"),
    Flavour("6-wsse", auth="wsse"),
    Flavour("7-redirect-307", redirect=307),
    Flavour("7-redirect-308", redirect=308),
    *(Flavour(f"8-{f}", framing=f) for f in ("header-charset", "bom", "utf-16", "blank-lines")),
    *(Flavour(f"8-{f}", framing=f) for f in ("gzip", "deflate", "chunked", "mtom")),
    # the Content-Type's charset and the declaration differ; only the declaration reads XML
    *(Flavour(f"8-{f}", framing=f) for f in ("us-ascii-header", "utf-8-header-latin-1-body")),
    Flavour("9-qualified-fault", faults=1),
]

AUTH_TOML = {
    "basic": 'http_auth = { username = "%s", password = { env = "DLRPOLL_TEST_SOAP_PW" } }',
    "digest": 'http_auth = { type = "digest", username = "%s", '
    'password = { env = "DLRPOLL_TEST_SOAP_PW" } }',
    "header": 'http_headers = { "X-Api-Key" = { env = "DLRPOLL_TEST_SOAP_KEY" } }',
    "wsse": 'wsse = { username = "%s", password = { env = "DLRPOLL_TEST_SOAP_PW" }, '
    "digest = false }",
}


@pytest.fixture(autouse=True)
def _stack_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRPOLL_TEST_SOAP_PW", PASSWORD)
    monkeypatch.setenv("DLRPOLL_TEST_SOAP_KEY", API_KEY)


def stack_toml(stack: Stack, mode: str, *, extra: str = "", wsdl: str | None = None) -> str:
    rpc = stack.flavour.style == "rpc"
    auth = AUTH_TOML.get(stack.flavour.auth or "", "")
    return f"""
[[sources]]
name = "stack"
kind = "soap"
wsdl = "{wsdl or stack.wsdl_url}"
mode = "{mode}"
operation = "{"getMessages" if rpc else "GetMessages"}"
args = {{ user = "{USER}", max = 3 }}
batch_limit = 3
items = "{"" if rpc else "messages.message"}"
fields = {{ remote_id = "id", body = "text", sender = "from" }}
peek_operation = "{"peekMessage" if rpc else "PeekMessage"}"
peek_items = "{"" if rpc else "message"}"
ack_operation = "{"markRead" if rpc else "MarkRead"}"
ack_arg = "id"
profile = "smpp"
timeout = 5
retries = 0
{auth.replace("%s", USER)}
{extra}
"""


def redeploy(deploy: Any, dep: Any, toml: str) -> Any:
    """The same database under a changed config, its clock going on from ``dep``'s."""
    new = deploy(toml)
    new.base, new.polls = dep.base, dep.polls
    return new


def texts() -> list[str]:
    return [smpp(n) + "café" for n in range(N)]


def expected() -> list[str]:
    return [f"M{n:07d}" for n in range(N)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("flavour", WORKING, ids=[f.name for f in WORKING])
def test_every_receipt_is_stored_exactly_once(
    flavour: Flavour, mode: str, deploy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    with Stack(flavour) as stack:
        ids = stack.load(texts())
        dep = deploy(stack_toml(stack, mode))
        result = dep.poll()
        if flavour.faults:
            # 9: the fault's qualified code and text are shown; nothing was marked read
            assert result.outcome == "error"
            assert "SOAP fault soapenv:Server.Busy: inbox is being maintained" in (
                result.error or ""
            )
            assert stack.unread() == ids
            result = dep.poll()
        assert (result.outcome, result.stored) == ("ok", N), result.error
        assert stack.unread() == [] and sorted(stack.read()) == ids
        again = dep.poll()
        assert (again.outcome, again.fetched, again.stored) == ("ok", 0, 0), again.error
        assert sorted(dep.message_ids()) == expected()
        # the charset, BOM, UTF-16, gzip, MTOM… framings all read the same text
        assert {r[0] for r in dep.query("SELECT text FROM receipts")} == {"café"}
        assert {
            r[0] for r in dep.query("SELECT sender FROM raw_messages WHERE format = 'text'")
        } == {"Zoë"}
        assert dep.query("SELECT count(*) FROM raw_messages WHERE parse_error IS NOT NULL") == [
            (0,)
        ]
        formats = {
            r[0] for r in dep.query("SELECT format FROM raw_messages WHERE format != 'text'")
        }
        needs_header = flavour.framing in ("header-charset", "mtom", *CHARSET_CONFLICTS)
        assert formats == {"soap-mime" if needs_header else "soap-envelope"}
    assert PASSWORD not in caplog.text and API_KEY not in caplog.text
    if flavour.auth == "digest":
        assert stack.rejected >= 1  # the challenge was answered
    elif flavour.auth:
        assert stack.rejected == 0
    if flavour.name.startswith("5-"):
        posts = stack.canned.posts()
        assert all(p.path == "/svc" for p in posts), "an HTTP GET/POST binding was called"
        assert all((p.header("Content-Type") or "").startswith("text/xml") for p in posts)
    if flavour.redirect:
        posts = stack.canned.posts()
        assert [p.path for p in posts[:2]] == ["/old", "/svc"] and posts[0].body == posts[1].body


@pytest.mark.parametrize("mode", MODES)
def test_1_qualification_fallback_is_logged(
    mode: str, deploy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="dlrpoll.sources.soap")
    with Stack(Flavour("1", writes_qualified=False)) as stack:
        stack.load(texts())
        assert deploy(stack_toml(stack, mode)).poll().outcome == "ok"
    assert "matched by local name: they are qualified otherwise than the WSDL says" in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_5_a_chosen_soap12_port_and_never_an_http_binding(mode: str, deploy: Any) -> None:
    with Stack(Flavour("5", ports=ASMX_PORTS)) as stack:
        stack.load(texts())
        dep = deploy(stack_toml(stack, mode, extra='service = "Inbox"\nport = "InboxSoap12"'))
        assert (dep.poll().stored, stack.unread()) == (N, [])
        assert all(
            (p.header("Content-Type") or "").startswith("application/soap+xml")
            for p in stack.canned.posts()
        )
        dep = redeploy(deploy, dep, stack_toml(stack, mode, extra='port = "InboxHttpPost"'))
        result = dep.poll()
        assert result.outcome == "error"
        assert "port: InboxHttpPost is a HttpPost, never used port" in (result.error or "")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("status", [301, 302, 303])
def test_7_a_redirect_that_would_lose_the_post_names_location(
    status: int, mode: str, deploy: Any
) -> None:
    with Stack(Flavour("7", redirect=status)) as stack:
        ids = stack.load(texts())
        dep = deploy(stack_toml(stack, mode))
        result = dep.poll()
        assert result.outcome == "error"
        assert f"redirects (HTTP {status}) to {stack.base}" in (result.error or "")
        assert "put that address in endpoint" in (result.error or "")
        assert stack.unread() == ids  # the POST never reached the operation
        fixed = redeploy(deploy, dep, stack_toml(stack, mode, extra=f'endpoint = "{stack.base}"'))
        fixed = fixed.poll()
        assert (fixed.outcome, fixed.stored, stack.unread()) == ("ok", N, [])


def test_7_a_307_to_another_host_is_refused(deploy: Any) -> None:
    with Stack(Flavour("7", redirect=307, redirect_host="localhost")) as stack:
        ids = stack.load(texts())
        result = deploy(stack_toml(stack, "destructive")).poll()
        assert result.outcome == "error" and "to another host" in (result.error or "")
        assert stack.unread() == ids and [p.path for p in stack.canned.posts()] == ["/old"]


def test_10_another_namespace_destructive_then_reparse(
    deploy: Any, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    from dlrpoll import reparse

    with Stack(Flavour("10", answer_ns="http://tempuri.org/")) as stack:
        ids = stack.load(texts())
        dep = deploy(stack_toml(stack, "destructive"))
        result = dep.poll()
        error = result.error or ""
        assert result.outcome == "error"
        assert "namespace http://tempuri.org/" in error and "http://example.test/inbox" in error
        assert "marked the messages in this response read" in error
        assert "receipts may be waiting in a journaled response" in caplog.text
        # the first batch was marked read and is only in the journal; the poll stopped there
        assert stack.unread() == ids[3:]
        [(_rid, _payload, reason)] = dep.journal("soap-envelope")
        assert "http://tempuri.org/" in reason
        # the fix: a copy of the WSDL in the namespace the service really answers in
        local = tmp_path / "inbox.wsdl"
        local.write_text(
            stack.documents()["?wsdl"].replace("http://example.test/inbox", "http://tempuri.org/")
        )
        dep = redeploy(deploy, dep, stack_toml(stack, "destructive", wsdl=str(local)))
        got = reparse.reparse(dep.config, dep.store)["stack"]
        assert (got.stored, got.quarantined) == (3, 0)
        again = reparse.reparse(dep.config, dep.store)["stack"]
        assert (again.stored, again.quarantined) == (0, 0)
        rest = dep.poll()
        assert (rest.outcome, rest.stored, stack.unread()) == ("ok", N - 3, [])
        assert sorted(dep.message_ids()) == expected()
        assert dep.query("SELECT count(*) FROM raw_messages WHERE parse_error IS NOT NULL") == [
            (0,)
        ]


def test_10_another_namespace_two_phase_marks_nothing(deploy: Any, tmp_path: Any) -> None:
    with Stack(Flavour("10", answer_ns="http://tempuri.org/")) as stack:
        ids = stack.load(texts())
        dep = deploy(stack_toml(stack, "two-phase"))
        result = dep.poll()
        assert result.outcome == "error" and "http://tempuri.org/" in (result.error or "")
        assert "marked the messages" not in (result.error or "")
        assert stack.unread() == ids
        local = tmp_path / "inbox.wsdl"
        local.write_text(
            stack.documents()["?wsdl"].replace("http://example.test/inbox", "http://tempuri.org/")
        )
        fixed = redeploy(deploy, dep, stack_toml(stack, "two-phase", wsdl=str(local))).poll()
        assert (fixed.outcome, fixed.stored, stack.unread()) == ("ok", N, [])


@pytest.mark.parametrize("kind", ["basic", "digest", "header"])
def test_6_wrong_credentials_fail_loading_the_wsdl(
    kind: str, deploy: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DLRPOLL_TEST_SOAP_PW", "wrong-password")
    monkeypatch.setenv("DLRPOLL_TEST_SOAP_KEY", "wrong-key")
    with Stack(Flavour("6", auth=kind)) as stack:
        ids = stack.load(texts())
        result = deploy(stack_toml(stack, "destructive")).poll()
        assert result.outcome == "error"
        assert f"HTTP {403 if kind == 'header' else 401}" in (result.error or "")
        assert stack.unread() == ids and stack.canned.posts() == []
    assert "wrong-password" not in caplog.text and "wrong-key" not in caplog.text


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("framing", ["us-ascii-header", "utf-8-header-latin-1-body"])
def test_8_a_charset_conflict_takes_the_only_reading_that_is_xml(
    framing: str, mode: str, deploy: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="dlrpoll.sources.soap")
    said, declared = CHARSET_CONFLICTS[framing]
    with Stack(Flavour("8", framing=framing)) as stack:
        stack.load(texts())
        assert deploy(stack_toml(stack, mode)).poll().stored == N
    assert (
        f"the HTTP Content-Type says charset={said} and the XML declaration says {declared}; "
        f"only {declared} reads the response as XML ({said}: it is not valid {said}"
    ) in caplog.text


@pytest.mark.parametrize("mode", MODES)
def test_8_a_charset_conflict_read_as_xml_both_ways_is_refused(mode: str, deploy: Any) -> None:
    """RFC 7303 gives the Content-Type's charset the last word; dlrpoll does not guess, and
    names both readings."""
    with Stack(Flavour("8", framing="latin-1-header-utf-8-body")) as stack:
        ids = stack.load(texts())
        result = deploy(stack_toml(stack, mode)).poll()
        error = result.error or ""
        assert result.outcome == "error" and result.stored == 0
        assert (
            "the HTTP Content-Type says charset=ISO-8859-1 and the XML declaration says utf-8; "
            "both read it as well-formed XML, and differently (ISO-8859-1 reads 'Ã©"
        ) in error
        assert "utf-8 reads 'é" in error and "will not guess" in error
        if mode == "destructive":
            assert "the provider has marked the messages in this response read" in error
            assert stack.unread() == ids[3:]
        else:
            assert "marked the messages" not in error and stack.unread() == ids
