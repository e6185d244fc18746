"""``check-config --connect``: connect, TLS, log in, count (POP3 STAT), load the WSDL and
resolve operation, items and fields; never fetch, mark or delete anything."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.sandbox.pop3_server import Pop3Sandbox
from dlrpoll.sandbox.soap_inbox import SoapInbox

MAIL = b"Subject: DLR\r\n\r\nid:1 sub:001 dlvrd:001 stat:DELIVRD err:000 text:\r\n"


def pop3(name: str, port: int, timeout: str = "5s") -> str:
    return (
        f'[[sources]]\nname = "{name}"\nkind = "pop3"\nhost = "127.0.0.1"\nport = {port}\n'
        f'tls = "none"\nallow_plaintext = true\nusername = "dlr"\n'
        f'password = {{ env = "PW_{name.upper()}" }}\ntimeout = "{timeout}"\nretries = 0\n'
    )


def soap(name: str, wsdl: str, items: str = "NewSMSMessage") -> str:
    return (
        f'[[sources]]\nname = "{name}"\nkind = "soap"\nwsdl = "{wsdl}"\nitems = "{items}"\n'
        'args = { token = { env = "TOKEN" }, signature = { env = "SIGNATURE" } }\n'
        "retries = 0\ntimeout = 5\n"
    )


@pytest.fixture
def mailbox() -> Iterator[Pop3Sandbox]:
    with Pop3Sandbox(password="pw") as box:
        box.add(MAIL)
        box.add(MAIL.replace(b"id:1", b"id:2"))
        yield box


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts and says nothing, as a POP3S port waits for a TLS ClientHello."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(5)
        yield server.getsockname()[1]


def config(tmp_path: Path, *sources: str) -> str:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(f'[database]\npath = "{tmp_path / "dlr.sqlite"}"\n' + "".join(sources))
    return str(path)


def test_pop3_connects_logs_in_and_counts_without_touching_the_mailbox(
    tmp_path: Path,
    mailbox: Pop3Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PW_BOX", "pw")
    path = config(tmp_path, pop3("box", mailbox.port))
    assert main(["check-config", "--connect", "--config", path]) == 0
    out = capsys.readouterr().out
    assert f"ok      box: connect to 127.0.0.1:{mailbox.port} (no TLS), log in as 'dlr'" in out
    assert "ok      box: STAT: 2 message(s) wait" in out
    assert out.rstrip().endswith("config OK (connected)")
    assert mailbox.count() == 2  # nothing retrieved, nothing deleted
    assert not (tmp_path / "dlr.sqlite").exists()  # and no database made


def test_pop3_failures_name_the_fix(
    tmp_path: Path,
    mailbox: Pop3Sandbox,
    silent_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PW_BAD", "wrong")
    monkeypatch.setenv("PW_TLS", "pw")
    path = config(tmp_path, pop3("bad", mailbox.port), pop3("tls", silent_port, timeout="1s"))
    assert main(["check-config", "--connect", "--config", path]) == 1
    out = capsys.readouterr().out
    assert "FAILED  bad: connect" in out and "refused the credentials" in out
    assert "FAILED  tls: connect" in out and "the port may speak TLS" in out
    assert 'set tls = "ssl"' in out
    # --source narrows the checks to one source
    assert main(["check-config", "--connect", "--source", "bad", "--config", path]) == 1
    out = capsys.readouterr().out
    assert "bad: connect" in out and "tls: connect" not in out


def test_soap_loads_the_wsdl_resolves_items_and_connects_without_a_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TOKEN", "t")
    monkeypatch.setenv("SIGNATURE", "s")
    with SoapInbox(token="t", signature="s") as inbox:
        inbox.load(["id:1 stat:DELIVRD err:000"])
        path = config(
            tmp_path,
            soap("good", inbox.wsdl_url),
            soap("typo", inbox.wsdl_url, items="NewSMSMesage"),
        )
        assert main(["check-config", "--connect", "--config", path]) == 1
        out = capsys.readouterr().out
        assert f"ok      good: load the WSDL {inbox.wsdl_url}: endpoint {inbox.url}" in out
        assert "ok      good: operation GetNewInboxMessages, items 'NewSMSMessage'" in out
        assert f"ok      good: connect to the endpoint: 127.0.0.1:{inbox.port} accepts" in out
        assert "FAILED  typo: operation GetNewInboxMessages, items 'NewSMSMesage'" in out
        assert "NewSMSMessage" in out.split("FAILED  typo:", 1)[1]  # the names it offers
        assert inbox.requests == 0 and inbox.unread() == 1  # no SOAP call, nothing read
