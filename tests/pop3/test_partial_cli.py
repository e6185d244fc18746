"""``partial`` as a user meets it: ``dlrpoll poll`` exits 1 and says what is left on the
server, ``status`` shows it, and the metrics have a gauge of their own for it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dlrpoll.cli import main
from tests.pop3.scripted_server import PASSWORD, USER, Script, ScriptedPop3
from tests.support.dovecot import receipt_email

CONFIG = """\
[database]
path = "dlr.sqlite"

[[sources]]
name = "mail"
kind = "pop3"
host = "127.0.0.1"
port = {port}
tls = "none"
allow_plaintext = true
username = "{user}"
password = {{ file = "pw" }}
retries = 0
timeout = 5
"""


def test_poll_status_and_metrics_show_a_partial_poll(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = Script([receipt_email(f"CP{i}") for i in range(3)], retr_error={2: b"-ERR broken"})
    with ScriptedPop3(script) as server:
        (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
        (tmp_path / "pw").chmod(0o600)  # a world-readable secret file is refused
        config = tmp_path / "dlrpoll.toml"
        config.write_text(CONFIG.format(port=server.port, user=USER), encoding="utf-8")
        metrics = tmp_path / "dlrpoll.prom"

        code = main(["poll", "--config", str(config), "--metrics-file", str(metrics)])

        [line] = capsys.readouterr().out.splitlines()
        assert code == 1
        assert line.startswith("mail: partial: 1 item(s) left on the server: message 2")
        assert "-ERR broken" in line and "stored 2" in line
        values = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(metrics.read_text(encoding="utf-8"))
            for sample in family.samples
        }
        mail = (("source", "mail"),)
        assert values[("dlrpoll_polls_total", (("outcome", "partial"), *mail))] == 1
        assert values[("dlrpoll_last_poll_partial", mail)] == 1
        assert values[("dlrpoll_last_poll_ok", mail)] == 0
        # it stored what it could: not a failed poll for the "no success" alert
        assert values[("dlrpoll_last_success_timestamp_seconds", mail)] > 0

        assert main(["status", "--config", str(config)]) == 0
        out = capsys.readouterr().out
        assert "partial" in out
        assert "mail: waiting for an operator: 1 item(s) left on the server" in out
        assert main(["status", "--config", str(config), "--json"]) == 0
        [row] = json.loads(capsys.readouterr().out)["sources"]
        assert row["outcome"] == "partial" and "-ERR broken" in row["error"]
        assert len(server.remaining()) == 1
