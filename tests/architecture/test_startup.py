"""Light commands start light: which modules a whole ``dlrpoll`` process has imported by the
time it ends, read from ``sys.modules`` in a subprocess (never a timing; the times are
printed by ``scripts/bench-startup``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dlrpoll.sandbox.pop3_server import Pop3Sandbox

#: what the light commands must never load
HEAVY = (
    "zeep",
    "sqlalchemy",
    "apscheduler",
    "sqlmodel",
    "lxml",
    "pydantic",
    "prometheus_client",
    "pythonjsonlogger",
    "openpyxl",
    "shtab",
)

RUN = """
import json, sys
out, argv = sys.argv[1], json.loads(sys.argv[2])
from dlrpoll.cli import main
try:
    code = main(argv)
except SystemExit as exc:
    code = exc.code
with open(out, "w") as fh:
    json.dump({"code": code, "modules": sorted(sys.modules)}, fh)
"""


def run(tmp_path: Path, *argv: str, stdin: str = "") -> tuple[int, set[str], str]:
    out = tmp_path / "modules.json"
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    env.pop("DLRPOLL_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", RUN, str(out), json.dumps(argv)],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    return data["code"], set(data["modules"]), proc.stdout


def roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_version_imports_nothing_heavy(tmp_path: Path) -> None:
    code, modules, stdout = run(tmp_path, "--version")
    assert code == 0 and stdout.startswith("dlrpoll ")
    assert "dlrpoll.cli" in modules
    assert roots(modules) & set(HEAVY) == set()


def test_parse_of_one_line_imports_nothing_heavy(tmp_path: Path) -> None:
    line = "id:0042 sub:001 dlvrd:001 submit date:2401021530 done date:2401021531 stat:DELIVRD"
    code, modules, stdout = run(tmp_path, "parse", "-", stdin=line + " err:000 text:\n")
    assert code == 0
    assert json.loads(stdout)["state"] == "DELIVERED"
    assert "dlrpoll.receipts" in modules
    assert roots(modules) & set(HEAVY) == set()


def test_a_poll_of_pop3_sources_never_imports_zeep(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("pw\n")
    (tmp_path / "pw").chmod(0o600)  # a secret: not world-readable
    with Pop3Sandbox(password="pw") as box:
        box.add(b"Subject: DLR\r\n\r\nid:7 sub:001 dlvrd:001 stat:DELIVRD err:000 text:\r\n")
        (tmp_path / "dlrpoll.toml").write_text(
            '[database]\npath = "dlr.sqlite"\n\n[[sources]]\nname = "box"\nkind = "pop3"\n'
            f'host = "127.0.0.1"\nport = {box.port}\ntls = "none"\nallow_plaintext = true\n'
            'username = "dlr"\npassword = { file = "pw" }\nretries = 0\n'
        )
        code, modules, stdout = run(tmp_path, "poll", "--config", str(tmp_path / "dlrpoll.toml"))
    assert code == 0, stdout
    assert stdout.startswith("box: ok (fetched 1, stored 1")
    assert "dlrpoll.sources.pop3" in modules
    assert "zeep" not in roots(modules)
    # a round for cron needs no scheduler either, nor metrics it is not asked to write
    assert "apscheduler" not in roots(modules)
    assert "prometheus_client" not in roots(modules)
