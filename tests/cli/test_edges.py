"""Errors an operator meets, translated at the CLI's edge: one line that says what to do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.store import Store

LINE = "id:{n:06d} sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 stat:DELIVRD"


def test_global_options_before_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text('[database]\npath = "x.sqlite"\n')  # no sources: check-config exits 1
    assert main(["--config", str(config), "check-config"]) == 1
    assert f"config: {config}" in capsys.readouterr().out
    # after the command still wins over before it
    assert main(["--config", "/nonexistent.toml", "check-config", "--config", str(config)]) == 1
    assert f"config: {config}" in capsys.readouterr().out
    assert main(["--quiet", "check-config", "--config", str(config)]) == 1
    assert "config: " not in capsys.readouterr().out


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    data = tmp_path / "many.txt"
    data.write_text("\n".join(LINE.format(n=n) for n in range(20000)) + "\n")
    proc = subprocess.run(
        f"{sys.executable} -m dlrpoll parse {data} | head -n 1; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.stdout.count("\n") == 1 and json.loads(proc.stdout)["state"] == "DELIVERED"
    assert proc.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
    assert proc.returncode == 141


def test_export_of_an_unknown_source_lists_the_known_ones(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "dlrpoll.toml"
    config.write_text(
        '[database]\npath = "dlr.sqlite"\n[[sources]]\nname = "box"\nkind = "pop3"\n'
        'host = "127.0.0.1"\nusername = "u"\npassword = { env = "NOPE_NOT_SET" }\n'
    )
    Store(f"sqlite:///{tmp_path / 'dlr.sqlite'}").close()  # as a first poll would
    assert main(["export", "--source", "typo", "--config", str(config)]) == 2
    assert "no source named 'typo' (sources: box)" in capsys.readouterr().err


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("this test switches to the user nobody with setpriv: run it as root")
    path = Path(tempfile.mkdtemp(prefix="dlrpoll-edge-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_a_poller_without_write_access_gets_one_line_not_a_traceback(shared_dir: Path) -> None:
    config = shared_dir / "dlrpoll.toml"
    config.write_text(
        '[database]\npath = "dlr.sqlite"\n[[sources]]\nname = "box"\nkind = "pop3"\n'
        'host = "127.0.0.1"\nport = 9\ntls = "none"\nallow_plaintext = true\nusername = "u"\n'
        'password = { env = "DLRPOLL_EDGE_PW" }\nretries = 0\n'
    )
    config.chmod(0o644)
    Store(f"sqlite:///{shared_dir / 'dlr.sqlite'}").close()
    proc = subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
        + [sys.executable, "-m", "dlrpoll", "poll", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=shared_dir,
        env={**os.environ, "DLRPOLL_EDGE_PW": "x", "HOME": str(shared_dir)},
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output and "internal error" not in output
    assert "StoreError(" not in output
    assert "read-only for this user" in output or "writable by this user" in output
    assert len([line for line in output.splitlines() if "dlr.sqlite" in line]) == 1, output


def test_a_world_readable_secret_file_is_refused_like_a_literal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    config = tmp_path / "dlrpoll.toml"
    config.write_text(
        '[[sources]]\nname = "box"\nkind = "pop3"\nhost = "127.0.0.1"\nusername = "u"\n'
        'password = { file = "pw" }\n'
    )
    assert main(["check-config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"sources[0].password: secret file {secret} is readable by every user" in err
    assert "chmod o-rwx" in err and "s3cret" not in err
    secret.chmod(0o640)  # a group may read it (e.g. systemd credentials, a service group)
    assert main(["check-config", "--config", str(config)]) == 0


def test_every_byte_of_output_and_log_arrives_before_the_process_ends(tmp_path: Path) -> None:
    """The command skips the interpreter's teardown (``cli.leave``): what it printed, and
    what it logged, must all be out first, with the exit code it returned."""
    data = tmp_path / "many.txt"
    data.write_text("\n".join(LINE.format(n=n) for n in range(20000)) + "\nnot a receipt\n")
    proc = subprocess.run(
        [sys.executable, "-m", "dlrpoll", "--log-level", "DEBUG", "parse", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = proc.stdout.splitlines()
    assert len(lines) == 20001  # 20,000 receipts and the error line of the last one
    assert json.loads(lines[-2])["message_id"] == LINE.format(n=19999).split()[0][3:]
    assert proc.returncode == 1  # one line could not be read
    # print() to a pipe stays in Python's buffer until something flushes it (unless the
    # environment says PYTHONUNBUFFERED, as some CI machines do)
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.run(
        [sys.executable, "-m", "dlrpoll", "profiles"],
        env=buffered,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    assert (
        proc.stdout
        == subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from dlrpoll.cli import main; sys.exit(main(['profiles']))",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    assert "twilio" in proc.stdout and "vonage" in proc.stdout


def test_the_console_command_ends_like_python_m(tmp_path: Path) -> None:
    """``dlrpoll`` (the installed script) and ``python -m dlrpoll`` leave the same way."""
    script = Path(sys.executable).with_name("dlrpoll")
    for argv in ([str(script)], [sys.executable, "-m", "dlrpoll"]):
        proc = subprocess.run(
            [*argv, "--config", str(tmp_path / "missing.toml"), "status"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2 and "missing.toml" in proc.stderr, proc
