"""``dlrpoll init``, ``dlrpoll completion`` and ``dlrpoll sandbox``: the first minutes of a
new user."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from dlrpoll.cli import main


def test_init_writes_the_example_config_0600_and_says_what_next(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "etc" / "config.toml"
    assert main(["init", str(target)]) == 0
    out = capsys.readouterr().out
    assert target.stat().st_mode & 0o777 == 0o600
    root = Path(__file__).resolve().parents[2]
    assert target.read_text() == (root / "config.example.toml").read_text()
    assert f"dlrpoll check-config --config {target} --connect" in out
    assert main(["init", str(target)]) == 2  # never overwrites by accident
    assert "exists" in capsys.readouterr().err
    assert main(["init", str(target), "--force"]) == 0


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_knows_the_commands_and_options(
    shell: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    for word in ("check-config", "quarantine", "--metrics-file", "--connect", "prune"):
        assert word in script


def test_sandbox_serves_until_interrupted_and_its_config_polls(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "dlrpoll", "sandbox", "--dir", str(tmp_path / "sb")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    with proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            assert first.startswith("sandbox ready"), first + proc.stderr.read()
            config = tmp_path / "sb" / "dlrpoll.toml"
            assert main(["poll", "--config", str(config)]) == 0
            assert main(["quarantine", "--config", str(config)]) == 0
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
            assert "sandbox stopped" in proc.stdout.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert (tmp_path / "sb" / "dlrpoll.sqlite").exists()
