"""``--log-format json``: one object per line with an RFC 3339 millisecond UTC time, a
poll's source, outcome and counts as fields, and configuration errors too."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.cli.common import setup_logging
from dlrpoll.counts import Counts, Outcome
from dlrpoll.poller import PollResult, log_result

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_a_poll_result_is_one_object_with_its_fields(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(argparse.Namespace(log_format="json", log_level="INFO", quiet=False))
    log_result(PollResult("box", Outcome.OK, Counts(3, 2, 1, 0)))
    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert RFC3339_MS.match(record["time"]), record["time"]
    assert record["level"] == "INFO" and record["logger"] == "dlrpoll.result"
    assert record["message"] == "poll box: ok (fetched 3, stored 2, duplicates 1, quarantined 0)"
    assert (record["source"], record["outcome"]) == ("box", "ok")
    assert (record["fetched"], record["stored"], record["duplicates"]) == (3, 2, 1)


def test_configuration_errors_are_json_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[sources]]\nname = "x"\nkind = "pop3"\ninterval = "30s"\n')
    assert main(["--log-format", "json", "check-config", "--config", str(bad)]) == 2
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert records and all(r["level"] == "ERROR" and r["error_kind"] == "config" for r in records)
    messages = [r["message"] for r in records]
    assert "sources[0].interval: 30s is below the provider minimum of 2m" in messages
