"""Where a WSDL may lead (issue 11, behaviour 4), where a local WSDL path is resolved from,
which port is reported, and that a URL never carries a password."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import ConfigError, load_config
from dlrpoll.sources.soap import chosen_port
from tests.soap.conftest import write_config
from tests.soap.stacks.server import Flavour, Stack
from tests.soap.stacks.wsdls import ASMX_PORTS, doc_schema, wcf_documents
from tests.soap.test_stacks import N, stack_toml, texts


def local_copy(directory: Path, stack: Stack, *, xsd: str = "inbox.xsd") -> Path:
    """WCF's three documents saved side by side, their references made relative."""
    docs = wcf_documents("inbox.wsdl", stack.base)
    directory.mkdir(parents=True, exist_ok=True)
    main = docs["?wsdl"].replace("inbox.wsdl?wsdl=wsdl0", "inbox0.wsdl")
    (directory / "inbox.wsdl").write_text(main)
    (directory / "inbox0.wsdl").write_text(docs["?wsdl=wsdl0"].replace("inbox.wsdl?xsd=xsd0", xsd))
    (directory / "inbox.xsd").write_text(doc_schema())
    return directory / "inbox.wsdl"


@pytest.mark.parametrize("mode", ["destructive", "two-phase"])
def test_a_local_multi_document_wsdl_relative_to_the_config_file(
    mode: str, tmp_path: Path, deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Stack(Flavour("4", multidoc=True)) as stack:
        stack.load(texts())
        local_copy(tmp_path / "wsdl", stack)
        elsewhere = tmp_path / "cwd"
        elsewhere.mkdir()
        monkeypatch.chdir(elsewhere)  # cron and systemd start elsewhere than the config
        dep = deploy(stack_toml(stack, mode, wsdl="wsdl/inbox.wsdl"))
        result = dep.poll()
        assert (result.outcome, result.stored, stack.unread()) == ("ok", N, [])
        assert [r.method for r in stack.canned.requests].count("GET") == 0


def test_a_local_import_outside_the_wsdl_directory_is_refused(tmp_path: Path, deploy: Any) -> None:
    (tmp_path / "secret.xsd").write_text(doc_schema())
    with Stack(Flavour("4", multidoc=True)) as stack:
        ids = stack.load(texts())
        local_copy(tmp_path / "wsdl", stack, xsd="../secret.xsd")
        result = deploy(stack_toml(stack, "destructive", wsdl="wsdl/inbox.wsdl")).poll()
        assert result.outcome == "error"
        assert "imports the local file" in (result.error or "")
        assert str(tmp_path / "secret.xsd") in (result.error or "")
        assert stack.unread() == ids


def test_a_remote_wsdl_never_reads_local_files_or_other_hosts(deploy: Any) -> None:
    with Stack(Flavour("4", multidoc=True)) as stack, Stack(Flavour("other")) as other:
        ids = stack.load(texts())
        docs = stack.documents()
        dep = deploy(stack_toml(stack, "destructive"))
        for target, words in (
            ("file:///etc/hosts", "imports the local file /etc/hosts"),
            (other.base.replace("127.0.0.1", "localhost") + "?xsd=xsd0", "not on the WSDL's own"),
        ):
            doc0 = docs["?wsdl=wsdl0"].replace(f"{stack.base}?xsd=xsd0", target)
            stack.documents = lambda doc0=doc0: {**docs, "?wsdl=wsdl0": doc0}  # type: ignore[method-assign]
            from dlrpoll.sources.soap import wsdl

            wsdl._CACHE.clear()
            result = dep.poll()
            assert result.outcome == "error" and words in (result.error or ""), result.error
        assert other.canned.requests == [] and stack.unread() == ids


def test_chosen_port_reports_the_soap_11_port_and_the_others(tmp_path: Path) -> None:
    with Stack(Flavour("5", ports=ASMX_PORTS)) as stack:
        path = write_config(tmp_path, stack_toml(stack, "destructive"))
        config = load_config(path)
        choice = chosen_port(config, config.settings.sources[0])
        assert (choice.service, choice.port, choice.protocol) == ("Inbox", "InboxSoap", "SOAP 1.1")
        assert "InboxHttpPost (HttpPost, never used)" in choice.text()
        assert "InboxSoap12 (SOAP 1.2)" in choice.others


def test_a_url_holding_a_password_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        '[[sources]]\nname = "s"\nkind = "soap"\n'
        'wsdl = "https://acct:hunter22@soap.example.test/svc?wsdl"\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "sources[0].wsdl: a URL must not hold a password" in str(info.value)
    assert "hunter22" not in str(info.value)
    assert os.stat(path).st_mode & 0o077 == 0
