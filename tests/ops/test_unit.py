"""The shipped systemd unit: valid for ``systemd-analyze verify`` (no systemd needs to run),
and shaped as the README promises: a fixed user and group readers can join, state the group
can read, a reload that is SIGHUP, and no restart loop on a configuration error."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "scripts" / "dlrpoll.service"


def service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text().replace("\\\n", " "))
    return parser["Service"]


def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: scripts/setup-system installs it (systemd)"
    dlrpoll = Path(sys.executable).parent / "dlrpoll"
    assert dlrpoll.exists()
    # the installed path of the README's recipe, here: the venv's dlrpoll
    unit = tmp_path / "dlrpoll.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/dlrpoll", str(dlrpoll)))
    proc = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dlrpoll.service" not in proc.stderr, proc.stderr  # not even a warning


def test_a_fixed_user_whose_group_may_read_the_state() -> None:
    svc = service()
    assert "DynamicUser" not in svc  # its /var/lib/private is 0700: nobody else could read
    assert svc["User"] == "dlrpoll" and svc["Group"] == "dlrpoll"
    assert svc["StateDirectory"].split() == ["dlrpoll", "dlrpoll/metrics"]
    mode = int(svc["StateDirectoryMode"], 8)
    assert mode & 0o050 == 0o050 and mode & 0o007 == 0  # group r-x, others nothing
    umask = int(svc["UMask"], 8)
    assert umask & 0o040 == 0  # new files (database, -wal, -shm) stay group-readable
    assert "--metrics-file /var/lib/dlrpoll/metrics/" in svc["ExecStart"]


def test_no_restart_loop_on_a_configuration_error() -> None:
    svc = service()
    # RestartPreventExitStatus does not cover ExecStartPre=: `run` checks the config itself
    assert "ExecStartPre" not in svc
    assert svc["Restart"] == "on-failure" and svc["RestartPreventExitStatus"] == "2"
    assert svc["ExecReload"] == "/bin/kill -HUP $MAINPID"
