"""The README's install recipe and its cron lines, run in a temporary root as far as they
go without systemd: the venv and pip install are the test's own (what pip does is pip's
business), the user `dlrpoll` is `nobody` (no user is added to this machine), paths move
under the root, and `$EDITOR` writes a source on a sandbox mailbox."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.sandbox.pop3_server import Pop3Sandbox

ROOT_DIR = Path(__file__).resolve().parents[2]
#: `runuser -u dlrpoll --` of the README, as nobody (setpriv keeps the environment, like
#: cron gives its own; runuser's PAM session would reset PATH)
AS_NOBODY = "setpriv --reuid=nobody --regid=nogroup --clear-groups --"
MAIL = b"Subject: DLR\r\n\r\nid:1 sub:001 dlvrd:001 stat:DELIVRD err:000 text:\r\n"


def section(name: str) -> str:
    readme = (ROOT_DIR / "README.md").read_text(encoding="utf-8")
    return readme.split(f"<!-- section: {name} -->", 1)[1].split("<!-- section:", 1)[0]


def install_commands() -> list[str]:
    block = section("install").split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("  #", 1)[0].strip() for line in block.splitlines() if line.strip()]


def cron_lines() -> list[str]:
    text = (ROOT_DIR / "scripts" / "crontab.example").read_text()
    return [line for line in text.splitlines() if re.match(r"^[\d*]", line)]


@pytest.fixture
def root() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("the install recipe runs as root (it changes owners): run as root")
    path = Path(tempfile.mkdtemp(prefix="dlrpoll-root-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_the_readme_install_and_cron_recipe(root: Path) -> None:
    dlrpoll = Path(sys.executable).parent / "dlrpoll"
    env = {**os.environ, "PATH": f"{root}/usr/local/bin:{os.environ['PATH']}"}
    (root / "usr/local/bin").mkdir(parents=True)
    with Pop3Sandbox(password="pw") as box:
        box.add(MAIL)

        def edit(config: Path) -> None:  # what the operator types into $EDITOR
            text = config.read_text()
            text = text.replace('"/var/lib/dlrpoll/', f'"{root}/var/lib/dlrpoll/')
            text = text.split("# --- sources", 1)[0]  # the example's sources need accounts
            secret = root / "etc/dlrpoll/pop3-password"
            secret.write_text("pw\n")
            shutil.chown(secret, "nobody", "nogroup")
            secret.chmod(0o600)
            config.write_text(
                text + f'\n[[sources]]\nname = "box"\nkind = "pop3"\nhost = "127.0.0.1"\n'
                f'port = {box.port}\ntls = "none"\nallow_plaintext = true\nusername = "dlr"\n'
                f'password = {{ file = "{secret}" }}\nretries = 0\n'
            )

        ran = []
        for command in install_commands():
            if command.startswith(("python3 -m venv", "/opt/dlrpoll/bin/pip", "useradd")):
                continue  # the venv is this test's; no user is added to this machine
            if command.startswith("$EDITOR"):
                edit(root / "etc/dlrpoll/config.toml")
                continue
            command = command.replace("/opt/dlrpoll/bin/dlrpoll", str(dlrpoll))
            for path in ("/usr/local/bin", "/etc/dlrpoll", "/var/lib/dlrpoll"):
                command = command.replace(f" {path}", f" {root}{path}")
            command = re.sub(r"\bdlrpoll -g dlrpoll\b", "nobody -g nogroup", command)
            command = command.replace("chgrp dlrpoll", "chgrp nogroup")
            command = command.replace("runuser -u dlrpoll --", AS_NOBODY)
            proc = subprocess.run(
                command, shell=True, env=env, capture_output=True, text=True, timeout=120
            )
            assert proc.returncode == 0, f"{command}\n{proc.stdout}{proc.stderr}"
            ran.append(command)
        assert any("check-config" in c and "--connect" in c for c in ran)
        assert (root / "var/lib/dlrpoll/dlrpoll.sqlite").exists()
        assert box.count() == 0  # the first hand-run poll took the receipt

        # the crontab's lines, as the user the crontab is installed for
        cron_env = {**env, "DLRPOLL_CONFIG": f"{root}/etc/dlrpoll/config.toml"}
        for line in cron_lines():
            command = " ".join(line.split()[5:])
            command = command.replace("/usr/local/bin/dlrpoll", str(dlrpoll))
            command = command.replace(" /var/lib/dlrpoll", f" {root}/var/lib/dlrpoll")
            proc = subprocess.run(
                [*AS_NOBODY.split(), *shlex.split(command)],
                env=cron_env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert proc.returncode == 0, f"{command}\n{proc.stdout}{proc.stderr}"
    metrics = root / "var/lib/dlrpoll/metrics/dlrpoll.prom"
    assert 'dlrpoll_polls_total{outcome="ok",source="box"}' in metrics.read_text()
