"""The CLI's edge: our errors and bugs alike become one line on stderr and an exit code."""

from __future__ import annotations

import argparse

import pytest

from dlrpoll import cli
from dlrpoll.errors import SourceAuthError


def _with_handler(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    real = cli.build_parser

    def build() -> argparse.ArgumentParser:
        parser = real()

        def handler(args: argparse.Namespace) -> int:
            raise exc

        parser.set_defaults(handler=handler)
        for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
            for sub in action.choices.values():  # type: ignore[union-attr]
                sub.set_defaults(handler=handler)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)


def test_our_error_is_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_handler(monkeypatch, SourceAuthError("box", "the server refused the credentials"))
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert err == "Error: source 'box': the server refused the credentials\n"


def test_a_bug_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _with_handler(monkeypatch, RuntimeError("boom"))
    assert cli.main(["status"]) == 70
    err = capsys.readouterr().err
    assert err.startswith("Error: internal error: RuntimeError: boom;")
    assert "Traceback" not in err and err.count("\n") == 1
