"""Fixtures for the reliability suite: fault proxies in front of the session's private
Dovecot (fixture ``dovecot`` in tests/support/fixtures.py), a small filesystem."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.workload import Clock
from tests.support.dovecot import Dovecot
from tests.support.faultproxy import FaultProxy

#: Size of the filesystem the disk-full test puts the database on.
SMALL_FS_SIZE = "2m"


@pytest.fixture
def pop3_proxy(dovecot: Dovecot) -> Iterator[FaultProxy]:
    """A fault proxy in front of Dovecot's plain POP3 port."""
    with FaultProxy("127.0.0.1", dovecot.port) as proxy:
        yield proxy


@pytest.fixture
def pop3s_proxy(dovecot: Dovecot) -> Iterator[FaultProxy]:
    """A fault proxy in front of Dovecot's POP3S port (the TLS runs through it)."""
    with FaultProxy("127.0.0.1", dovecot.ssl_port) as proxy:
        yield proxy


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _umount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode:
        # something still holds a file open there: detach now, the kernel frees it later
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@pytest.fixture
def small_fs() -> Iterator[Path]:
    """A directory on a fresh 2 MiB tmpfs, to fill up. Needs root; without it the test
    fails (never skips) and says how to run it."""
    if os.geteuid() != 0:
        pytest.fail(
            "the disk-full test mounts a size-limited tmpfs and needs root "
            "(CI runs as root); run it as root, e.g. `sudo .venv/bin/pytest tests/reliability`"
        )
    mount_point = Path(tempfile.mkdtemp(prefix="dlrfull", dir="/tmp"))
    proc = subprocess.run(
        [
            "mount",
            "-t",
            "tmpfs",
            "-o",
            f"size={SMALL_FS_SIZE},mode=0755",
            "tmpfs",
            str(mount_point),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        shutil.rmtree(mount_point, ignore_errors=True)
        pytest.fail(
            f"cannot mount a {SMALL_FS_SIZE} tmpfs on {mount_point}: {proc.stderr.strip()}; "
            "the disk-full test needs root with CAP_SYS_ADMIN (a privileged container)"
        )
    try:
        yield mount_point
    finally:
        _umount(mount_point)
        shutil.rmtree(mount_point, ignore_errors=True)


def fill(directory: Path, leave: int) -> Path:
    """Fill the filesystem holding ``directory`` until at most ``leave`` bytes are free;
    returns the filler file (delete it to free the space)."""
    filler = directory / "filler"
    st = os.statvfs(directory)
    free = st.f_bavail * st.f_frsize
    with open(filler, "wb") as fh:
        remaining = max(0, free - leave)
        block = b"\0" * 65536
        try:
            while remaining > 0:
                n = fh.write(block[: min(len(block), remaining)])
                remaining -= n
            fh.flush()
        except OSError:
            pass  # full already: that is the point
    return filler
